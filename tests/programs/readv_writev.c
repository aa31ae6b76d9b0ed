/* Scatter/gather: writev of several buffers, readv into uneven ones,
 * preadv2/pwritev at offsets. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/uio.h>
#include "progutil.h"

int main(void) {
  int fd = open(prog_path("f"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  char a[] = "alpha-", b[] = "", c[] = "gamma-", d[] = "delta\n";
  struct iovec w[4] = {{a, 6}, {b, 0}, {c, 6}, {d, 6}};
  printf("writev: %zd\n", writev(fd, w, 4));
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  char r1[4], r2[10], r3[20];
  memset(r3, 0, sizeof r3);
  struct iovec r[3] = {{r1, sizeof r1}, {r2, sizeof r2}, {r3, sizeof r3}};
  ssize_t n = readv(fd, r, 3);
  printf("readv: %zd -> [%.4s] [%.10s] [%.4s]\n", n, r1, r2, r3);
  struct iovec pw[2] = {{"AB", 2}, {"CD", 2}};
  printf("pwritev @2: %zd\n", pwritev(fd, pw, 2, 2));
  char x[6], y[12];
  struct iovec pr[2] = {{x, sizeof x}, {y, sizeof y}};
  n = preadv(fd, pr, 2, 0);
  printf("preadv @0: %zd -> [%.6s] [%.12s]\n", n, x, y);
  printf("offset unchanged by p*v: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  int p[2];
  CHECK(pipe(p) == 0);
  struct iovec pipe_w[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
  printf("writev to pipe: %zd\n", writev(p[1], pipe_w, 3));
  char s[14] = {0};
  printf("read from pipe: %zd [%s]\n", read(p[0], s, 13), s);
  volatile int bad_count = -1; /* volatile: keep the compiler from flagging it */
  printf("readv bad iovcnt: %s\n", readv(fd, r, bad_count) < 0 ? errno_name(errno) : "ok?");
  close(fd);
  return 0;
}
