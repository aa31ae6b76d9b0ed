/* getrandom and /dev/urandom: only lengths and coarse properties print. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/random.h>
#include "progutil.h"

int main(void) {
  unsigned char a[256], b[256];
  ssize_t n = getrandom(a, sizeof a, 0);
  printf("getrandom(256): %zd\n", n);
  CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b);
  printf("two draws differ: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");
  int distinct = 0, seen[256] = {0};
  for (size_t i = 0; i < sizeof a; i++) {
    distinct += !seen[a[i]]++;
  }
  printf("more than 64 distinct byte values: %s\n", distinct > 64 ? "yes" : "no");
  printf("getrandom(0): %zd\n", getrandom(a, 0, 0));
  static unsigned char big[1 << 20];
  size_t total = 0;
  while (total < sizeof big) {
    ssize_t r = getrandom(big + total, sizeof big - total, 0);
    CHECK(r > 0);
    total += (size_t)r;
  }
  printf("1 MiB filled in pieces: %zu\n", total);
  printf("bad flags: %s\n", getrandom(a, 1, 0x40000000) < 0 ? errno_name(errno) : "ok?");
  int fd = open("/dev/urandom", O_RDONLY);
  CHECK(fd >= 0);
  printf("read /dev/urandom 100: %zu\n", read_full(fd, a, 100));
  close(fd);
  printf("getentropy(32): %d\n", getentropy(a, 32));
  return 0;
}
