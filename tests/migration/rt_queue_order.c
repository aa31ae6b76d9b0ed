// Ten real-time signals of one number queued with values 0..9 while
// blocked: delivered after the moves in the order they were sent.
#include "mig.h"
#include <signal.h>
static int seen[16], n;
static void h(int s, siginfo_t* si, void* u) { (void)s; (void)u; if (n < 16) seen[n++] = si->si_value.sival_int; }
int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGRTMIN + 5, &sa, NULL);
  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGRTMIN + 5);
  sigprocmask(SIG_BLOCK, &b, NULL);
  for (int i = 0; i < 10; ++i) sigqueue(getpid(), SIGRTMIN + 5, (union sigval){.sival_int = i});
  mig_ready();
  mig_wait_go();
  sigprocmask(SIG_UNBLOCK, &b, NULL);
  if (n != 10) mig_fail("%d of 10", n);
  for (int i = 0; i < 10; ++i) if (seen[i] != i) mig_fail("signal %d had value %d", i, seen[i]);
  mig_pass();
}
