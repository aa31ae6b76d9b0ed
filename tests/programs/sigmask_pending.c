/* sigprocmask/sigpending: blocked signals stay pending (standard signals
 * do not queue, real-time ones do), unblocking delivers them in order. */
#define _GNU_SOURCE
#include "progutil.h"

static int order[32];
static volatile sig_atomic_t norder;

static void on_sig(int sig) {
  if (norder < 32) {
    order[norder++] = sig;
  }
}

static void pending(const char* label) {
  sigset_t s;
  CHECK(sigpending(&s) == 0);
  printf("%-22s USR1=%d USR2=%d RTMIN=%d\n", label, sigismember(&s, SIGUSR1),
         sigismember(&s, SIGUSR2), sigismember(&s, SIGRTMIN));
}

int main(void) {
  signal(SIGUSR1, on_sig);
  signal(SIGUSR2, on_sig);
  signal(SIGRTMIN, on_sig);
  sigset_t b, old, cur;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR1);
  sigaddset(&b, SIGUSR2);
  sigaddset(&b, SIGRTMIN);
  CHECK(sigprocmask(SIG_BLOCK, &b, &old) == 0);
  printf("old mask had USR1: %d\n", sigismember(&old, SIGUSR1));
  CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
  printf("mask now has USR1=%d USR2=%d\n", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));
  pending("nothing sent:");
  raise(SIGUSR1);
  raise(SIGUSR1);
  kill(getpid(), SIGUSR2);
  union sigval v = {.sival_int = 1};
  sigqueue(getpid(), SIGRTMIN, v);
  sigqueue(getpid(), SIGRTMIN, v);
  sigqueue(getpid(), SIGRTMIN, v);
  pending("after sending:");
  printf("handler ran while blocked: %d\n", (int)norder);

  sigset_t only2;
  sigemptyset(&only2);
  sigaddset(&only2, SIGUSR2);
  CHECK(sigprocmask(SIG_UNBLOCK, &only2, NULL) == 0);
  printf("unblock USR2: delivered %d signal(s): %s\n", (int)norder,
         norder ? sig_name(order[0]) : "-");
  pending("after unblock USR2:");
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  printf("restore mask: %d deliveries total:", (int)norder);
  for (int i = 0; i < norder; i++) {
    printf(" %s", order[i] == SIGRTMIN ? "SIGRTMIN" : sig_name(order[i]));
  }
  printf("\n");
  pending("all unblocked:");

  /* sigwait takes a blocked signal synchronously, no handler runs. */
  CHECK(sigprocmask(SIG_BLOCK, &b, NULL) == 0);
  raise(SIGUSR2);
  int got = 0, before = norder;
  sigset_t w;
  sigemptyset(&w);
  sigaddset(&w, SIGUSR2);
  CHECK(sigwait(&w, &got) == 0);
  printf("sigwait got %s, handler ran %d times\n", sig_name(got), (int)(norder - before));
  sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 77});
  siginfo_t si;
  sigemptyset(&w);
  sigaddset(&w, SIGRTMIN);
  CHECK(sigwaitinfo(&w, &si) == SIGRTMIN);
  printf("sigwaitinfo: value=%d code=%s\n", si.si_value.sival_int,
         si.si_code == SI_QUEUE ? "SI_QUEUE" : "other");
  struct timespec zero = {0, 0};
  printf("sigtimedwait nothing pending: %s\n",
         sigtimedwait(&w, &si, &zero) < 0 ? errno_name(errno) : "got?");
  printf("SIGKILL cannot be blocked: ");
  sigset_t k;
  sigemptyset(&k);
  sigaddset(&k, SIGKILL);
  sigprocmask(SIG_BLOCK, &k, NULL);
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("%s\n", sigismember(&cur, SIGKILL) ? "no" : "yes");
  return 0;
}
