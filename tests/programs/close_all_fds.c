/* A child closes every descriptor (close_range, falling back to a loop up
 * to RLIMIT_NOFILE), then opens files: it gets 0, 1, 2, ... in order. The
 * child reports through a file, since its stdout is gone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "progutil.h"

static void close_everything(void) {
  if (syscall(SYS_close_range, 0U, ~0U, 0U) == 0) {
    return;
  }
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  for (rlim_t fd = 0; fd < rl.rlim_cur; fd++) {
    close((int)fd);
  }
}

int main(void) {
  pid_t c = xfork();
  if (c == 0) {
    close_everything();
    int got[8];
    char name[64];
    for (int i = 0; i < 5; i++) {
      snprintf(name, sizeof name, "f%d", i);
      got[i] = open(prog_path("%s", name), O_CREAT | O_RDWR, 0644);
    }
    close(got[1]);
    close(got[3]);
    got[5] = open(prog_path("f1"), O_RDONLY); /* lowest free: 1 */
    got[6] = dup(got[0]);                     /* then 3 */
    int p[2];
    if (pipe(p) != 0) {
      _exit(3);
    }
    got[7] = p[0] * 10 + p[1]; /* 5 and 6 */
    int out = open(prog_path("report"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "opens: %d %d %d %d %d\nreopen after closing 1 and 3: %d\ndup: %d\npipe: %d "
                     "%d\nreport fd: %d\n",
                     got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[7] / 10,
                     got[7] % 10, out);
    if (write(out, buf, (size_t)n) != n) {
      _exit(4);
    }
    char probe;
    errno = 0;
    ssize_t r = read(100, &probe, 1);
    n = snprintf(buf, sizeof buf, "read from fd 100: %zd %s\n", r, errno_name(errno));
    if (write(out, buf, (size_t)n) != n) {
      _exit(4);
    }
    _exit(0);
  }
  printf("child %s\n", wait_child(c));
  FILE* f = fopen(prog_path("report"), "r");
  CHECK(f != NULL);
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    fputs(line, stdout);
  }
  fclose(f);
  return 0;
}
