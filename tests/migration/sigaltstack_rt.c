// sigaltstack, a handler with SA_SIGINFO|SA_ONSTACK, and a real-time signal
// queued (blocked) with a value: delivered on the altstack after the moves.
#include "mig.h"
#include <signal.h>
static char alt[64 * 1024];
static volatile int got, on_alt, value;
static void h(int s, siginfo_t* si, void* u) {
  (void)s; (void)u;
  char here;
  on_alt = &here >= alt && &here < alt + sizeof alt;
  value = si->si_value.sival_int;
  got++;
}
int main(void) {
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  if (sigaltstack(&ss, NULL)) mig_fail("sigaltstack");
  struct sigaction sa = {0};
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGRTMIN + 3, &sa, NULL);
  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGRTMIN + 3);
  sigprocmask(SIG_BLOCK, &b, NULL);
  union sigval v = {.sival_int = 4242};
  if (sigqueue(getpid(), SIGRTMIN + 3, v)) mig_fail("sigqueue");
  mig_ready();
  mig_wait_go();
  stack_t now;
  sigaltstack(NULL, &now);
  if (now.ss_sp != alt || now.ss_size != sizeof alt) mig_fail("altstack lost");
  sigset_t pend;
  sigpending(&pend);
  if (!sigismember(&pend, SIGRTMIN + 3)) mig_fail("queued signal lost");
  if (got) mig_fail("handler ran while blocked");
  sigprocmask(SIG_UNBLOCK, &b, NULL);
  if (got != 1 || !on_alt || value != 4242) mig_fail("got %d on_alt %d value %d", got, on_alt, value);
  mig_pass();
}
