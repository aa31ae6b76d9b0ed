/* umask: returned old values and the effect on open, mkdir, mkfifo. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static void perm(const char* what, const char* name) {
  struct stat st;
  CHECK(lstat(prog_path("%s", name), &st) == 0);
  printf("%-26s %04o\n", what, (unsigned)(st.st_mode & 07777));
}

int main(void) {
  mode_t old = umask(022);
  printf("initial umask (runner sets 022): %04o\n", (unsigned)old);
  CHECK(open(prog_path("f1"), O_CREAT | O_WRONLY, 0666) >= 0);
  perm("umask 022 open 0666", "f1");
  printf("umask(077) returned %04o\n", (unsigned)umask(077));
  CHECK(open(prog_path("f2"), O_CREAT | O_WRONLY, 0666) >= 0);
  perm("umask 077 open 0666", "f2");
  CHECK(mkdir(prog_path("d1"), 0777) == 0);
  perm("umask 077 mkdir 0777", "d1");
  printf("umask(0) returned %04o\n", (unsigned)umask(0));
  CHECK(open(prog_path("f3"), O_CREAT | O_WRONLY, 0666) >= 0);
  perm("umask 0 open 0666", "f3");
  CHECK(mkfifo(prog_path("p1"), 0666) == 0);
  perm("umask 0 mkfifo 0666", "p1");
  umask(0257);
  CHECK(mkdir(prog_path("d2"), 0777) == 0);
  perm("umask 0257 mkdir 0777", "d2");
  CHECK(open(prog_path("f4"), O_CREAT | O_WRONLY, 0777) >= 0);
  perm("umask 0257 open 0777", "f4");
  CHECK(chmod(prog_path("f4"), 0777) == 0);
  perm("chmod ignores umask", "f4");
  pid_t p = xfork();
  if (p == 0) {
    printf("child inherits umask %04o\n", (unsigned)umask(0));
    exit(0);
  }
  printf("child %s\n", wait_child(p));
  chmod(prog_path("d2"), 0755);
  return 0;
}
