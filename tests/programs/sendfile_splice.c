/* In-kernel copies: sendfile file->file (with and without an offset
 * pointer), splice file->pipe->file, tee, copy_file_range. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include "progutil.h"

static unsigned long long file_hash(const char* name, long long* size) {
  int fd = open(prog_path("%s", name), O_RDONLY);
  CHECK(fd >= 0);
  unsigned char buf[8192];
  unsigned long long h = FNV_INIT;
  *size = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    h = fnv1a(h, buf, (size_t)n);
    *size += n;
  }
  close(fd);
  return h;
}

static void report(const char* name) {
  long long size;
  unsigned long long h = file_hash(name, &size);
  printf("  %-8s size=%lld fnv=%016llx\n", name, size, h);
}

int main(void) {
  int src = open(prog_path("src"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(src >= 0);
  for (int i = 0; i < 20000; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "record %05d %s\n", i, i % 2 ? "odd" : "even");
    write_all(src, line, (size_t)n);
  }
  report("src");

  int dst = open(prog_path("sf1"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(lseek(src, 0, SEEK_SET) == 0);
  long long total = 0;
  ssize_t n;
  while ((n = sendfile(dst, src, NULL, 100000)) > 0) {
    total += n;
  }
  CHECK(n == 0);
  close(dst);
  printf("sendfile whole file: %lld bytes, src offset now at end: %s\n", total,
         lseek(src, 0, SEEK_CUR) == total ? "yes" : "no");
  report("sf1");

  dst = open(prog_path("sf2"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  off_t off = 1000;
  n = sendfile(dst, src, &off, 5000);
  printf("sendfile 5000 @1000: %zd, offset advanced to %lld, file offset untouched: %s\n", n,
         (long long)off, lseek(src, 0, SEEK_CUR) == total ? "yes" : "no");
  close(dst);
  report("sf2");

  int p[2];
  CHECK(pipe(p) == 0);
  dst = open(prog_path("spl"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  loff_t in_off = 0;
  total = 0;
  for (;;) {
    ssize_t a = splice(src, &in_off, p[1], NULL, 16384, SPLICE_F_MOVE);
    CHECK(a >= 0);
    if (a == 0)
      break;
    ssize_t left = a;
    while (left > 0) {
      ssize_t b = splice(p[0], NULL, dst, NULL, (size_t)left, SPLICE_F_MOVE);
      CHECK(b > 0);
      left -= b;
    }
    total += a;
  }
  close(dst);
  printf("splice file->pipe->file: %lld bytes\n", total);
  report("spl");

  int q[2];
  CHECK(pipe(q) == 0);
  write_all(p[1], "tee duplicates pipe data", 24);
  ssize_t t = tee(p[0], q[1], 100, 0);
  char a[32] = {0}, b[32] = {0};
  CHECK(read(p[0], a, sizeof a) == 24 && read(q[0], b, sizeof b) == 24);
  printf("tee: %zd bytes, both pipes read [%s] [%s]\n", t, a, b);
  printf("splice between two files: %s\n",
         splice(src, NULL, src, NULL, 10, 0) < 0 ? errno_name(errno) : "ok?");

  dst = open(prog_path("cfr"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  loff_t o1 = 0;
  total = 0;
  while ((n = copy_file_range(src, &o1, dst, NULL, 1 << 20, 0)) > 0) {
    total += n;
  }
  close(dst);
  printf("copy_file_range: %lld bytes (%s)\n", total, n == 0 ? "done" : errno_name(errno));
  report("cfr");
  close(src);
  return 0;
}
