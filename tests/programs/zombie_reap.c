/* A child that exits stays a zombie until we wait: it is still signalable
 * (kill 0 succeeds), WNOWAIT peeks without reaping, then it is gone. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = xfork();
  if (c == 0) {
    close(p[0]);
    _exit(4); /* closing p[1] on exit tells the parent */
  }
  close(p[1]);
  char b;
  CHECK(read(p[0], &b, 1) == 0);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT) == 0);
  printf("waitid WNOWAIT: exited status %d\n", si.si_status);
  printf("zombie still exists (kill 0): %s\n", kill(c, 0) == 0 ? "yes" : errno_name(errno));
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT) == 0);
  printf("second WNOWAIT peek: status %d\n", si.si_status);
  printf("reap: %s\n", wait_child(c));
  printf("after reap kill 0: %s\n", kill(c, 0) == 0 ? "exists?" : errno_name(errno));
  printf("wait again: %s\n", waitpid(c, NULL, 0) < 0 ? errno_name(errno) : "ok?");

  /* Several zombies accumulate, then are reaped in one loop. */
  for (int i = 0; i < 5; i++) {
    pid_t k = xfork();
    if (k == 0) {
      _exit(20 + i);
    }
  }
  int sum = 0, n = 0, st;
  while (wait(&st) > 0) {
    sum += WEXITSTATUS(st);
    n++;
  }
  printf("reaped %d zombies, status sum %d\n", n, sum);
  return 0;
}
