/* clock_gettime: MONOTONIC never goes back (also across a child), the
 * realtime clock is plausible, resolutions are sane, times() works. */
#define _GNU_SOURCE
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include "progutil.h"

static long long ns(struct timespec t) {
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
  clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                        CLOCK_MONOTONIC_COARSE};
  const char* names[] = {"MONOTONIC", "MONOTONIC_RAW", "BOOTTIME", "MONOTONIC_COARSE"};
  for (int c = 0; c < 4; c++) {
    struct timespec prev, cur;
    CHECK(clock_gettime(clocks[c], &prev) == 0);
    int back = 0;
    for (int i = 0; i < 100000; i++) {
      CHECK(clock_gettime(clocks[c], &cur) == 0);
      back += ns(cur) < ns(prev);
      prev = cur;
    }
    printf("%-16s 100000 reads, went backwards %d times\n", names[c], back);
  }
  struct timespec a, b, res;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t ch = xfork();
  if (ch == 0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    CHECK(write(p[1], &t, sizeof t) == sizeof t);
    _exit(0);
  }
  CHECK(read(p[0], &b, sizeof b) == sizeof b);
  wait_child(ch);
  struct timespec c2;
  clock_gettime(CLOCK_MONOTONIC, &c2);
  printf("child's MONOTONIC between parent's before and after: %s\n",
         ns(a) <= ns(b) && ns(b) <= ns(c2) ? "yes" : "no");
  CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
  printf("MONOTONIC resolution <= 1ms: %s\n", ns(res) > 0 && ns(res) <= 1000000 ? "yes" : "no");
  CHECK(clock_gettime(CLOCK_REALTIME, &a) == 0);
  printf("REALTIME after 2020: %s\n", a.tv_sec > 1577836800 ? "yes" : "no");
  struct timeval tv;
  CHECK(gettimeofday(&tv, NULL) == 0);
  printf("gettimeofday within 5s of REALTIME: %s\n",
         llabs((long long)tv.tv_sec - a.tv_sec) <= 5 ? "yes" : "no");
  time_t t = time(NULL);
  printf("time() within 5s of REALTIME: %s\n", llabs((long long)t - a.tv_sec) <= 5 ? "yes" : "no");
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0);
  printf("process CPU time > 0: %s\n", ns(a) > 0 ? "yes" : "no");
  struct tms tm;
  printf("times() ok: %s\n", times(&tm) != (clock_t)-1 ? "yes" : "no");
  printf("bad clock id: %s\n", clock_gettime((clockid_t)12345, &a) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
