/* mmap MAP_SHARED of a file: stores are visible to read(), writes through
 * write() are visible in the mapping, a child's stores reach the parent,
 * and the file keeps them after munmap. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include "progutil.h"

int main(void) {
  pid_t c;
  long pg = sysconf(_SC_PAGESIZE);
  int fd = open(prog_path("shared"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(ftruncate(fd, pg * 2) == 0);
  char* m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  /* (A body on another node than its home gets ENODEV here: documented.) */
  printf("shared writable map of a file: %s\n", m == MAP_FAILED ? errno_name(errno) : "ok");
  if (m == MAP_FAILED) {
    goto anonymous;
  }
  printf("new file maps as zeros: %s\n", m[0] == 0 && m[pg * 2 - 1] == 0 ? "yes" : "no");
  memcpy(m, "stored through the mapping", 26);
  char buf[64] = {0};
  CHECK(pread(fd, buf, 26, 0) == 26);
  printf("read() sees: [%s]\n", buf);
  CHECK(pwrite(fd, "WRITTEN", 7, pg) == 7);
  printf("mapping sees pwrite: [%.7s]\n", m + pg);
  c = xfork();
  if (c == 0) {
    memcpy(m + 100, "from the child", 14);
    _exit(0);
  }
  printf("child %s\n", wait_child(c));
  printf("parent sees child's store: [%.14s]\n", m + 100);
  CHECK(msync(m, (size_t)pg * 2, MS_SYNC) == 0);
  CHECK(munmap(m, (size_t)pg * 2) == 0);
  close(fd);
  fd = open(prog_path("shared"), O_RDONLY);
  CHECK(pread(fd, buf, 14, 100) == 14);
  printf("after munmap and reopen: [%.14s]\n", buf);
  int ro = open(prog_path("shared"), O_RDONLY);
  printf("shared writable map of read-only fd: %s\n",
         mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED ? errno_name(errno)
                                                                                 : "ok?");

  /* Anonymous shared memory between parent and child. */
anonymous:;
  int* counter =
      mmap(NULL, sizeof(int) * 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(counter != MAP_FAILED);
  *counter = 40;
  c = xfork();
  if (c == 0) {
    *counter += 2;
    _exit(0);
  }
  wait_child(c);
  printf("anonymous shared counter: %d\n", *counter);
  return 0;
}
