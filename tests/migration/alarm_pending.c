// alarm(2) set before the moves fires after them (the timer is at home).
#include "mig.h"
#include <signal.h>
static volatile int rang;
static void h(int s) { (void)s; rang = 1; }
int main(void) {
  signal(SIGALRM, h);
  alarm(4);
  mig_ready();
  while (!rang) pause();
  mig_wait_go();
  mig_pass();
}
