/* ioctl on a terminal only if isatty; with stdin from a file (as the runner
 * arranges) this prints "not a tty". ioctls that work on any fd are real. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include "progutil.h"

int main(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (isatty(fd)) {
      struct winsize ws;
      struct termios t;
      printf("fd %d: a tty, TIOCGWINSZ %s, tcgetattr %s\n", fd,
             ioctl(fd, TIOCGWINSZ, &ws) == 0 ? "ok" : "failed",
             tcgetattr(fd, &t) == 0 ? "ok" : "failed");
    } else {
      printf("fd %d: not a tty (%s)\n", fd, errno_name(errno));
    }
  }
  int null = open("/dev/null", O_RDWR);
  CHECK(null >= 0);
  struct winsize ws;
  printf("TIOCGWINSZ on /dev/null: %s\n",
         ioctl(null, TIOCGWINSZ, &ws) < 0 ? errno_name(errno) : "ok?");
  struct termios t;
  printf("tcgetattr on /dev/null: %s\n", tcgetattr(null, &t) < 0 ? errno_name(errno) : "ok?");
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "12345", 5) == 5);
  int avail = -1;
  CHECK(ioctl(p[0], FIONREAD, &avail) == 0);
  printf("FIONREAD on a pipe with 5 bytes: %d\n", avail);
  int on = 1;
  CHECK(ioctl(p[0], FIONBIO, &on) == 0);
  printf("FIONBIO sets O_NONBLOCK: %s\n", fcntl(p[0], F_GETFL) & O_NONBLOCK ? "yes" : "no");
  CHECK(ioctl(p[0], FIOCLEX) == 0);
  printf("FIOCLEX sets FD_CLOEXEC: %s\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC ? "yes" : "no");
  printf("bad ioctl request on a pipe: %s\n",
         ioctl(p[0], 0x7fff1234, &on) < 0 ? errno_name(errno) : "ok?");
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
  printf("/dev/tty without a controlling terminal: %s\n", tty < 0 ? "cannot open" : "opened");
  return 0;
}
