/* Directories: mkdir (nested, existing), rmdir (empty, non-empty, missing). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static void try(const char* what, int rc) {
  printf("%-28s %s\n", what, rc == 0 ? "ok" : errno_name(errno));
}

int main(void) {
  try("mkdir d", mkdir(prog_path("d"), 0755));
  try("mkdir d again", mkdir(prog_path("d"), 0755));
  try("mkdir d/e/f (no parent)", mkdir(prog_path("d/e/f"), 0755));
  try("mkdir d/e", mkdir(prog_path("d/e"), 0755));
  try("mkdir d/e/f", mkdir(prog_path("d/e/f"), 0755));
  int fd = open(prog_path("d/file"), O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0);
  close(fd);
  try("mkdir d/file/x (not dir)", mkdir(prog_path("d/file/x"), 0755));
  try("rmdir d (not empty)", rmdir(prog_path("d")));
  try("rmdir d/file (not dir)", rmdir(prog_path("d/file")));
  try("rmdir d/nope", rmdir(prog_path("d/nope")));
  try("mkdirat d/e/g", mkdirat(AT_FDCWD, prog_path("d/e/g"), 0700));
  struct stat st;
  CHECK(stat(prog_path("d/e"), &st) == 0);
  printf("d/e nlink=%lu (2 + subdirs f,g)\n", (unsigned long)st.st_nlink);
  try("rmdir d/e/f", rmdir(prog_path("d/e/f")));
  try("rmdir d/e/g", rmdir(prog_path("d/e/g")));
  try("rmdir d/e", rmdir(prog_path("d/e")));
  try("unlink d/file", unlink(prog_path("d/file")));
  try("rmdir d", rmdir(prog_path("d")));
  try("stat d", stat(prog_path("d"), &st));
  return 0;
}
