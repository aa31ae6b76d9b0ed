/* 8 MiB through a pipe from a child to the parent, in odd-sized writes and
 * reads, with a checksum on both sides; then the reverse direction. */
#define _GNU_SOURCE
#include "progutil.h"

enum { kTotal = 8 << 20 };

static unsigned char pattern(size_t i) {
  return (unsigned char)((i * 2654435761u) >> 13);
}

static unsigned long long produce(int fd) {
  unsigned char buf[70001];
  unsigned long long h = FNV_INIT;
  size_t sent = 0, chunk = 1;
  while (sent < kTotal) {
    size_t n = chunk;
    if (n > sizeof buf)
      n = sizeof buf;
    if (n > kTotal - sent)
      n = kTotal - sent;
    for (size_t i = 0; i < n; i++) {
      buf[i] = pattern(sent + i);
    }
    write_all(fd, buf, n);
    h = fnv1a(h, buf, n);
    sent += n;
    chunk = chunk * 3 + 7; /* 1, 10, 37, ... up to 70001 */
    if (chunk > sizeof buf)
      chunk = 4093;
  }
  return h;
}

static unsigned long long consume(int fd, size_t* total, int* bad) {
  unsigned char buf[65536 + 17];
  unsigned long long h = FNV_INIT;
  *total = 0;
  *bad = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    CHECK(n >= 0);
    if (n == 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      *bad += buf[i] != pattern(*total + (size_t)i);
    }
    h = fnv1a(h, buf, (size_t)n);
    *total += (size_t)n;
  }
  return h;
}

int main(void) {
  for (int dir = 0; dir < 2; dir++) {
    int p[2], r[2];
    CHECK(pipe(p) == 0 && pipe(r) == 0);
    pid_t c = xfork();
    int child_writes = dir == 0;
    if (c == 0) {
      close(r[0]);
      unsigned long long h;
      if (child_writes) {
        close(p[0]);
        h = produce(p[1]);
        close(p[1]);
      } else {
        close(p[1]);
        size_t total;
        int bad;
        h = consume(p[0], &total, &bad);
        CHECK(total == kTotal && bad == 0);
      }
      write_all(r[1], &h, sizeof h);
      _exit(0);
    }
    close(r[1]);
    unsigned long long mine, theirs;
    size_t total = kTotal;
    int bad = 0;
    if (child_writes) {
      close(p[1]);
      mine = consume(p[0], &total, &bad);
      close(p[0]);
    } else {
      close(p[0]);
      mine = produce(p[1]);
      close(p[1]);
    }
    CHECK(read_full(r[0], &theirs, sizeof theirs) == sizeof theirs);
    close(r[0]);
    printf("%s: %zu bytes, %d wrong, fnv=%016llx, both sides agree: %s, child %s\n",
           child_writes ? "child->parent" : "parent->child", total, bad, mine,
           mine == theirs ? "yes" : "no", wait_child(c));
  }
  return 0;
}
