// CLOCK_MONOTONIC (through the vDSO) never goes back and never jumps by more
// than the freeze while the program moves; gettimeofday keeps working.
// mig-route: bounce
#include "mig.h"
#include <sys/time.h>
#include <time.h>
static long long ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  long long last = ns(), worst = 0;
  mig_ready();
  while (!mig_go_now(NULL)) {
    for (int i = 0; i < 1000; ++i) {
      long long t = ns();
      if (t < last) mig_fail("went back by %lld ns", last - t);
      if (t - last > worst) worst = t - last;
      last = t;
    }
  }
  if (worst > 5000000000LL) mig_fail("jumped %lld ms", worst / 1000000);
  struct timeval tv;
  if (gettimeofday(&tv, NULL) || tv.tv_sec < 1600000000) mig_fail("gettimeofday");
  printf("largest step %lld ms\n", worst / 1000000);
  mig_pass();
}
