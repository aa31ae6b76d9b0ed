/* truncate/ftruncate: grow with zeros, shrink, errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static void show(int fd) {
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  char buf[64];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  printf("size=%lld content=", (long long)st.st_size);
  for (ssize_t i = 0; i < n; i++) {
    putchar(buf[i] ? buf[i] : '0');
  }
  printf("\n");
}

int main(void) {
  int fd = open(prog_path("f"), O_CREAT | O_RDWR, 0644);
  CHECK(fd >= 0);
  write_all(fd, "abcdefghij", 10);
  show(fd);
  CHECK(ftruncate(fd, 4) == 0);
  show(fd);
  CHECK(truncate(prog_path("f"), 12) == 0);
  show(fd);
  printf("offset unchanged: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  write_all(fd, "Z", 1); /* at offset 10 */
  show(fd);
  CHECK(ftruncate(fd, 0) == 0);
  show(fd);
  printf("truncate negative: %s\n", truncate(prog_path("f"), -1) < 0 ? errno_name(errno) : "ok?");
  printf("truncate missing: %s\n", truncate(prog_path("nope"), 1) < 0 ? errno_name(errno) : "ok?");
  printf("truncate dir: %s\n", truncate(prog_dir(), 1) < 0 ? errno_name(errno) : "ok?");
  int ro = open(prog_path("f"), O_RDONLY);
  printf("ftruncate read-only fd: %s\n", ftruncate(ro, 1) < 0 ? errno_name(errno) : "ok?");
  int p[2];
  CHECK(pipe(p) == 0);
  printf("ftruncate pipe: %s\n", ftruncate(p[1], 1) < 0 ? errno_name(errno) : "ok?");
  CHECK(open(prog_path("t"), O_CREAT | O_RDWR | O_TRUNC, 0644) >= 0);
  int fd2 = open(prog_path("f"), O_RDWR | O_TRUNC);
  CHECK(fd2 >= 0);
  write_all(fd2, "xy", 2);
  fd2 = open(prog_path("f"), O_RDWR | O_TRUNC);
  printf("O_TRUNC on open: ");
  show(fd2);
  return 0;
}
