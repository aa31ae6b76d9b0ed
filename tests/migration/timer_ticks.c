// An interval timer that keeps ticking (SIGALRM every 20 ms) while the
// program computes and moves: ticks keep pace with the clock.
#include "mig.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>
static volatile long ticks;
static void h(int s) { (void)s; ticks++; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  double t0 = now();
  mig_ready();
  volatile unsigned long long x = 0;
  while (!mig_go_now(NULL)) for (int i = 0; i < 100000; ++i) x = mig_mix(x + i);
  double dt = now() - t0;
  long want = (long)(dt / 0.02);
  if (ticks < want / 2) mig_fail("%ld ticks in %.2f s (want about %ld)", ticks, dt, want);
  mig_pass();
}
