/* Files: create, append, rename, unlink, and a sorted readdir listing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static void list(const char* dir) {
  DIR* d = opendir(dir);
  CHECK(d != NULL);
  char* names[64];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    CHECK(n < 64);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  printf("listing:");
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

static void show(const char* path) {
  char buf[256];
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  CHECK(n >= 0);
  buf[n] = '\0';
  close(fd);
  printf("content of %s: [%s]\n", strrchr(path, '/') + 1, buf);
}

int main(void) {
  const char* dir = prog_path("files");
  CHECK(mkdir(dir, 0755) == 0);
  char a[4096], b[4096], c[4096];
  snprintf(a, sizeof a, "%s/alpha", dir);
  snprintf(b, sizeof b, "%s/beta", dir);
  snprintf(c, sizeof c, "%s/gamma", dir);

  int fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0644);
  CHECK(fd >= 0);
  write_all(fd, "first\n", 6);
  close(fd);
  errno = 0;
  printf("create again with O_EXCL: %s\n",
         open(a, O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 ? errno_name(errno) : "opened?");
  show(a);

  fd = open(a, O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  write_all(fd, "second\n", 7); /* O_APPEND ignores the offset */
  close(fd);
  show(a);

  fd = open(c, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  write_all(fd, "g", 1);
  close(fd);
  list(dir);

  CHECK(rename(a, b) == 0);
  printf("after rename alpha->beta: alpha %s\n",
         access(a, F_OK) == 0 ? "exists" : errno_name(errno));
  show(b);
  list(dir);

  CHECK(rename(c, b) == 0); /* replaces beta atomically */
  show(b);
  list(dir);

  CHECK(unlink(b) == 0);
  printf("unlink again: %s\n", unlink(b) == 0 ? "ok?" : errno_name(errno));
  list(dir);
  CHECK(rmdir(dir) == 0);
  return 0;
}
