// PID, parent PID and the process group are the same after the moves.
#include "mig.h"
int main(void) {
  pid_t me = getpid(), parent = getppid(), group = getpgrp();
  mig_ready();
  mig_wait_go();
  if (getpid() != me || getppid() != parent || getpgrp() != group) mig_fail("ids changed");
  mig_pass();
}
