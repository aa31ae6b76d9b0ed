/* nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) sleep at
 * least as long as asked; only that fact is printed. */
#define _GNU_SOURCE
#include <time.h>
#include "progutil.h"

static long long now_ns(clockid_t c) {
  struct timespec t;
  CHECK(clock_gettime(c, &t) == 0);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
  long long req = 150000000LL;
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec ts = {0, req}, rem;
  CHECK(nanosleep(&ts, &rem) == 0);
  printf("nanosleep 150ms: elapsed >= requested: %s\n",
         now_ns(CLOCK_MONOTONIC) - t0 >= req ? "yes" : "no");

  t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0);
  printf("clock_nanosleep relative: elapsed >= requested: %s\n",
         now_ns(CLOCK_MONOTONIC) - t0 >= req ? "yes" : "no");

  long long target = now_ns(CLOCK_MONOTONIC) + req;
  struct timespec abs = {target / 1000000000LL, target % 1000000000LL};
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
  printf("clock_nanosleep absolute: now >= deadline: %s\n",
         now_ns(CLOCK_MONOTONIC) >= target ? "yes" : "no");

  t0 = now_ns(CLOCK_REALTIME);
  CHECK(clock_nanosleep(CLOCK_REALTIME, 0, &ts, NULL) == 0);
  printf("clock_nanosleep REALTIME: elapsed >= requested - 1ms: %s\n",
         now_ns(CLOCK_REALTIME) - t0 >= req - 1000000 ? "yes" : "no");

  abs.tv_sec = 0; /* a deadline in the past returns at once */
  abs.tv_nsec = 0;
  printf("absolute deadline in the past: %d\n",
         clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
  ts.tv_nsec = 1000000000L;
  printf("nanosleep bad nsec: %s\n", nanosleep(&ts, NULL) < 0 ? errno_name(errno) : "ok?");
  printf("clock_nanosleep bad clock: %d (EINVAL=%d)\n", clock_nanosleep(12345, 0, &ts, NULL),
         EINVAL);
  t0 = now_ns(CLOCK_MONOTONIC);
  CHECK(usleep(100000) == 0);
  printf("usleep 100ms: %s\n", now_ns(CLOCK_MONOTONIC) - t0 >= 100000000LL ? "yes" : "no");
  t0 = now_ns(CLOCK_MONOTONIC);
  printf("sleep(1) returns %u, elapsed >= 1s: ", sleep(1));
  printf("%s\n", now_ns(CLOCK_MONOTONIC) - t0 >= 1000000000LL ? "yes" : "no");
  return 0;
}
