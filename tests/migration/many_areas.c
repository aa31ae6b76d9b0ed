// 400 small areas with alternating protections and contents.
#include "mig.h"
#include <sys/mman.h>
int main(void) {
  static char* a[400];
  for (int i = 0; i < 400; ++i) {
    a[i] = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a[i] == MAP_FAILED) mig_fail("mmap %d", i);
    memset(a[i], i & 0xff, 8192);
    if (i % 3 == 1) mprotect(a[i], 8192, PROT_READ);
    if (i % 3 == 2) mprotect(a[i], 4096, PROT_READ | PROT_EXEC);
  }
  mig_ready();
  mig_wait_go();
  for (int i = 0; i < 400; ++i)
    for (int j = 0; j < 8192; ++j)
      if (a[i][j] != (char)(i & 0xff)) mig_fail("area %d byte %d", i, j);
  mig_pass();
}
