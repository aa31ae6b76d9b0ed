/* A CPU-bound loop with no system calls: its run time under mosrun next to
 * native is the sandbox's cost for pure computation (target: <= 1%).
 *   cpu_loop [ITERATIONS_IN_MILLIONS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long m = argc > 1 ? atol(argv[1]) : 800;
  uint64_t x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < m * 1000000L; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x & 0xff;
  }
  printf("%llu\n", (unsigned long long)sum);
  return 0;
}
