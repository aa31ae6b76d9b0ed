/* A CPU-bound loop with a deterministic result (about a second of work):
 * a prime sieve, integer hashing and a floating-point series whose result
 * is printed rounded so that it is exact on any x86_64. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  enum { kN = 20000000 };
  unsigned char* composite = calloc(kN + 1, 1);
  CHECK(composite != NULL);
  long count = 0;
  unsigned long long psum = 0;
  for (long i = 2; i <= kN; i++) {
    if (!composite[i]) {
      count++;
      psum += (unsigned long long)i;
      for (long j = i * i; j <= kN; j += i) {
        composite[j] = 1;
      }
    }
  }
  free(composite);
  printf("primes below %d: %ld, sum %llu\n", kN, count, psum);

  unsigned long long h = 0x9e3779b97f4a7c15ULL;
  for (long i = 0; i < 50000000; i++) {
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h += (unsigned long long)i;
  }
  printf("mix hash: %016llx\n", h);

  double s = 0;
  for (long k = 0; k < 10000000; k++) {
    s += (k % 2 ? -4.0 : 4.0) / (2.0 * (double)k + 1.0);
  }
  printf("leibniz pi to 6 places: %.6f\n", s);

  long steps_max = 0, arg = 0;
  for (long n = 1; n < 1000000; n++) {
    long steps = 0;
    for (unsigned long long v = (unsigned long long)n; v != 1; steps++) {
      v = v % 2 ? 3 * v + 1 : v / 2;
    }
    if (steps > steps_max) {
      steps_max = steps;
      arg = n;
    }
  }
  printf("longest collatz below 1e6: %ld (%ld steps)\n", arg, steps_max);
  return 0;
}
