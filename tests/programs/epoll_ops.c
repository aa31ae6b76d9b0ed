/* epoll on pipes and sockets: level vs edge triggering, EPOLLONESHOT,
 * ctl errors, data.u64 round trip, and a wakeup from a child. */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include "progutil.h"

static void wait_show(int ep, const char* label, int timeout) {
  struct epoll_event ev[8];
  int n = epoll_wait(ep, ev, 8, timeout);
  /* Sort by tag so simultaneous events print in a stable order. */
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      if (ev[j].data.u64 < ev[i].data.u64) {
        struct epoll_event t = ev[i];
        ev[i] = ev[j];
        ev[j] = t;
      }
    }
  }
  printf("%-28s n=%d", label, n);
  for (int i = 0; i < n; i++) {
    printf(" tag%llu[%s%s%s%s]", (unsigned long long)ev[i].data.u64,
           ev[i].events & EPOLLIN ? "IN" : "", ev[i].events & EPOLLOUT ? "OUT" : "",
           ev[i].events & EPOLLHUP ? "HUP" : "", ev[i].events & EPOLLRDHUP ? "RDHUP" : "");
  }
  printf("\n");
}

int main(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  int p[2], sv[2];
  CHECK(pipe(p) == 0);
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) == 0);
  e = (struct epoll_event){.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.u64 = 2};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &e) == 0);
  printf("add twice: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) < 0 ? errno_name(errno) : "ok?");
  printf("mod unknown: %s\n",
         epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e) < 0 ? errno_name(errno) : "ok?");
  printf("add epoll to itself: %s\n",
         epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e) < 0 ? errno_name(errno) : "ok?");
  wait_show(ep, "idle:", 0);
  CHECK(write(p[1], "ab", 2) == 2);
  CHECK(write(sv[1], "xy", 2) == 2);
  wait_show(ep, "both written:", 1000);
  wait_show(ep, "again (level stays, edge not):", 0);
  char c;
  CHECK(read(p[0], &c, 1) == 1 && read(sv[0], &c, 1) == 1);
  wait_show(ep, "one byte left in each:", 0);
  CHECK(write(sv[1], "z", 1) == 1);
  wait_show(ep, "new data re-arms edge:", 0);
  char buf[8];
  CHECK(read(p[0], buf, 1) == 1 && read(sv[0], buf, 2) == 2);
  wait_show(ep, "drained:", 0);

  e = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 3};
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e) == 0);
  CHECK(write(p[1], "1", 1) == 1);
  wait_show(ep, "oneshot first:", 0);
  wait_show(ep, "oneshot disarmed:", 0);
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e) == 0);
  wait_show(ep, "oneshot re-armed:", 0);
  CHECK(read(p[0], buf, 1) == 1);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
  printf("del again: %s\n",
         epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) < 0 ? errno_name(errno) : "ok?");

  e = (struct epoll_event){.events = EPOLLIN, .data.u64 = 4};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) == 0);
  /* The socket leaves the set while the child runs: its hangup comes when
   * the child exits, which must not race with the pipe wakeup below. */
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL) == 0);
  pid_t ch = xfork();
  if (ch == 0) {
    struct timespec d = {0, 100000000};
    nanosleep(&d, NULL);
    CHECK(write(p[1], "late", 4) == 4);
    close(sv[1]);
    _exit(0);
  }
  close(sv[1]);
  wait_show(ep, "child writes later:", 10000);
  printf("child %s\n", wait_child(ch));
  e = (struct epoll_event){.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.u64 = 2};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &e) == 0);
  wait_show(ep, "peer socket closed:", 0);
  close(p[1]);
  CHECK(read(p[0], buf, 4) == 4);
  wait_show(ep, "pipe writer closed:", 0);
  struct epoll_event out;
  printf("epoll_wait maxevents 0: %s\n",
         epoll_wait(ep, &out, 0, 0) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
