// Forks after the moves: the child computes, the parent waits for it.
#include "mig.h"
#include <sys/wait.h>
int main(void) {
  mig_ready();
  mig_wait_go();
  int p[2];
  pipe(p);
  pid_t c = fork();
  if (c < 0) mig_fail("fork: %s", strerror(errno));
  if (c == 0) {
    unsigned long long x = 0;
    for (int i = 0; i < 1000000; ++i) x = mig_mix(x + i);
    if (write(p[1], &x, sizeof x) != sizeof x) _exit(2);
    _exit(0);
  }
  unsigned long long got = 0, want = 0;
  for (int i = 0; i < 1000000; ++i) want = mig_mix(want + i);
  if (read(p[0], &got, sizeof got) != sizeof got || got != want) mig_fail("child result");
  int st;
  if (waitpid(c, &st, 0) != c || st != 0) mig_fail("status %x", st);
  mig_pass();
}
