/* AF_UNIX socketpair: stream exchange with a child, message boundaries of
 * SOCK_SEQPACKET, and an fd passed with SCM_RIGHTS; credentials via
 * SO_PEERCRED compared with the child's own (relationally). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "progutil.h"

static void send_fd(int s, int fd) {
  char c = 'F';
  struct iovec iov = {&c, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  CHECK(sendmsg(s, &m, 0) == 1);
}

static int recv_fd(int s) {
  char c;
  struct iovec iov = {&c, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  CHECK(recvmsg(s, &m, 0) == 1);
  struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
  CHECK(cm != NULL && cm->cmsg_type == SCM_RIGHTS);
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

int main(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int f = open(prog_path("shared.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(f >= 0);
  write_all(f, "content reached through a passed fd\n", 36);
  pid_t parent = getpid();
  pid_t c = xfork();
  if (c == 0) {
    close(sv[0]);
    char buf[64];
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("child read %zd: [%.*s]\n", n, (int)n, buf);
    write_all(sv[1], "pong", 4);
    int fd = recv_fd(sv[1]);
    char txt[64] = {0};
    CHECK(pread(fd, txt, sizeof txt - 1, 0) > 0);
    printf("child via passed fd: %s", txt);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
    printf("child: SO_PEERCRED pid is parent: %s, uid matches: %s\n",
           cr.pid == parent ? "yes" : "no", cr.uid == getuid() ? "yes" : "no");
    fflush(stdout);
    _exit(0);
  }
  close(sv[1]);
  write_all(sv[0], "ping", 4);
  char buf[8];
  CHECK(read_full(sv[0], buf, 4) == 4);
  printf("parent read: [%.4s]\n", buf);
  send_fd(sv[0], f);
  printf("child %s\n", wait_child(c));
  char x;
  printf("read after peer exit: %zd (EOF)\n", read(sv[0], &x, 1));
  close(sv[0]);

  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
  write_all(sv[0], "one", 3);
  write_all(sv[0], "two-two", 7);
  char m[32];
  ssize_t n1 = read(sv[1], m, sizeof m);
  ssize_t n2 = read(sv[1], m, sizeof m);
  printf("seqpacket keeps boundaries: %zd then %zd\n", n1, n2);
  write_all(sv[0], "truncated message", 17);
  printf("short read truncates: %zd\n", read(sv[1], m, 5));
  CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
  printf("then nothing left: %s\n", read(sv[1], m, sizeof m) < 0 ? errno_name(errno) : "data?");

  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  CHECK(send(sv[0], "dgram", 5, 0) == 5);
  printf("dgram recv: %zd\n", recv(sv[1], m, sizeof m, 0));
  int type;
  socklen_t tl = sizeof type;
  CHECK(getsockopt(sv[1], SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
  printf("SO_TYPE is SOCK_DGRAM: %s\n", type == SOCK_DGRAM ? "yes" : "no");
  printf("socketpair AF_INET: %s\n",
         socketpair(AF_INET, SOCK_STREAM, 0, sv) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
