/* getdents64 directly (small buffer, many calls) and readdir agree:
 * names sorted, d_type of each kind, rewinddir, telldir/seekdir. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "progutil.h"

struct linux_dirent64 {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static char type_char(unsigned char t) {
  switch (t) {
    case DT_REG:
      return 'f';
    case DT_DIR:
      return 'd';
    case DT_LNK:
      return 'l';
    case DT_FIFO:
      return 'p';
    case DT_UNKNOWN:
      return '?';
    default:
      return 'o';
  }
}

int main(void) {
  const char* dir = prog_path("many");
  CHECK(mkdir(dir, 0755) == 0);
  for (int i = 0; i < 60; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/file_%02d_%s", dir, i, i % 3 == 0 ? "with_a_longer_name" : "x");
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
  }
  char p[4200];
  snprintf(p, sizeof p, "%s/subdir", dir);
  CHECK(mkdir(p, 0755) == 0);
  snprintf(p, sizeof p, "%s/link", dir);
  CHECK(symlink("file_00_with_a_longer_name", p) == 0);
  snprintf(p, sizeof p, "%s/pipe", dir);
  CHECK(mkfifo(p, 0644) == 0);

  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK(fd >= 0);
  char* names[128];
  int n = 0, calls = 0;
  char buf[256]; /* forces many getdents64 calls */
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    CHECK(r >= 0);
    if (r == 0) {
      break;
    }
    calls++;
    for (long off = 0; off < r;) {
      struct linux_dirent64* e = (struct linux_dirent64*)(buf + off);
      char* s = malloc(strlen(e->d_name) + 3);
      sprintf(s, "%s %c", e->d_name, type_char(e->d_type));
      CHECK(n < 128);
      names[n++] = s;
      off += e->d_reclen;
    }
  }
  printf("getdents64: %d entries, more than 5 calls: %s\n", n, calls > 5 ? "yes" : "no");
  char tiny[8];
  printf("getdents64 buffer too small: %s\n",
         (lseek(fd, 0, SEEK_SET), syscall(SYS_getdents64, fd, tiny, sizeof tiny)) < 0
             ? errno_name(errno)
             : "ok?");
  qsort(names, (size_t)n, sizeof names[0], cmp);
  for (int i = 0; i < n; i++) {
    printf("  %s\n", names[i]);
  }
  close(fd);

  DIR* d = opendir(dir);
  CHECK(d != NULL);
  int m = 0, same = 1;
  char* rnames[128];
  struct dirent* e;
  long pos5 = -1;
  char at5[256] = "";
  while ((e = readdir(d)) != NULL) {
    if (m == 5) {
      snprintf(at5, sizeof at5, "%s", e->d_name);
    }
    rnames[m++] = strdup(e->d_name);
    if (m == 5) {
      pos5 = telldir(d);
    }
  }
  qsort(rnames, (size_t)m, sizeof rnames[0], cmp);
  for (int i = 0; i < m && i < n; i++) {
    same &= strncmp(rnames[i], names[i], strlen(rnames[i])) == 0;
  }
  printf("readdir: %d entries, same names: %s\n", m, same && m == n ? "yes" : "no");
  seekdir(d, pos5);
  e = readdir(d);
  printf("seekdir/telldir returns to the same entry: %s\n",
         e && strcmp(e->d_name, at5) == 0 ? "yes" : "no");
  rewinddir(d);
  int again = 0;
  while (readdir(d) != NULL) {
    again++;
  }
  printf("after rewinddir: %d entries\n", again);
  closedir(d);
  return 0;
}
