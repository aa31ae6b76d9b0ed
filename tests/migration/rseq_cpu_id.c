// glibc's rseq area is registered again after a move: the kernel keeps
// its cpu_id current (sched_getcpu reads it), and it agrees with getcpu.
#include "mig.h"
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
int main(void) {
  if (__rseq_size == 0) { mig_ready(); mig_wait_go(); printf("no rseq in this libc\n"); mig_pass(); }
  struct rseq* rs = (struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
  mig_ready();
  mig_wait_go();
  for (int i = 0; i < 100; ++i) {
    unsigned cpu = 0;
    syscall(SYS_getcpu, &cpu, NULL, NULL);
    int id = (int)rs->cpu_id;
    if (id < 0) mig_fail("rseq cpu_id %d (not registered)", id);
    if ((unsigned)id != cpu) {
      sched_yield();
      continue;  // moved between the two reads
    }
    if (sched_getcpu() < 0) mig_fail("sched_getcpu");
    mig_pass();
  }
  mig_fail("rseq cpu_id never agreed with getcpu");
}
