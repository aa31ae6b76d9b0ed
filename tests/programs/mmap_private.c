/* mmap of a file MAP_PRIVATE: reads the content, writes go to a private
 * copy (the file and a fresh mapping are unchanged, a forked child sees
 * the copy as of the fork), and msync/munmap behave. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include "progutil.h"

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  int fd = open(prog_path("data"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  size_t len = (size_t)pg * 2 + 100;
  char* content = malloc(len);
  for (size_t i = 0; i < len; i++) {
    content[i] = (char)('a' + i % 26);
  }
  write_all(fd, content, len);
  char* m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(m != MAP_FAILED);
  printf("mapping matches file: %s\n", memcmp(m, content, len) == 0 ? "yes" : "no");
  printf("first bytes: [%.10s] bytes at page 1: [%.5s]\n", m, m + pg);
  memcpy(m, "PRIVATE", 7);
  memcpy(m + pg, "COPY", 4);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 7, 0) == 7);
  printf("mapping now [%.7s], file still [%s]\n", m, buf);
  char* m2 = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(m2 != MAP_FAILED);
  printf("a second mapping sees the file: [%.7s]\n", m2);
  pid_t c = xfork();
  if (c == 0) {
    printf("child sees private copy: [%.7s]\n", m);
    memcpy(m, "CHILD!!", 7);
    fflush(stdout);
    _exit(0);
  }
  printf("child %s\n", wait_child(c));
  printf("parent copy unaffected by child: [%.7s]\n", m);
  CHECK(msync(m, len, MS_SYNC) == 0);
  CHECK(pread(fd, buf, 7, 0) == 7);
  printf("msync does not write back: [%s]\n", buf);
  /* Past EOF inside the last page reads zeros. */
  printf("tail of last page is zero: %s\n", m2[len] == 0 && m2[pg * 3 - 1] == 0 ? "yes" : "no");
  char* off = mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE, fd, pg);
  CHECK(off != MAP_FAILED);
  printf("mapping at offset one page: [%.5s]\n", off);
  printf("unaligned offset: %s\n",
         mmap(NULL, 10, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED ? errno_name(errno) : "ok?");
  int ro = open(prog_path("data"), O_RDONLY);
  char* rw = mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  printf("private writable map of read-only fd: %s\n", rw != MAP_FAILED ? "ok" : errno_name(errno));
  CHECK(munmap(m, len) == 0 && munmap(m2, len) == 0 && munmap(off, (size_t)pg) == 0);
  close(fd);
  free(content);
  return 0;
}
