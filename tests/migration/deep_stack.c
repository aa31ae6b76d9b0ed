// Deep in a recursion (every frame holding data) when it moves; unwinds
// with every frame intact.
#include "mig.h"
static long dive(int d) {
  volatile long frame[32];
  for (int i = 0; i < 32; ++i) frame[i] = d * 32 + i;
  long r = 0;
  if (d == 20000) { mig_ready(); mig_wait_go(); }
  else r = dive(d + 1);
  for (int i = 0; i < 32; ++i) if (frame[i] != d * 32 + i) mig_fail("frame %d", d);
  return r + 1;
}
int main(void) {
  if (dive(0) != 20001) mig_fail("depth");
  mig_pass();
}
