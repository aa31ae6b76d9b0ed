/* TCP over loopback in one program: a forked server child accepts on
 * 127.0.0.1 (ephemeral port, listening before the fork, so no race) and
 * echoes lines; the client sends lines and prints the echoes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "progutil.h"

static const char* lines[] = {"hello", "a somewhat longer line with spaces", "", "last"};
enum { kLines = 4 };

static void serve(int ls) {
  int c = accept(ls, NULL, NULL);
  CHECK(c >= 0);
  FILE* in = fdopen(c, "r");
  char buf[256];
  int n = 0;
  while (fgets(buf, sizeof buf, in) != NULL) {
    char out[300];
    int len = snprintf(out, sizeof out, "echo %d: %s", ++n, buf);
    write_all(c, out, (size_t)len);
  }
  fclose(in);
  _exit(n == kLines ? 0 : 1);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(ls >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(ls, (struct sockaddr*)&a, sizeof a) == 0);
  CHECK(listen(ls, 4) == 0);
  socklen_t al = sizeof a;
  CHECK(getsockname(ls, (struct sockaddr*)&a, &al) == 0);
  printf("listening on 127.0.0.1, ephemeral port nonzero: %s\n", ntohs(a.sin_port) ? "yes" : "no");
  pid_t srv = xfork();
  if (srv == 0) {
    serve(ls);
  }
  close(ls);

  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  CHECK(connect(s, (struct sockaddr*)&a, sizeof a) == 0);
  int one = 1;
  CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  CHECK(getpeername(s, (struct sockaddr*)&peer, &pl) == 0);
  printf("peer is %s, same port: %s\n", inet_ntoa(peer.sin_addr),
         peer.sin_port == a.sin_port ? "yes" : "no");
  FILE* in = fdopen(dup(s), "r");
  for (int i = 0; i < kLines; i++) {
    char msg[300];
    int len = snprintf(msg, sizeof msg, "%s\n", lines[i]);
    write_all(s, msg, (size_t)len);
    char buf[400];
    CHECK(fgets(buf, sizeof buf, in) != NULL);
    printf("client got: %s", buf);
  }
  CHECK(shutdown(s, SHUT_WR) == 0);
  char buf[16];
  printf("after shutdown, read gives EOF: %s\n", fgets(buf, sizeof buf, in) == NULL ? "yes" : "no");
  fclose(in);
  close(s);
  printf("server %s\n", wait_child(srv));

  /* Nobody listens on the old port now. */
  s = socket(AF_INET, SOCK_STREAM, 0);
  printf("connect to closed port: %s\n",
         connect(s, (struct sockaddr*)&a, sizeof a) < 0 ? errno_name(errno) : "connected?");
  close(s);
  return 0;
}
