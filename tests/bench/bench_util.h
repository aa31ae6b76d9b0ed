/* Shared by the benchmark programs: a monotonic clock in ns and the median
 * of five batches. */
#pragma once
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* The median of five batch results. */
static inline double bench_median5(double batches[5]) {
  qsort(batches, 5, sizeof batches[0], bench_cmp_double);
  return batches[2];
}
