// A 1 GiB area touched every 16 MiB: the holes are not sent, the touched
// pages are there and the rest reads zero.
#include "mig.h"
#include <sys/mman.h>
int main(void) {
  const size_t n = 1ul << 30;
  char* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) mig_fail("mmap");
  for (size_t i = 0; i < n; i += 16 << 20) p[i] = (char)(i >> 24) | 1;
  mig_ready();
  mig_wait_go();
  for (size_t i = 0; i < n; i += 16 << 20) {
    if (p[i] != ((char)(i >> 24) | 1)) mig_fail("touched byte at %zu", i);
    if (p[i + 4096] != 0) mig_fail("hole not zero at %zu", i);
  }
  mig_pass();
}
