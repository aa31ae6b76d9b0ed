// Real-time signals sent in a loop by the harness while the program moves:
// every one is delivered, none twice ("go N" says how many were sent).
// mig-signals: 300
#include "mig.h"
#include <signal.h>
static volatile long got;
static void h(int s) { (void)s; got++; }
int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = h;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  mig_ready();
  long sent = mig_wait_go();
  for (int i = 0; i < 100 && got < sent; ++i) usleep(10000);
  if (got != sent) mig_fail("%ld of %ld signals", got, sent);
  mig_pass();
}
