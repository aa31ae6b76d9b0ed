/* The body the migration benchmark moves: SIZE MiB of patterned memory
 * (every page non-zero), then either
 *   mig_body SIZE idle      READY, then waits for a line on stdin
 *   mig_body SIZE PASSES    READY, then PASSES rounds over the memory (a
 *                           streaming read-modify-write, like a solver's
 *                           sweep); prints the checksum and exits.
 *   mig_body SIZE dirty RATE SECONDS
 *                           READY, then writes RATE MiB/s of pages (one
 *                           word in each, pages at random) for SECONDS,
 *                           with no system call but the vDSO's clock; exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

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
  if (strcmp(argv[2], "dirty") == 0 && argc >= 5) {
    const double rate = atof(argv[3]) * 256;  // pages per second
    const double until = now_s() + atof(argv[4]), t0 = now_s();
    unsigned long long x = 88172645463325252ull, written = 0;
    const size_t pages = n / 4096;
    for (double t = t0; t < until; t = now_s()) {
      const unsigned long long due = (unsigned long long)((t - t0) * rate);
      while (written < due) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[(x % pages) * 512] += 1;
        ++written;
      }
    }
    printf("%llu pages written\n", written);
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
