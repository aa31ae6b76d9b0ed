/* A body whose memory grows: STEP MiB more every INTERVAL ms until it holds
 * TOTAL MiB, each page written with a pattern of its own; then it keeps
 * reading all of it for HOLD seconds (a working set that must stay in
 * memory), and checks every page before it exits. Prints "ok SECONDS" (its
 * run time) or "corrupt PAGE". Little CPU while it grows: only memory
 * should make a policy move it.
 *   mem_grow TOTAL_MIB STEP_MIB INTERVAL_MS HOLD_S */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: mem_grow TOTAL_MIB STEP_MIB INTERVAL_MS HOLD_S\n");
    return 2;
  }
  const long total = atol(argv[1]), step = atol(argv[2]), interval = atol(argv[3]);
  const double hold = atof(argv[4]);
  if (total <= 0 || step <= 0 || interval < 0 || hold < 0) {
    fprintf(stderr, "mem_grow: bad arguments\n");
    return 2;
  }
  const size_t page = 4096, bytes = (size_t)total << 20;
  unsigned char* m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  const double t0 = now();
  const struct timespec pause = {interval / 1000, (interval % 1000) * 1000000L};
  for (size_t done = 0; done < bytes;) {
    size_t end = done + ((size_t)step << 20);
    if (end > bytes) {
      end = bytes;
    }
    for (size_t p = done; p < end; p += page) {
      uint64_t v = (uint64_t)(p / page) * 0x9e3779b97f4a7c15ull;
      for (size_t i = 0; i < page; i += 8) {
        memcpy(m + p + i, &v, 8);
        v += 1;
      }
    }
    done = end;
    nanosleep(&pause, NULL);
  }
  // Hold: every page read again and again (so it must stay resident).
  volatile uint64_t sink = 0;
  while (now() - t0 < hold + (double)total / (double)step * (double)interval / 1000.0) {
    for (size_t p = 0; p < bytes; p += page) {
      sink += m[p];
    }
    nanosleep(&pause, NULL);
  }
  for (size_t p = 0; p < bytes; p += page) {
    uint64_t v = (uint64_t)(p / page) * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < page; i += 8) {
      uint64_t got;
      memcpy(&got, m + p + i, 8);
      if (got != v) {
        printf("corrupt %zu\n", p / page);
        return 1;
      }
      v += 1;
    }
  }
  printf("ok %.2f\n", now() - t0);
  return 0;
}
