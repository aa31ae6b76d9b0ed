/* kill() to self and to a child: handler runs before kill returns,
 * kill 0 probes, kill to a process group, errors. */
#define _GNU_SOURCE
#include "progutil.h"

static volatile sig_atomic_t hits;
static volatile sig_atomic_t last;

static void on_sig(int sig) {
  hits++;
  last = sig;
}

int main(void) {
  signal(SIGUSR1, on_sig);
  signal(SIGHUP, on_sig);
  int r = kill(getpid(), SIGUSR1);
  printf("kill(self, USR1) = %d, handler already ran: %s\n", r,
         hits == 1 && last == SIGUSR1 ? "yes" : "no");
  printf("kill(self, 0) = %d\n", kill(getpid(), 0));
  printf("kill(self, 12345): %s\n", kill(getpid(), 12345) < 0 ? errno_name(errno) : "ok?");
  /* kill(0, ...) reaches the whole process group: done in a child that
   * leads its own group, so nothing of the runner's is signalled. */
  pid_t g = xfork();
  if (g == 0) {
    CHECK(setpgid(0, 0) == 0);
    int before = hits;
    int k = kill(0, SIGHUP);
    _exit(k == 0 && hits == before + 1 && last == SIGHUP ? 0 : 1);
  }
  printf("kill(0, HUP) in a child leading its own group: handler ran, %s\n", wait_child(g));
  signal(SIGUSR2, SIG_IGN);
  r = kill(getpid(), SIGUSR2);
  printf("ignored SIGUSR2 to self: %d, hits=%d\n", r, (int)hits);

  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = xfork();
  if (c == 0) {
    close(p[0]);
    signal(SIGUSR1, SIG_DFL);
    CHECK(write(p[1], "r", 1) == 1);
    for (;;) {
      pause();
    }
  }
  close(p[1]);
  char b;
  CHECK(read(p[0], &b, 1) == 1);
  printf("kill(child, 0) = %d\n", kill(c, 0));
  printf("kill(child, USR1) = %d\n", kill(c, SIGUSR1));
  printf("child %s\n", wait_child(c));
  printf("kill(reaped child, 0): %s\n", kill(c, 0) < 0 ? errno_name(errno) : "ok?");

  /* A child in its own process group, killed through the group. */
  c = xfork();
  if (c == 0) {
    setpgid(0, 0);
    for (;;) {
      pause();
    }
  }
  setpgid(c, c); /* both sides, so whoever runs first wins the race */
  printf("killpg(child group, TERM) = %d\n", killpg(c, SIGTERM));
  printf("child in group %s\n", wait_child(c));
  printf("hits=%d\n", (int)hits);
  return 0;
}
