/* lseek: SEEK_SET/CUR/END, seeking past EOF makes a hole, errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include "progutil.h"

int main(void) {
  int fd = open(prog_path("f"), O_CREAT | O_RDWR, 0644);
  CHECK(fd >= 0);
  write_all(fd, "hello world", 11);
  printf("SEEK_CUR 0: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("SEEK_SET 6: %lld\n", (long long)lseek(fd, 6, SEEK_SET));
  char buf[16] = {0};
  CHECK(read(fd, buf, 5) == 5);
  printf("read: [%s]\n", buf);
  printf("SEEK_CUR -8: %lld\n", (long long)lseek(fd, -8, SEEK_CUR));
  printf("SEEK_END 0: %lld\n", (long long)lseek(fd, 0, SEEK_END));
  printf("SEEK_END +5: %lld\n", (long long)lseek(fd, 5, SEEK_END));
  write_all(fd, "!", 1);
  printf("size now: %lld\n", (long long)lseek(fd, 0, SEEK_END));
  CHECK(lseek(fd, 11, SEEK_SET) == 11);
  CHECK(read(fd, buf, 6) == 6);
  printf("hole reads as zeros: %s\n", memcmp(buf, "\0\0\0\0\0!", 6) == 0 ? "yes" : "no");
  printf("SEEK_DATA 0: %lld\n", (long long)lseek(fd, 0, SEEK_DATA));
  printf("SEEK_SET -1: %s\n", lseek(fd, -1, SEEK_SET) < 0 ? errno_name(errno) : "ok?");
  printf("whence 99: %s\n", lseek(fd, 0, 99) < 0 ? errno_name(errno) : "ok?");
  printf("SEEK_DATA past end: %s\n", lseek(fd, 100, SEEK_DATA) < 0 ? errno_name(errno) : "ok?");
  int p[2];
  CHECK(pipe(p) == 0);
  printf("lseek pipe: %s\n", lseek(p[0], 0, SEEK_CUR) < 0 ? errno_name(errno) : "ok?");
  int closed = dup(fd);
  CHECK(closed >= 0 && close(closed) == 0);
  printf("lseek closed fd: %s\n", lseek(closed, 0, SEEK_CUR) < 0 ? errno_name(errno) : "ok?");
  close(fd);
  return 0;
}
