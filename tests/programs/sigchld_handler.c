/* SIGCHLD with SA_SIGINFO: the handler sees CLD_EXITED/CLD_KILLED and the
 * status; SIG_IGN on SIGCHLD makes children vanish without zombies. */
#define _GNU_SOURCE
#include "progutil.h"

static volatile sig_atomic_t got, code, status, pid_ok;
static volatile pid_t expected;

static void on_chld(int sig, siginfo_t* si, void* uc) {
  got++;
  code = si->si_code;
  status = si->si_status;
  pid_ok = si->si_pid == expected;
}

static const char* code_name(int c) {
  switch (c) {
    case CLD_EXITED:
      return "CLD_EXITED";
    case CLD_KILLED:
      return "CLD_KILLED";
    case CLD_DUMPED:
      return "CLD_DUMPED";
    case CLD_STOPPED:
      return "CLD_STOPPED";
    default:
      return "other";
  }
}

static void run(int how) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  got = 0;
  pid_t c = xfork();
  if (c == 0) {
    if (how == 0) {
      _exit(5);
    }
    pause();
    _exit(1);
  }
  expected = c;
  if (how == 1) {
    kill(c, SIGKILL);
  }
  while (!got) {
    sigsuspend(&old);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("handler: count=%d code=%s status=%s pid matches=%s\n", (int)got, code_name(code),
         how == 0 ? (status == 5 ? "5" : "?") : sig_name(status), pid_ok ? "yes" : "no");
  printf("then waitpid: %s\n", wait_child(c));
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  run(0);
  run(1);

  /* SA_NOCLDSTOP: a stopped child does not raise SIGCHLD. */
  sa.sa_flags |= SA_NOCLDSTOP;
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
  got = 0;
  pid_t c = xfork();
  if (c == 0) {
    raise(SIGSTOP);
    _exit(0);
  }
  int st;
  CHECK(waitpid(c, &st, WUNTRACED) == c);
  printf("SA_NOCLDSTOP: stopped child, handler count=%d\n", (int)got);
  kill(c, SIGCONT);
  CHECK(waitpid(c, &st, 0) == c);
  printf("after continue and exit: %s, handler count=%d\n", status_str(st), (int)got);

  /* SIG_IGN: the kernel reaps for us; wait reports ECHILD. */
  signal(SIGCHLD, SIG_IGN);
  c = xfork();
  if (c == 0) {
    _exit(0);
  }
  printf("SIG_IGN then wait: %s\n", waitpid(c, &st, 0) < 0 ? errno_name(errno) : "got a status?");
  return 0;
}
