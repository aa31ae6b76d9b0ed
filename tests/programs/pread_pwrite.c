/* pread/pwrite at explicit offsets leave the file offset alone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include "progutil.h"

int main(void) {
  int fd = open(prog_path("f"), O_CREAT | O_RDWR, 0644);
  CHECK(fd >= 0);
  write_all(fd, "0123456789abcdefghij", 20);
  printf("offset after write: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  CHECK(pwrite(fd, "XYZ", 3, 5) == 3);
  CHECK(pwrite(fd, "END", 3, 30) == 3); /* past EOF: leaves a hole */
  printf("offset after pwrite: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  char buf[64];
  ssize_t n = pread(fd, buf, 8, 3);
  CHECK(n == 8);
  printf("pread(8 @ 3): [%.8s]\n", buf);
  n = pread(fd, buf, sizeof buf, 0);
  printf("pread all: %zd bytes:", n);
  for (ssize_t i = 0; i < n; i++) {
    putchar(buf[i] ? buf[i] : '.');
  }
  printf("\n");
  printf("pread at EOF: %zd\n", pread(fd, buf, 4, 33));
  printf("pread negative offset: %s\n", pread(fd, buf, 4, -1) < 0 ? errno_name(errno) : "ok?");
  printf("offset still: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  int p[2];
  CHECK(pipe(p) == 0);
  printf("pread on pipe: %s\n", pread(p[0], buf, 1, 0) < 0 ? errno_name(errno) : "ok?");
  close(fd);
  return 0;
}
