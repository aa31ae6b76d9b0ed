/* Parent/child identity without printing pids: the child's getppid() is
 * the parent's getpid(), fork's return value is the child's getpid(), a
 * grandchild's parent is the child, and pids are positive and distinct. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  pid_t me = getpid();
  printf("getpid > 0: %s\n", me > 0 ? "yes" : "no");
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = xfork();
  if (c == 0) {
    pid_t mine = getpid();
    printf("child: getppid == parent's getpid: %s\n", getppid() == me ? "ok" : "MISMATCH");
    printf("child: own pid differs from parent: %s\n", mine != me ? "ok" : "MISMATCH");
    CHECK(write(p[1], &mine, sizeof mine) == sizeof mine);
    fflush(stdout);
    pid_t g = xfork();
    if (g == 0) {
      printf("grandchild: getppid == child's getpid: %s\n", getppid() == mine ? "ok" : "MISMATCH");
      fflush(stdout);
      _exit(0);
    }
    printf("child: grandchild %s\n", wait_child(g));
    fflush(stdout);
    _exit(0);
  }
  pid_t reported;
  CHECK(read_full(p[0], &reported, sizeof reported) == sizeof reported);
  printf("parent: fork returned the child's getpid: %s\n", reported == c ? "ok" : "MISMATCH");
  printf("parent: child %s\n", wait_child(c));
  printf("parent: getppid unchanged and positive: %s\n", getppid() > 0 ? "ok" : "MISMATCH");
  printf("parent: getpgrp/getsid positive: %s\n",
         getpgrp() > 0 && getsid(0) > 0 ? "ok" : "MISMATCH");
  printf("parent: getpgid(0) == getpgrp(): %s\n", getpgid(0) == getpgrp() ? "ok" : "MISMATCH");
  return 0;
}
