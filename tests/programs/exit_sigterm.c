/* Death by SIGTERM: the runner records "killed by SIGTERM".
 * expect-status: killed by SIGTERM */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  /* A handler installed and then reset to default, to make sure the
   * default action (terminate) is what finally happens. */
  signal(SIGTERM, SIG_IGN);
  raise(SIGTERM);
  printf("ignored SIGTERM survived\n");
  signal(SIGTERM, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigprocmask(SIG_BLOCK, &s, NULL);
  raise(SIGTERM);
  printf("blocked SIGTERM is pending, still alive\n");
  fflush(stdout);
  sigprocmask(SIG_UNBLOCK, &s, NULL); /* dies here */
  printf("not reached\n");
  return 0;
}
