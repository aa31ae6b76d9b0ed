// A blocked pipe read, its writer (a child) moved to another node: 60 lines
// in order, while both move.
// mig-extra: node2
#include "mig.h"
#include <sys/wait.h>
int main(void) {
  int fd[2];
  if (pipe(fd)) mig_fail("pipe");
  int go[2];
  pipe(go);
  pid_t c = fork();
  if (c == 0) {
    close(fd[0]);
    close(go[1]);
    char x;
    if (read(go[0], &x, 1) != 1) _exit(3);
    FILE* w = fdopen(fd[1], "w");
    for (int i = 0; i < 60; ++i) { fprintf(w, "line %d\n", i); fflush(w); usleep(50000); }
    _exit(0);
  }
  close(fd[1]);
  close(go[0]);
  int pids[1] = {c};
  mig_ready_pids(1, pids);
  if (write(go[1], "x", 1) != 1) mig_fail("start child");
  FILE* r = fdopen(fd[0], "r");
  char line[64];
  for (int i = 0; i < 60; ++i) {
    if (!fgets(line, sizeof line, r)) mig_fail("eof at %d", i);
    char want[64];
    snprintf(want, sizeof want, "line %d\n", i);
    if (strcmp(line, want)) mig_fail("got '%s' for %d", line, i);
  }
  int st;
  if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)) mig_fail("child status %x", st);
  mig_wait_go();
  mig_pass();
}
