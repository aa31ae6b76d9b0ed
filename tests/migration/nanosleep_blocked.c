// The body sleeps (nanosleep, 3 s) through the moves: it sleeps at least
// that long and wakes up.
#include "mig.h"
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) {
  mig_ready();
  double t0 = now();
  struct timespec d = {3, 0};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {}
  double dt = now() - t0;
  if (dt < 2.99) mig_fail("slept %.3f s", dt);
  mig_wait_go();
  mig_pass();
}
