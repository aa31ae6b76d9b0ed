// Parent and child move independently (the child to node2, the parent
// around the route); they exchange numbers over two pipes meanwhile.
// mig-extra: node2
#include "mig.h"
#include <sys/wait.h>
int main(void) {
  int up[2], down[2];
  pipe(up);
  pipe(down);
  pid_t c = fork();
  if (c == 0) {
    long v;
    while (read(down[0], &v, sizeof v) == sizeof v && v >= 0) { v = v * 3 + 1; write(up[1], &v, sizeof v); }
    _exit(0);
  }
  int pids[1] = {c};
  mig_ready_pids(1, pids);
  for (long i = 0; i < 400; ++i) {
    long v = i, r;
    write(down[1], &v, sizeof v);
    if (read(up[0], &r, sizeof r) != sizeof r || r != i * 3 + 1) mig_fail("exchange %ld", i);
    usleep(10000);
  }
  long stop = -1;
  write(down[1], &stop, sizeof stop);
  int st;
  if (waitpid(c, &st, 0) != c || st) mig_fail("child %x", st);
  mig_wait_go();
  mig_pass();
}
