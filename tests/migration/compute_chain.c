// A computation running through the moves (a hash chain, checkpointed):
// recomputed afterwards from scratch, every checkpoint agrees.
// mig-route: bounce
#include "mig.h"
static unsigned long long check[4096];
int main(void) {
  unsigned long long x = 1;
  long n = 0, k = 0;
  mig_ready();
  while (!mig_go_now(NULL)) {
    for (int i = 0; i < 200000; ++i) x = mig_mix(x + (unsigned long long)n++);
    if (k < 4096) check[k++] = x;
  }
  unsigned long long y = 1;
  long m = 0;
  for (long j = 0; j < k; ++j) {
    for (int i = 0; i < 200000; ++i) y = mig_mix(y + (unsigned long long)m++);
    if (y != check[j]) mig_fail("checkpoint %ld", j);
  }
  printf("%ld checkpoints\n", k);
  mig_pass();
}
