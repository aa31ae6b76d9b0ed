/* A blocking read on an empty pipe is interrupted by SIGALRM whose handler
 * was installed without SA_RESTART: read returns -1/EINTR. */
#define _GNU_SOURCE
#include <sys/time.h>
#include "progutil.h"

static volatile sig_atomic_t alarms;

static void on_alrm(int sig) {
  alarms++;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sa.sa_flags = 0; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  alarm(1);
  char c;
  errno = 0;
  ssize_t n = read(p[0], &c, 1);
  printf("read returned %zd errno=%s alarms=%d\n", n, errno_name(errno), (int)alarms);
  /* The pipe is intact: a later write is read normally. */
  CHECK(write(p[1], "k", 1) == 1);
  n = read(p[0], &c, 1);
  printf("next read: %zd [%c]\n", n, c);
  /* signal() in glibc means SA_RESTART; sigaction without it again means
   * EINTR even for a second, timer-driven signal. */
  struct itimerval it = {{0, 0}, {0, 200000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  errno = 0;
  n = read(p[0], &c, 1);
  printf("setitimer variant: read returned %zd errno=%s alarms=%d\n", n, errno_name(errno),
         (int)alarms);
  return 0;
}
