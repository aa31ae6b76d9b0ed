/* execve of scripts with a #! line: /bin/sh with arguments, an
 * interpreter argument, our own binary as interpreter, a missing
 * interpreter (ENOENT), and a script without the exec bit (EACCES). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include "progutil.h"

static void make(const char* name, const char* text, mode_t mode) {
  int fd = open(prog_path("%s", name), O_CREAT | O_WRONLY | O_TRUNC, mode);
  CHECK(fd >= 0);
  write_all(fd, text, strlen(text));
  CHECK(close(fd) == 0);
  CHECK(chmod(prog_path("%s", name), mode) == 0);
}

static void run(const char* name, char* const args[]) {
  char path[4200];
  snprintf(path, sizeof path, "%s", prog_path("%s", name));
  char* argv[8] = {path};
  int n = 1;
  for (; args && args[n - 1] && n < 7; n++) {
    argv[n] = args[n - 1];
  }
  argv[n] = NULL;
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = xfork();
  if (c == 0) {
    close(p[0]);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    char* envp[] = {"PATH=/usr/bin:/bin", "GREETING=hi from env", NULL};
    execve(path, argv, envp);
    int e = errno;
    CHECK(write(p[1], &e, sizeof e) == sizeof e);
    _exit(127);
  }
  close(p[1]);
  int e = 0;
  ssize_t got = read(p[0], &e, sizeof e);
  close(p[0]);
  printf("%s: exec %s, %s\n", name, got == sizeof e ? errno_name(e) : "ok", wait_child(c));
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "as-interpreter") == 0) {
    /* argv: [self, "as-interpreter", script path, script args...] */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s", argc > 2 ? argv[2] : "?");
    printf("  interpreter got script %s and %d extra args:", basename(tmp), argc - 3);
    for (int i = 3; i < argc; i++) {
      printf(" [%s]", argv[i]);
    }
    printf("\n");
    return 5;
  }
  make("hello.sh",
       "#!/bin/sh\necho \"  sh script: $# args: $*\"\necho \"  GREETING=$GREETING\"\nexit 3\n",
       0755);
  char* a1[] = {"one", "two words", NULL};
  run("hello.sh", a1);
  make("opt.sh", "#!/bin/sh -e\necho '  with interpreter option -e'\nfalse\necho '  not reached'\n",
       0755);
  run("opt.sh", NULL);
  char line[4400];
  snprintf(line, sizeof line, "#!%s as-interpreter\nthis is not shell\n", argv[0]);
  make("self.interp", line, 0755);
  char* a2[] = {"x", "y", NULL};
  run("self.interp", a2);
  make("missing.sh", "#!/no/such/interpreter\n", 0755);
  run("missing.sh", NULL);
  make("noexec.sh", "#!/bin/sh\necho should not run\n", 0644);
  run("noexec.sh", NULL);
  make("noshebang", "echo '  no #! line: execve refuses, the shell would not'\n", 0755);
  run("noshebang", NULL);
  return 0;
}
