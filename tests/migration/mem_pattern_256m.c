// 256 MiB of patterned memory (every word), its checksum the same after the moves.
#include "mig.h"
#include <sys/mman.h>
int main(void) {
  const size_t words = (256u << 20) / 8;
  unsigned long long* p = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) mig_fail("mmap");
  unsigned long long sum = 0;
  for (size_t i = 0; i < words; ++i) sum += (p[i] = mig_mix(i));
  mig_ready();
  mig_wait_go();
  unsigned long long again = 0;
  for (size_t i = 0; i < words; ++i) {
    if (p[i] != mig_mix(i)) mig_fail("word %zu changed", i);
    again += p[i];
  }
  if (again != sum) mig_fail("checksum");
  mig_pass();
}
