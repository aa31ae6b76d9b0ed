/* select/pselect on pipes: readiness sets, timeouts (and the timeval
 * being updated), EBADF, and several fds at once. */
#define _GNU_SOURCE
#include <sys/select.h>
#include <time.h>
#include "progutil.h"

int main(void) {
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0);
  int maxfd = a[0];
  int fds[] = {a[0], a[1], b[0], b[1]};
  for (int i = 0; i < 4; i++) {
    maxfd = fds[i] > maxfd ? fds[i] : maxfd;
  }
  fd_set r, w;
  FD_ZERO(&r);
  FD_SET(a[0], &r);
  FD_SET(b[0], &r);
  struct timeval tv = {0, 100000};
  int n = select(maxfd + 1, &r, NULL, NULL, &tv);
  printf("nothing written: n=%d, timeval consumed to zero: %s\n", n,
         tv.tv_sec == 0 && tv.tv_usec == 0 ? "yes" : "no");
  CHECK(write(b[1], "b", 1) == 1);
  FD_ZERO(&r);
  FD_SET(a[0], &r);
  FD_SET(b[0], &r);
  FD_ZERO(&w);
  FD_SET(a[1], &w);
  tv = (struct timeval){5, 0};
  n = select(maxfd + 1, &r, &w, NULL, &tv);
  printf("b written: n=%d a.read=%d b.read=%d a.write=%d\n", n, FD_ISSET(a[0], &r),
         FD_ISSET(b[0], &r), FD_ISSET(a[1], &w));
  CHECK(write(a[1], "a", 1) == 1);
  FD_ZERO(&r);
  FD_SET(a[0], &r);
  FD_SET(b[0], &r);
  n = select(maxfd + 1, &r, NULL, NULL, NULL);
  printf("both written: n=%d a.read=%d b.read=%d\n", n, FD_ISSET(a[0], &r), FD_ISSET(b[0], &r));
  char c;
  CHECK(read(a[0], &c, 1) == 1 && read(b[0], &c, 1) == 1);
  close(a[1]);
  FD_ZERO(&r);
  FD_SET(a[0], &r);
  n = select(maxfd + 1, &r, NULL, NULL, NULL);
  printf("writer closed, EOF readable: n=%d a.read=%d\n", n, FD_ISSET(a[0], &r));
  close(a[0]);
  FD_ZERO(&r);
  FD_SET(a[0], &r);
  tv = (struct timeval){0, 0};
  printf("closed fd in set: %s\n",
         select(maxfd + 1, &r, NULL, NULL, &tv) < 0 ? errno_name(errno) : "ok?");
  FD_ZERO(&r);
  FD_SET(b[0], &r);
  struct timespec ts = {0, 50000000};
  sigset_t none;
  sigemptyset(&none);
  n = pselect(b[0] + 1, &r, NULL, NULL, &ts, &none);
  printf("pselect timeout: n=%d\n", n);
  pid_t ch = xfork();
  if (ch == 0) {
    struct timespec d = {0, 100000000};
    nanosleep(&d, NULL);
    CHECK(write(b[1], "late", 4) == 4);
    _exit(0);
  }
  FD_ZERO(&r);
  FD_SET(b[0], &r);
  tv = (struct timeval){10, 0};
  n = select(b[0] + 1, &r, NULL, NULL, &tv);
  printf("child wrote later: n=%d readable=%d time left: %s\n", n, FD_ISSET(b[0], &r),
         tv.tv_sec > 0 && tv.tv_sec < 10 ? "between 0 and 10s" : "odd");
  printf("child %s\n", wait_child(ch));
  tv = (struct timeval){0, -1};
  printf("negative timeout: %s\n",
         select(1, NULL, NULL, NULL, &tv) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
