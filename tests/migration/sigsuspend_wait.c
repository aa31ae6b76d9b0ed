// Waiting in sigsuspend while it moves; a child sends SIGUSR1 after 3 s.
#include "mig.h"
#include <signal.h>
#include <sys/wait.h>
static volatile int got;
static void h(int s) { (void)s; got = 1; }
int main(void) {
  signal(SIGUSR1, h);
  sigset_t b, none;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR1);
  sigprocmask(SIG_BLOCK, &b, NULL);
  pid_t parent = getpid();
  pid_t c = fork();
  if (c == 0) { sleep(3); kill(parent, SIGUSR1); _exit(0); }
  mig_ready();
  sigemptyset(&none);
  while (!got) sigsuspend(&none);
  waitpid(c, NULL, 0);
  mig_wait_go();
  mig_pass();
}
