/* Raw TCP between two nodes, the baseline for forwarded calls: the same
 * shape as one forwarded call (a small request, a reply of N bytes).
 *
 *   tcp_rtt server PORT             answers every 8-byte request (a reply
 *                                   size) with that many bytes, until EOF
 *   tcp_rtt client ADDR PORT ITER   prints, for replies of 1 B, 4 KiB and
 *                                   1 MiB: name, iterations, ns per round
 *                                   trip (median of 5 batches)
 * TCP_NODELAY on both ends, as the session links have.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static int full(int fd, void* buf, size_t n, int writing) {
  char* p = buf;
  while (n > 0) {
    ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int main(int argc, char** argv) {
  static char buf[1 << 20];
  if (argc == 3 && strcmp(argv[1], "server") == 0) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 1) != 0) {
      perror("bind/listen");
      return 1;
    }
    int c = accept(l, NULL, NULL);
    nodelay(c);
    uint64_t want;
    while (full(c, &want, sizeof want, 0) == 0 && want <= sizeof buf) {
      if (full(c, buf, want, 1) != 0)
        break;
    }
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "client") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    for (int tries = 0; connect(s, (struct sockaddr*)&a, sizeof a) != 0; ++tries) {
      if (tries > 100) {
        perror("connect");
        return 1;
      }
      usleep(20000);
      close(s);
      s = socket(AF_INET, SOCK_STREAM, 0);
    }
    nodelay(s);
    long iters = atol(argv[4]);
    struct {
      const char* name;
      uint64_t size;
      long iters;
    } cases[] = {{"rtt_1B", 1, iters},
                 {"rtt_4KiB", 4096, iters / 2},
                 {"rtt_1MiB", 1 << 20, iters / 50 > 10 ? iters / 50 : 10}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
      double batches[5];
      for (int b = 0; b < 5; ++b) {
        double t0 = bench_now_ns();
        for (long i = 0; i < cases[k].iters; ++i) {
          if (full(s, &cases[k].size, sizeof cases[k].size, 1) != 0 ||
              full(s, buf, cases[k].size, 0) != 0) {
            perror("round trip");
            return 1;
          }
        }
        batches[b] = (bench_now_ns() - t0) / cases[k].iters;
      }
      printf("%-20s %8ld %12.0f\n", cases[k].name, cases[k].iters, bench_median5(batches));
    }
    return 0;
  }
  fprintf(stderr, "usage: tcp_rtt server PORT | tcp_rtt client ADDR PORT ITERATIONS\n");
  return 2;
}
