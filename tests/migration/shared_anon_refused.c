// A shared writable mapping: the move is refused (the program is told why)
// and the program runs on untouched.
// mig-expect: refuse
#include "mig.h"
#include <sys/mman.h>
int main(void) {
  char* s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) mig_fail("mmap");
  strcpy(s, "shared");
  mig_ready();
  mig_wait_go();
  if (strcmp(s, "shared")) mig_fail("shared page");
  mig_pass();
}
