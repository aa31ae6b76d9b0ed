/* Death by SIGSEGV raised on purpose (no real fault, no core file).
 * expect-status: killed by SIGSEGV */
#define _GNU_SOURCE
#include <sys/resource.h>
#include "progutil.h"

static volatile sig_atomic_t caught;

static void on_segv(int sig) {
  caught++;
}

int main(void) {
  struct rlimit no_core = {0, 0};
  CHECK(setrlimit(RLIMIT_CORE, &no_core) == 0);
  signal(SIGSEGV, on_segv);
  raise(SIGSEGV);
  printf("first SIGSEGV caught by a handler: %d\n", (int)caught);
  signal(SIGSEGV, SIG_DFL);
  printf("now raising SIGSEGV with the default action\n");
  fflush(stdout);
  raise(SIGSEGV);
  printf("not reached\n");
  return 0;
}
