// Helpers of the migration suite (see README.md): a program prints READY
// (with any extra PIDs the harness is to migrate), keeps its state while the
// harness moves it around, and when "go" arrives on stdin checks the state
// and prints PASS or FAIL: why.
#pragma once
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void mig_ready_pids(int n, const int* pids) {
  printf("READY");
  for (int i = 0; i < n; ++i) printf(" %d", pids[i]);
  printf("\n");
  fflush(stdout);
}
static inline void mig_ready(void) { mig_ready_pids(0, NULL); }

// Blocks until the "go" line; returns the number after it (0 if none).
static inline long mig_wait_go(void) {
  char line[64] = {0};
  size_t have = 0;
  while (have < sizeof line - 1) {
    ssize_t n = read(0, line + have, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (line[have++] == '\n') break;
  }
  if (strncmp(line, "go", 2) != 0) {
    printf("FAIL: no go (got '%s')\n", line);
    exit(1);
  }
  return strtol(line + 2, NULL, 10);
}

// Whether "go" is there (without blocking); reads it when it is.
static inline int mig_go_now(long* value) {
  struct pollfd p = {0, POLLIN, 0};
  if (poll(&p, 1, 0) != 1) return 0;
  long v = mig_wait_go();
  if (value) *value = v;
  return 1;
}

static inline __attribute__((noreturn)) void mig_pass(void) {
  printf("PASS\n");
  fflush(stdout);
  exit(0);
}

static inline __attribute__((noreturn, format(printf, 1, 2))) void mig_fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  exit(1);
}

static inline unsigned long long mig_mix(unsigned long long x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}
