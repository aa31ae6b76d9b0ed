/* The body the migration benchmark moves: SIZE MiB of patterned memory
 * (every page non-zero), then either
 *   mig_body SIZE idle      READY, then waits for a line on stdin
 *   mig_body SIZE PASSES    READY, then PASSES rounds over the memory (a
 *                           streaming read-modify-write, like a solver's
 *                           sweep); prints the checksum and exits.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3)
    return 2;
  size_t n = (size_t)atol(argv[1]) << 20;
  unsigned long long* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return perror("mmap"), 1;
  size_t w = n / 8;
  for (size_t i = 0; i < w; ++i)
    p[i] = i * 0x9e3779b97f4a7c15ull + 1;
  printf("READY\n");
  fflush(stdout);
  if (strcmp(argv[2], "idle") == 0) {
    char line[16];
    (void)!read(0, line, sizeof line);
    return 0;
  }
  long passes = atol(argv[2]);
  unsigned long long sum = 0;
  for (long r = 0; r < passes; ++r)
    for (size_t i = 0; i < w; ++i) {
      p[i] = p[i] * 6364136223846793005ull + r;
      sum += p[i] >> 7;
    }
  printf("%llu\n", sum);
  return 0;
}
