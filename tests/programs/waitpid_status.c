/* waitpid status decoding: exits, signals, stop/continue, WNOHANG,
 * waitid with siginfo, and waiting for a specific child out of order. */
#define _GNU_SOURCE
#include <sys/resource.h>
#include "progutil.h"

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  int codes[] = {0, 1, 42, 255, 256 + 9};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    pid_t p = xfork();
    if (p == 0) {
      _exit(codes[i]);
    }
    printf("_exit(%d): %s\n", codes[i], wait_child(p));
  }
  int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    pid_t p = xfork();
    if (p == 0) {
      signal(sigs[i], SIG_DFL);
      raise(sigs[i]);
      _exit(99);
    }
    printf("raise(%s): %s\n", sig_name(sigs[i]), wait_child(p));
  }

  /* Stop, observe, continue, observe, then finish. */
  int go[2], start[2];
  CHECK(pipe(go) == 0);
  CHECK(pipe(start) == 0);
  pid_t p = xfork();
  if (p == 0) {
    close(go[1]);
    close(start[1]);
    char s;
    /* Stops only once the parent has looked (else WNOHANG may see it). */
    CHECK(read(start[0], &s, 1) == 1);
    raise(SIGSTOP);
    char c;
    CHECK(read(go[0], &c, 1) == 1);
    _exit(5);
  }
  close(go[0]);
  close(start[0]);
  int st;
  printf("WNOHANG before anything: %d\n",
         (int)waitpid(p, &st, WNOHANG | WUNTRACED | WCONTINUED) == 0 ? 0 : 1);
  CHECK(write(start[1], "s", 1) == 1);
  CHECK(waitpid(p, &st, WUNTRACED) == p);
  printf("WUNTRACED: %s\n", status_str(st));
  CHECK(kill(p, SIGCONT) == 0);
  CHECK(waitpid(p, &st, WCONTINUED) == p);
  printf("WCONTINUED: %s\n", status_str(st));
  printf("WNOHANG while running: %d\n", (int)waitpid(p, &st, WNOHANG));
  CHECK(write(go[1], "x", 1) == 1);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PID, (id_t)p, &si, WEXITED) == 0);
  printf("waitid: signo=%s code=%s status=%d pid matches=%s\n", sig_name(si.si_signo),
         si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status,
         si.si_pid == p ? "yes" : "no");

  /* Three children reaped in reverse order of creation. */
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = xfork();
    if (kids[i] == 0) {
      _exit(10 + i);
    }
  }
  for (int i = 2; i >= 0; i--) {
    printf("child %d: %s\n", i, wait_child(kids[i]));
  }
  printf("waitpid(-1) with no children: %s\n", waitpid(-1, &st, 0) < 0 ? errno_name(errno) : "ok?");
  printf("waitpid on non-child: %s\n", waitpid(1, &st, WNOHANG) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
