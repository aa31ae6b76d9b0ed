/* Raw TCP throughput, the baseline of the migration benchmark: the client
 * sends BYTES in CHUNK-sized writes (the migration's page chunk), the
 * server reads them all and answers one byte; the client prints MB/s.
 *   tcp_stream server ADDR PORT
 *   tcp_stream client ADDR PORT BYTES [CHUNK]   */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: tcp_stream server|client ADDR PORT [BYTES [CHUNK]]\n");
    return 2;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
  inet_pton(AF_INET, argv[2], &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int big = 8 << 20, one = 1;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (strcmp(argv[1], "server") == 0) {
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 1))
      return perror("listen"), 1;
    printf("listening\n");
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    static char buf[1 << 20];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
    }
    (void)!write(c, "k", 1);
    return 0;
  }
  long long bytes = argc > 4 ? atoll(argv[4]) : 1ll << 30;
  size_t chunk = argc > 5 ? (size_t)atol(argv[5]) : 128 << 10;
  char* buf = malloc(chunk);
  for (size_t i = 0; i < chunk; ++i)
    buf[i] = (char)(i * 31 + 7);
  if (connect(s, (struct sockaddr*)&a, sizeof a))
    return perror("connect"), 1;
  double t0 = bench_now_ns();
  for (long long sent = 0; sent < bytes;) {
    ssize_t n = write(s, buf, chunk);
    if (n <= 0)
      return perror("write"), 1;
    sent += n;
  }
  shutdown(s, SHUT_WR);
  char k;
  if (read(s, &k, 1) != 1)
    return 1;
  double dt = (bench_now_ns() - t0) / 1e9;
  printf("%.1f\n", bytes / dt / 1e6);
  return 0;
}
