/* fcntl: status flags, FD_CLOEXEC (checked across execve), F_DUPFD,
 * and a record lock seen from a child (l_pid is the parent). */
#define _GNU_SOURCE
#include <fcntl.h>
#include "progutil.h"

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "probe") == 0) {
    /* After execve: is the fd number we were given still open? */
    int fd = atoi(argv[2]);
    int r = fcntl(fd, F_GETFD);
    printf("  after exec the fd %s\n", r >= 0 ? "is open" : errno_name(errno));
    return 0;
  }
  int fd = open(prog_path("f"), O_CREAT | O_RDWR | O_APPEND, 0644);
  CHECK(fd >= 0);
  int fl = fcntl(fd, F_GETFL);
  printf("F_GETFL: accmode=%s append=%d nonblock=%d\n",
         (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other", !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
  CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
  fl = fcntl(fd, F_GETFL);
  printf("after F_SETFL O_NONBLOCK: append=%d nonblock=%d\n", !!(fl & O_APPEND),
         !!(fl & O_NONBLOCK));
  CHECK(fcntl(fd, F_SETFL, fl & ~O_APPEND) == 0);
  printf("after clearing O_APPEND: append=%d\n", !!(fcntl(fd, F_GETFL) & O_APPEND));

  printf("F_GETFD initially: %d\n", fcntl(fd, F_GETFD));
  int d10 = fcntl(fd, F_DUPFD, 10);
  printf("F_DUPFD 10: %s, cloexec=%d\n", d10 >= 10 ? ">=10" : "<10!", fcntl(d10, F_GETFD));
  int d20 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
  printf("F_DUPFD_CLOEXEC 20: %s, cloexec=%d\n", d20 >= 20 ? ">=20" : "<20!",
         fcntl(d20, F_GETFD) == FD_CLOEXEC);
  printf("dups share status flags: %s\n", fcntl(d10, F_GETFL) == fcntl(fd, F_GETFL) ? "yes" : "no");
  CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
  printf("F_SETFD FD_CLOEXEC: F_GETFD=%d, dup unaffected=%d\n", fcntl(fd, F_GETFD),
         fcntl(d10, F_GETFD));
  printf("F_GETFD on closed: %s\n", fcntl(-5, F_GETFD) < 0 ? errno_name(errno) : "ok?");

  /* Exec ourselves: the cloexec fd must be gone, the plain dup must survive. */
  char a1[16], a2[16];
  snprintf(a1, sizeof a1, "%d", fd);
  snprintf(a2, sizeof a2, "%d", d10);
  for (int i = 0; i < 2; i++) {
    printf("exec with %s fd:\n", i == 0 ? "cloexec" : "plain");
    pid_t p = xfork();
    if (p == 0) {
      execl(argv[0], argv[0], "probe", i == 0 ? a1 : a2, (char*)NULL);
      _exit(127);
    }
    printf("  child %s\n", wait_child(p));
  }

  /* A write lock held by us is reported to a child with our pid. */
  struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  CHECK(fcntl(d10, F_SETLK, &lk) == 0);
  pid_t parent = getpid();
  pid_t p = xfork();
  if (p == 0) {
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
    CHECK(fcntl(d10, F_GETLK, &q) == 0);
    printf("child F_GETLK: type=%s start=%lld len=%lld owner=%s\n",
           q.l_type == F_WRLCK ? "F_WRLCK" : "other", (long long)q.l_start, (long long)q.l_len,
           q.l_pid == parent ? "parent" : "other");
    struct flock t = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    printf("child F_SETLK conflicting: %s\n",
           fcntl(d10, F_SETLK, &t) < 0 ? errno_name(errno) : "ok?");
    struct flock u = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5};
    printf("child F_SETLK beyond: %s\n", fcntl(d10, F_SETLK, &u) == 0 ? "ok" : errno_name(errno));
    fflush(stdout);
    _exit(0);
  }
  printf("lock child %s\n", wait_child(p));
  return 0;
}
