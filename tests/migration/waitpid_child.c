// A parent blocked in waitpid while it moves; its child ends with 7.
#include "mig.h"
#include <sys/wait.h>
#include <time.h>
int main(void) {
  pid_t c = fork();
  if (c == 0) {
    sleep(4);
    _exit(7);
  }
  mig_ready();
  int st = 0;
  if (waitpid(c, &st, 0) != c) mig_fail("waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) mig_fail("status %x", st);
  mig_wait_go();
  mig_pass();
}
