// A blocked standard signal pending across the moves, an ignored one, and
// a handler with SA_RESETHAND: all as they were.
#include "mig.h"
#include <signal.h>
static volatile int usr2, usr1;
static void h2(int s) { (void)s; usr2++; }
static void h1(int s) { (void)s; usr1++; }
int main(void) {
  signal(SIGUSR2, h2);
  signal(SIGINT, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = h1;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR2);
  sigprocmask(SIG_BLOCK, &b, NULL);
  kill(getpid(), SIGUSR2);
  mig_ready();
  mig_wait_go();
  sigset_t m;
  sigprocmask(SIG_BLOCK, NULL, &m);
  if (!sigismember(&m, SIGUSR2)) mig_fail("mask lost");
  struct sigaction now;
  sigaction(SIGINT, NULL, &now);
  if (now.sa_handler != SIG_IGN) mig_fail("SIGINT not ignored");
  sigaction(SIGUSR1, NULL, &now);
  if (now.sa_handler != h1 || !(now.sa_flags & SA_RESETHAND)) mig_fail("SIGUSR1 action");
  sigprocmask(SIG_UNBLOCK, &b, NULL);
  if (usr2 != 1) mig_fail("pending SIGUSR2: %d", usr2);
  raise(SIGUSR1);
  sigaction(SIGUSR1, NULL, &now);
  if (usr1 != 1 || now.sa_handler != SIG_DFL) mig_fail("SA_RESETHAND");
  mig_pass();
}
