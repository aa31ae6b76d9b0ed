// CLOCK_MONOTONIC and CLOCK_BOOTTIME (through the vDSO) never go back and
// never jump by more than the freeze while the program moves, also between
// nodes whose clocks differ (migration_clocks.sh); gettimeofday keeps working.
// mig-route: bounce
#include "mig.h"
#include <sys/time.h>
#include <time.h>
static long long ns(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  long long last = ns(CLOCK_MONOTONIC), worst = 0;
  long long last_boot = ns(CLOCK_BOOTTIME), worst_boot = 0;
  mig_ready();
  while (!mig_go_now(NULL)) {
    for (int i = 0; i < 1000; ++i) {
      long long t = ns(CLOCK_MONOTONIC), b = ns(CLOCK_BOOTTIME);
      if (t < last) mig_fail("CLOCK_MONOTONIC went back by %lld ns", last - t);
      if (b < last_boot) mig_fail("CLOCK_BOOTTIME went back by %lld ns", last_boot - b);
      if (t - last > worst) worst = t - last;
      if (b - last_boot > worst_boot) worst_boot = b - last_boot;
      last = t;
      last_boot = b;
    }
  }
  if (worst > 5000000000LL) mig_fail("CLOCK_MONOTONIC jumped %lld ms", worst / 1000000);
  if (worst_boot > 5000000000LL) mig_fail("CLOCK_BOOTTIME jumped %lld ms", worst_boot / 1000000);
  struct timeval tv;
  if (gettimeofday(&tv, NULL) || tv.tv_sec < 1600000000) mig_fail("gettimeofday");
  printf("largest step %lld ms\n", worst / 1000000);
  mig_pass();
}
