/* With SA_RESTART the same interrupted read restarts: the SIGALRM handler
 * writes a byte into the pipe, and read returns that byte, never EINTR. */
#define _GNU_SOURCE
#include <sys/time.h>
#include "progutil.h"

static volatile sig_atomic_t alarms;
static int wfd;

static void on_alrm(int sig) {
  alarms++;
  if (alarms == 2) {
    char c = 'R';
    (void)!write(wfd, &c, 1);
  }
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  wfd = p[1];
  /* Two ticks 300 ms apart: the first interrupts and restarts the read with
   * nothing to read, the second supplies the byte. */
  struct itimerval it = {{0, 300000}, {0, 300000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  char c = 0;
  errno = 0;
  ssize_t n = read(p[0], &c, 1);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("read returned %zd errno=%s byte=%c alarms=%d\n", n, errno_name(errno), c, (int)alarms);

  /* Same with alarm(): one signal, handler writes, read completes. */
  alarms = 1;
  alarm(1);
  n = read(p[0], &c, 1);
  printf("alarm variant: read returned %zd byte=%c alarms=%d\n", n, c, (int)alarms);
  return 0;
}
