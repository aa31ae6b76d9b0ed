// An area grown with mremap before the moves, grown again after.
#include "mig.h"
#include <sys/mman.h>
int main(void) {
  size_t n = 1 << 20;
  char* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(p, 'a', n);
  p = mremap(p, n, 4 * n, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) mig_fail("mremap");
  memset(p + n, 'b', 3 * n);
  mig_ready();
  mig_wait_go();
  for (size_t i = 0; i < 4 * n; ++i) if (p[i] != (i < n ? 'a' : 'b')) mig_fail("byte %zu", i);
  p = mremap(p, 4 * n, 8 * n, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) mig_fail("mremap after");
  memset(p + 4 * n, 'c', 4 * n);
  if (p[0] != 'a' || p[8 * n - 1] != 'c') mig_fail("after grow");
  mig_pass();
}
