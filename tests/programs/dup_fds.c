/* dup/dup2/dup3: shared offsets, fixed target numbers, cloexec, errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include "progutil.h"

int main(void) {
  int fd = open(prog_path("f"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  int d = dup(fd);
  CHECK(d >= 0);
  printf("dup gives a new number: %s\n", d != fd ? "yes" : "no");
  write_all(fd, "abc", 3);
  printf("offset via dup after write via original: %lld\n", (long long)lseek(d, 0, SEEK_CUR));
  write_all(d, "def", 3);
  printf("offset via original: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("dup2(fd, 50): %d\n", dup2(fd, 50));
  printf("dup2(fd, fd) returns fd: %s\n", dup2(fd, fd) == fd ? "yes" : "no");
  printf("dup2 onto open 50 (replaced): %d\n", dup2(d, 50));
  int d51 = dup3(fd, 51, O_CLOEXEC);
  printf("dup3(fd, 51, O_CLOEXEC): %d cloexec=%d\n", d51, fcntl(51, F_GETFD));
  printf("dup3(fd, fd, 0): %s\n", dup3(fd, fd, 0) < 0 ? errno_name(errno) : "ok?");
  printf("dup3 bad flags: %s\n", dup3(fd, 52, 12345) < 0 ? errno_name(errno) : "ok?");
  printf("dup closed: %s\n", dup(52) < 0 ? errno_name(errno) : "ok?");
  printf("dup2 to huge: %s\n", dup2(fd, 1 << 30) < 0 ? errno_name(errno) : "ok?");

  /* Redirect stdout into the file with dup2, then restore it. */
  fflush(stdout);
  int saved = dup(1);
  CHECK(dup2(50, 1) == 1);
  printf("this line goes to the file\n");
  fflush(stdout);
  CHECK(dup2(saved, 1) == 1);
  close(saved);
  char buf[64] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  printf("file has %zd bytes: [%.*s]\n", n, (int)(n > 0 ? n - 1 : 0), buf);
  close(50);
  printf("close 50 then fcntl: %s; original still ok: %s\n",
         fcntl(50, F_GETFD) < 0 ? errno_name(errno) : "open?",
         fcntl(fd, F_GETFD) >= 0 ? "yes" : "no");
  return 0;
}
