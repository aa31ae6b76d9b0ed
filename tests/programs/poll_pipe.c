/* poll on pipes and a socketpair: nothing ready, POLLIN, POLLOUT, POLLHUP,
 * POLLNVAL, a timeout, and a wakeup by a child writing later. */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include "progutil.h"

static void show(const char* label, int r, struct pollfd* p, int n) {
  printf("%-26s r=%d", label, r);
  for (int i = 0; i < n; i++) {
    printf(" [%s%s%s%s%s]", p[i].revents & POLLIN ? "IN" : "", p[i].revents & POLLOUT ? "OUT" : "",
           p[i].revents & POLLHUP ? "HUP" : "", p[i].revents & POLLERR ? "ERR" : "",
           p[i].revents & POLLNVAL ? "NVAL" : "");
  }
  printf("\n");
}

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  struct pollfd f[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  int r = poll(f, 1, 0);
  show("empty pipe, read end:", r, f, 1);
  r = poll(f, 2, 0);
  show("both ends:", r, f, 2);
  CHECK(write(p[1], "x", 1) == 1);
  r = poll(f, 2, 1000);
  show("after write:", r, f, 2);
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  close(p[1]);
  r = poll(f, 1, 1000);
  show("writer closed:", r, f, 1);
  close(p[0]);
  f[0].fd = p[0];
  r = poll(f, 1, 0);
  show("closed fd:", r, f, 1);
  f[0].fd = -1;
  r = poll(f, 1, 0);
  show("negative fd ignored:", r, f, 1);

  CHECK(pipe(p) == 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  f[0] = (struct pollfd){p[0], POLLIN, 0};
  r = poll(f, 1, 200);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("timeout 200ms: r=%d waited>=199ms: %s\n", r, ms >= 199 ? "yes" : "no");

  pid_t ch = xfork();
  if (ch == 0) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    CHECK(write(p[1], "late", 4) == 4);
    _exit(0);
  }
  r = poll(f, 1, 10000);
  show("child wrote later:", r, f, 1);
  printf("child %s\n", wait_child(ch));

  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  struct pollfd s[2] = {{sv[0], POLLIN | POLLOUT | POLLRDHUP, 0}, {sv[1], POLLIN, 0}};
  r = poll(s, 2, 0);
  show("socketpair idle:", r, s, 2);
  shutdown(sv[1], SHUT_WR);
  r = poll(s, 1, 0);
  printf("peer shut down writing: RDHUP=%d IN=%d\n", !!(s[0].revents & POLLRDHUP),
         !!(s[0].revents & POLLIN));
  sigset_t none;
  sigemptyset(&none);
  struct timespec z = {0, 0};
  r = ppoll(s, 2, &z, &none);
  printf("ppoll: r=%d\n", r);
  return 0;
}
