/* stdin -> stdout: a cat-like copy of the runner's fixed input, with a
 * line count and checksum so short reads or lost bytes show up. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  char buf[7]; /* small on purpose: many read/write round trips */
  unsigned long long h = FNV_INIT;
  size_t total = 0, lines = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    CHECK(n >= 0);
    if (n == 0) {
      break;
    }
    write_all(1, buf, (size_t)n);
    h = fnv1a(h, buf, (size_t)n);
    for (ssize_t i = 0; i < n; i++) {
      lines += buf[i] == '\n';
    }
    total += (size_t)n;
  }
  printf("--\nbytes=%zu lines=%zu fnv=%016llx\n", total, lines, h);
  return 0;
}
