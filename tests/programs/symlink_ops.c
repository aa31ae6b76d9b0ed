/* symlink/readlink/readlinkat, dangling links, loops, O_NOFOLLOW. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static void rl(const char* name) {
  char buf[256];
  ssize_t n = readlink(prog_path("%s", name), buf, sizeof buf);
  if (n < 0) {
    printf("readlink %s: %s\n", name, errno_name(errno));
  } else {
    printf("readlink %s: [%.*s] (%zd bytes)\n", name, (int)n, buf, n);
  }
}

int main(void) {
  int fd = open(prog_path("target"), O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  write_all(fd, "target content\n", 15);
  close(fd);
  CHECK(symlink("target", prog_path("rel")) == 0);
  CHECK(symlink("does/not/exist", prog_path("dangling")) == 0);
  CHECK(symlink("loop2", prog_path("loop1")) == 0);
  CHECK(symlink("loop1", prog_path("loop2")) == 0);
  CHECK(symlink("rel", prog_path("chain")) == 0);
  printf("symlink over existing: %s\n",
         symlink("x", prog_path("rel")) < 0 ? errno_name(errno) : "ok?");
  rl("rel");
  rl("dangling");
  rl("chain");
  rl("target");
  rl("missing");
  char small[4];
  ssize_t n = readlink(prog_path("dangling"), small, sizeof small);
  printf("readlink truncates: %zd [%.4s]\n", n, small);
  int dfd = open(prog_dir(), O_RDONLY | O_DIRECTORY);
  char buf[64];
  n = readlinkat(dfd, "rel", buf, sizeof buf);
  printf("readlinkat: [%.*s]\n", (int)n, buf);
  fd = open(prog_path("chain"), O_RDONLY);
  CHECK(fd >= 0);
  n = read(fd, buf, sizeof buf);
  printf("read through chain: [%.*s]\n", (int)(n - 1), buf);
  close(fd);
  printf("open dangling: %s\n",
         open(prog_path("dangling"), O_RDONLY) < 0 ? errno_name(errno) : "ok?");
  printf("open loop: %s\n", open(prog_path("loop1"), O_RDONLY) < 0 ? errno_name(errno) : "ok?");
  printf("open O_NOFOLLOW: %s\n",
         open(prog_path("rel"), O_RDONLY | O_NOFOLLOW) < 0 ? errno_name(errno) : "ok?");
  fd = open(prog_path("rel"), O_PATH | O_NOFOLLOW);
  struct stat st;
  CHECK(fd >= 0 && fstat(fd, &st) == 0);
  printf("O_PATH|O_NOFOLLOW fstat is link: %s\n", S_ISLNK(st.st_mode) ? "yes" : "no");
  CHECK(symlinkat("target", dfd, "viaat") == 0);
  rl("viaat");
  CHECK(unlink(prog_path("rel")) == 0);
  printf("target survives unlinking link: %s\n",
         access(prog_path("target"), F_OK) == 0 ? "yes" : "no");
  printf("chain now dangles: %s\n",
         access(prog_path("chain"), F_OK) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
