// A MAP_PRIVATE map of a file with some pages changed (copy on write):
// both the changed and the untouched pages keep their bytes.
#include "mig.h"
#include <fcntl.h>
#include <sys/mman.h>
int main(void) {
  int fd = open("/proc/self/exe", O_RDONLY);
  if (fd < 0) mig_fail("open");
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) mig_fail("mmap: %s", strerror(errno));
  char orig[8192];
  if (pread(fd, orig, sizeof orig, 0) != (ssize_t)sizeof orig) mig_fail("pread");
  memset(m + 4096, 'z', 100);
  mig_ready();
  mig_wait_go();
  if (memcmp(m, orig, 4096)) mig_fail("untouched page");
  for (int i = 0; i < 100; ++i) if (m[4096 + i] != 'z') mig_fail("changed page");
  if (memcmp(m + 4196, orig + 4196, 8192 - 4196)) mig_fail("rest of the changed page");
  mig_pass();
}
