// The heap grown with sbrk: its contents stay, and it grows again after.
#include "mig.h"
int main(void) {
  printf("heap\n");  // stdout's buffer comes from malloc (maybe the heap): first
  fflush(stdout);
  char* base = sbrk(0);
  const size_t n = 8 << 20;
  if (sbrk(n) == (void*)-1) mig_fail("sbrk");
  for (size_t i = 0; i < n; ++i) base[i] = (char)(i * 13);
  char* end = sbrk(0);
  mig_ready();
  mig_wait_go();
  for (size_t i = 0; i < n; ++i) if (base[i] != (char)(i * 13)) mig_fail("heap byte %zu", i);
  if (sbrk(0) != end) mig_fail("break moved");
  char* more = sbrk(1 << 20);
  if (more != end) mig_fail("sbrk after the move");
  memset(more, 1, 1 << 20);
  char* big = malloc(64 << 20);
  if (!big) mig_fail("malloc");
  memset(big, 2, 64 << 20);
  mig_pass();
}
