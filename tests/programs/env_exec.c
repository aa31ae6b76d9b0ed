/* Environment passing: setenv/unsetenv/putenv, then exec a child (ourselves
 * and /usr/bin/env) that sees exactly that; execve with an explicit envp. */
#define _GNU_SOURCE
#include "progutil.h"

extern char** environ;

static void show(const char* who) {
  const char* names[] = {"MOS_TEST_A", "MOS_TEST_B", "MOS_TEST_C", "LC_ALL", "MOS_PROG_DIR"};
  for (int i = 0; i < 5; i++) {
    const char* v = getenv(names[i]);
    if (i == 4) {
      printf("%s: %s=%s\n", who, names[i], v ? "(set)" : "(unset)");
    } else {
      printf("%s: %s=%s\n", who, names[i], v ? v : "(unset)");
    }
  }
}

int main(int argc, char** argv) {
  if (argc > 1) {
    show(argv[1]);
    int n = 0;
    for (char** e = environ; *e; e++) {
      n++;
    }
    if (strcmp(argv[1], "explicit") == 0) {
      printf("explicit: environ has %d entries\n", n);
    }
    return 0;
  }
  show("start");
  CHECK(setenv("MOS_TEST_A", "alpha value with spaces", 1) == 0);
  CHECK(setenv("MOS_TEST_B", "first", 1) == 0);
  CHECK(setenv("MOS_TEST_B", "ignored", 0) == 0);
  static char c_entry[] = "MOS_TEST_C=via putenv";
  CHECK(putenv(c_entry) == 0);
  show("after set");
  pid_t p = xfork();
  if (p == 0) {
    execl(argv[0], argv[0], "exec child", (char*)NULL);
    _exit(127);
  }
  printf("child %s\n", wait_child(p));
  CHECK(unsetenv("MOS_TEST_B") == 0);
  p = xfork();
  if (p == 0) {
    execlp("sh", "sh", "-c", "echo \"sh child: A=$MOS_TEST_A B=${MOS_TEST_B-unset}\"", (char*)NULL);
    _exit(127);
  }
  printf("sh %s\n", wait_child(p));
  p = xfork();
  if (p == 0) {
    char* envp[] = {"MOS_TEST_A=only this", "LC_ALL=C", NULL};
    execve(argv[0], (char*[]){argv[0], "explicit", NULL}, envp);
    _exit(127);
  }
  printf("explicit-envp child %s\n", wait_child(p));
  printf("setenv bad name: %s\n", setenv("A=B", "x", 1) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
