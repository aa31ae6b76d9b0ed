// Protections at exact addresses: a guard page (PROT_NONE) faults, a
// read-only page cannot be written, the rest keeps its bytes.
#include "mig.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
static sigjmp_buf jb;
static void segv(int s) { (void)s; siglongjmp(jb, 1); }
static int faults(volatile char* p, int write) {
  if (sigsetjmp(jb, 1)) return 1;
  if (write) *p = 1; else (void)*p;
  return 0;
}
int main(void) {
  char* a = mmap((void*)0x600000000000ULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (a == MAP_FAILED) mig_fail("mmap");
  for (int i = 0; i < 5 * 4096; ++i) a[i] = (char)i;
  mprotect(a + 4096, 4096, PROT_NONE);
  mprotect(a + 3 * 4096, 4096, PROT_READ);
  signal(SIGSEGV, segv);
  mig_ready();
  mig_wait_go();
  if (!faults(a + 4096, 0)) mig_fail("guard page readable");
  if (!faults(a + 3 * 4096, 1)) mig_fail("read-only page writable");
  if (faults(a + 3 * 4096, 0) || faults(a, 1)) mig_fail("a good page faults");
  for (int i = 0; i < 5 * 4096; ++i) {
    if (i / 4096 == 1 || i == 0) continue;
    if (a[i] != (char)i) mig_fail("byte %d", i);
  }
  mig_pass();
}
