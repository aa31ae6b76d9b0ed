/* Half of a TCP pair meant to run on a different node from its client:
 *   tcp_echo_server PORTFILE [LINES [BIND_ADDR]]
 * binds an ephemeral port (default 127.0.0.1), writes the port number to
 * PORTFILE atomically (temp file + rename), accepts one connection, echoes
 * LINES (default 5) lines, prints what it got and exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "progutil.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORTFILE [LINES [BIND_ADDR]]\n", argv[0]);
    return 2;
  }
  int want = argc > 2 ? atoi(argv[2]) : 5;
  const char* addr = argc > 3 ? argv[3] : "127.0.0.1";
  signal(SIGPIPE, SIG_IGN);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(ls >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  CHECK(inet_pton(AF_INET, addr, &a.sin_addr) == 1);
  CHECK(bind(ls, (struct sockaddr*)&a, sizeof a) == 0);
  CHECK(listen(ls, 1) == 0);
  socklen_t al = sizeof a;
  CHECK(getsockname(ls, (struct sockaddr*)&a, &al) == 0);

  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
  int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0);
  char port[16];
  int len = snprintf(port, sizeof port, "%u\n", ntohs(a.sin_port));
  write_all(fd, port, (size_t)len);
  CHECK(close(fd) == 0);
  CHECK(rename(tmp, argv[1]) == 0);
  printf("server: listening, port written\n");
  fflush(stdout);

  int c = accept(ls, NULL, NULL);
  CHECK(c >= 0);
  close(ls);
  printf("server: accepted a connection\n");
  FILE* in = fdopen(c, "r");
  char buf[512];
  int n = 0;
  while (n < want && fgets(buf, sizeof buf, in) != NULL) {
    n++;
    printf("server got: %s", buf);
    char out[600];
    len = snprintf(out, sizeof out, "echo %d: %s", n, buf);
    write_all(c, out, (size_t)len);
  }
  printf("server: %d of %d lines, closing\n", n, want);
  fclose(in);
  unlink(argv[1]);
  return n == want ? 0 : 1;
}
