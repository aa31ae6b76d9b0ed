// Thread-local storage (through fs base) keeps its address and value.
#include "mig.h"
static __thread unsigned long long tls_value[64];
int main(void) {
  for (int i = 0; i < 64; ++i) tls_value[i] = mig_mix(i);
  void* where = &tls_value[0];
  unsigned long long fs;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
  mig_ready();
  mig_wait_go();
  unsigned long long fs2;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(fs2));
  if (fs != fs2 || where != &tls_value[0]) mig_fail("fs base moved");
  for (int i = 0; i < 64; ++i) if (tls_value[i] != mig_mix(i)) mig_fail("tls %d", i);
  errno = 0;
  if (write(-1, "", 0) != -1 || errno != EBADF) mig_fail("errno (TLS) broken");
  mig_pass();
}
