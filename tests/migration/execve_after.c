// execve after the moves: the new image runs (and checks its argument).
#include "mig.h"
int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "again") == 0) mig_pass();
  mig_ready();
  mig_wait_go();
  char* args[] = {argv[0], "again", NULL};
  execv("/proc/self/exe", args);
  mig_fail("execv: %s", strerror(errno));
}
