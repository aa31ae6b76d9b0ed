/* raise() with an SA_SIGINFO handler: si_code SI_TKILL, SA_RESETHAND,
 * SA_NODEFER, nested signals, and sa_mask during the handler. */
#define _GNU_SOURCE
#include "progutil.h"

static volatile sig_atomic_t calls, code, depth, maxdepth, usr2_blocked, renest;

static void on_sig(int sig, siginfo_t* si, void* uc) {
  calls++;
  code = si->si_code;
  depth++;
  if (depth > maxdepth) {
    maxdepth = depth;
  }
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  usr2_blocked = sigismember(&cur, SIGUSR2);
  if (sig == SIGUSR1 && renest && calls < 3) {
    raise(SIGUSR1); /* nests only with SA_NODEFER, else runs after return */
  }
  depth--;
}

static const char* code_name(int c) {
  switch (c) {
    case SI_USER:
      return "SI_USER";
    case SI_TKILL:
      return "SI_TKILL";
    case SI_QUEUE:
      return "SI_QUEUE";
    default:
      return "other";
  }
}

static void install(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

int main(void) {
  install(0);
  renest = 1;
  calls = maxdepth = 0;
  printf("raise = %d\n", raise(SIGUSR1));
  printf("plain: calls=%d maxdepth=%d code=%s usr2 blocked in handler=%d\n", (int)calls,
         (int)maxdepth, code_name(code), (int)usr2_blocked);
  install(SA_NODEFER);
  calls = maxdepth = 0;
  raise(SIGUSR1);
  printf("SA_NODEFER: calls=%d maxdepth=%d\n", (int)calls, (int)maxdepth);
  kill(getpid(), SIGUSR1);
  printf("kill(): code=%s\n", code_name(code));
  sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 3});
  printf("sigqueue(): code=%s\n", code_name(code));

  renest = 0;
  install(SA_RESETHAND);
  calls = 0;
  raise(SIGUSR1);
  struct sigaction now;
  CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
  printf("SA_RESETHAND: calls=%d, handler now SIG_DFL: %s\n", (int)calls,
         now.sa_handler == SIG_DFL ? "yes" : "no");
  signal(SIGUSR1, SIG_IGN);
  printf("ignored raise = %d\n", raise(SIGUSR1));
  struct sigaction old;
  CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
  printf("sigaction reports SIG_IGN: %s\n", old.sa_handler == SIG_IGN ? "yes" : "no");
  printf("sigaction(SIGKILL): %s\n",
         sigaction(SIGKILL, &old, NULL) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
