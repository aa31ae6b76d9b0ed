/* fork+exec+wait chains: we exec ourselves with a depth argument, the
 * deepest level execs /bin/echo; each level reports its child's status. */
#define _GNU_SOURCE
#include "progutil.h"

int main(int argc, char** argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 0;
  printf("%*slevel %d: pid>0 %s, argc=%d\n", depth * 2, "", depth, getpid() > 0 ? "yes" : "no",
         argc);
  if (depth == 3) {
    fflush(stdout);
    execl("/bin/echo", "echo", "   echo at the bottom:", "a", "b c", (char*)NULL);
    perror("execl /bin/echo");
    return 1;
  }
  pid_t p = xfork();
  if (p == 0) {
    char next[16];
    snprintf(next, sizeof next, "%d", depth + 1);
    execl(argv[0], argv[0], next, (char*)NULL);
    _exit(127);
  }
  const char* st = wait_child(p);
  printf("%*slevel %d: child %s\n", depth * 2, "", depth, st);
  /* Failed exec: the child reports ENOENT through its exit status. */
  if (depth == 0) {
    p = xfork();
    if (p == 0) {
      execl("/nonexistent/program", "x", (char*)NULL);
      _exit(errno == ENOENT ? 42 : 1);
    }
    printf("exec of a missing file: child %s\n", wait_child(p));
    p = xfork();
    if (p == 0) {
      execlp("sh", "sh", "-c", "echo via execlp and sh; exit 7", (char*)NULL);
      _exit(127);
    }
    printf("execlp sh: child %s\n", wait_child(p));
    printf("wait with no children: %s\n", wait(NULL) < 0 ? errno_name(errno) : "ok?");
  }
  return depth; /* levels exit 0..2, seen by their parents */
}
