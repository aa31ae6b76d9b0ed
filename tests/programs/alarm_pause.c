/* alarm: pause() until SIGALRM, remaining seconds from a re-arm, alarm(0)
 * cancels, and an alarm is inherited by exec but not by fork. */
#define _GNU_SOURCE
#include "progutil.h"

static volatile sig_atomic_t alarms;

static void on_alrm(int sig) {
  alarms++;
}

int main(int argc, char** argv) {
  if (argc > 1) {
    /* After exec: the pending alarm from before exec kills us (default action). */
    printf("exec'd child waits for the inherited alarm\n");
    fflush(stdout);
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
    return 0;
  }
  signal(SIGALRM, on_alrm);
  printf("alarm(1) first call returns %u\n", alarm(1));
  int r = pause();
  printf("pause returned %d errno=%s alarms=%d\n", r, errno_name(errno), (int)alarms);
  alarm(30);
  unsigned left = alarm(20);
  printf("re-arm returns remaining in [29,30]: %s\n", left >= 29 && left <= 30 ? "yes" : "no");
  left = alarm(0);
  printf("alarm(0) returns remaining in [19,20]: %s\n", left >= 19 && left <= 20 ? "yes" : "no");
  printf("alarm(0) again returns %u\n", alarm(0));

  /* Block SIGALRM while the child runs, so a slow fork cannot lose it. */
  sigset_t alrm, old;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  sigprocmask(SIG_BLOCK, &alrm, &old);
  int before = alarms;
  alarm(1);
  pid_t c = xfork();
  if (c == 0) {
    printf("forked child: alarm(0) returns %u (not inherited)\n", alarm(0));
    exit(0);
  }
  printf("fork child %s\n", wait_child(c));
  while (alarms == before) {
    sigsuspend(&old);
  }
  printf("parent still got its alarm: alarms=%d\n", (int)alarms);

  c = xfork();
  if (c == 0) {
    /* Still blocked across exec: the new image unblocks when it is ready. */
    signal(SIGALRM, SIG_DFL);
    alarm(1);
    execl(argv[0], argv[0], "exec", (char*)NULL);
    _exit(127);
  }
  printf("exec child %s\n", wait_child(c));
  return 0;
}
