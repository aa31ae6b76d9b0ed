/* chdir/fchdir/getcwd, printed relative to MOS_PROG_DIR; relative paths
 * resolve against the cwd; a child inherits it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include "progutil.h"

static char base[PATH_MAX];

static void cwd(const char* label) {
  char buf[PATH_MAX];
  CHECK(getcwd(buf, sizeof buf) != NULL);
  size_t n = strlen(base);
  if (strncmp(buf, base, n) == 0 && (buf[n] == '/' || buf[n] == '\0')) {
    printf("%-18s $DIR%s\n", label, buf + n);
  } else {
    printf("%-18s outside $DIR\n", label);
  }
}

int main(void) {
  CHECK(realpath(prog_dir(), base) != NULL);
  CHECK(chdir(prog_dir()) == 0);
  cwd("chdir dir");
  CHECK(mkdir("a", 0755) == 0 && mkdir("a/b", 0755) == 0 && mkdir("a/b/c", 0755) == 0);
  CHECK(chdir("a/b") == 0);
  cwd("chdir a/b");
  int fd = open("here.txt", O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  close(fd);
  printf("relative create visible as a/b/here.txt: %s\n",
         access(prog_path("a/b/here.txt"), F_OK) == 0 ? "yes" : "no");
  CHECK(chdir("..") == 0);
  cwd("chdir ..");
  int cfd = open("b/c", O_RDONLY | O_DIRECTORY);
  CHECK(cfd >= 0);
  CHECK(fchdir(cfd) == 0);
  cwd("fchdir b/c");
  CHECK(chdir("../../..") == 0);
  cwd("chdir ../../..");
  printf("chdir missing: %s\n", chdir("nope") < 0 ? errno_name(errno) : "ok?");
  printf("chdir to file: %s\n", chdir("a/b/here.txt") < 0 ? errno_name(errno) : "ok?");
  char small[2];
  printf("getcwd tiny buffer: %s\n",
         getcwd(small, sizeof small) == NULL ? errno_name(errno) : "ok?");
  CHECK(chdir("a") == 0);
  pid_t p = xfork();
  if (p == 0) {
    cwd("child inherits");
    CHECK(chdir("b") == 0);
    cwd("child chdir b");
    exit(0);
  }
  printf("child %s\n", wait_child(p));
  cwd("parent unchanged");
  char* g = get_current_dir_name();
  printf("get_current_dir_name agrees: %s\n",
         g && strcmp(g + strlen(base), "/a") == 0 ? "yes" : "no");
  free(g);
  return 0;
}
