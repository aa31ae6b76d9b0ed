// 64 MiB written at random while it moves (what pre-copy's rounds and
// post-copy's faults must get right): every page holds its index and the
// generation of its last write, kept in a table; some pages are dropped
// with MADV_DONTNEED (they must read as zeros after); a 1 MiB area is
// unmapped and mapped again with new contents now and then. Forwarded calls
// (the poll for "go") only every 100 ms: the writing goes on meanwhile.
#include "mig.h"
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#define PAGES 16384
#define SCRATCH (1u << 20)

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int main(void) {
  char* mem = mmap(NULL, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  static uint32_t gen[PAGES];
  if (mem == MAP_FAILED) mig_fail("mmap");
  char* scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (scratch == MAP_FAILED) mig_fail("mmap scratch");
  uint64_t x = 88172645463325252ull;
  uint32_t cycle = 0, writes = 0, drops = 0;
  for (int p = 0; p < PAGES; ++p) {
    uint64_t* w = (uint64_t*)(mem + (size_t)p * 4096);
    gen[p] = 1;
    w[0] = (uint64_t)p << 32 | 1;
    w[511] = (uint64_t)p << 32 | 1;
  }
  memset(scratch, 0, SCRATCH);
  mig_ready();
  uint64_t next_poll = now_ms() + 100;
  for (;;) {
    for (int i = 0; i < 4096; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const int p = (int)(x % PAGES);
      uint64_t* w = (uint64_t*)(mem + (size_t)p * 4096);
      if ((x >> 32) % 64 == 0) {
        if (madvise(w, 4096, MADV_DONTNEED) != 0) mig_fail("madvise");
        gen[p] = 0;
        ++drops;
      } else {
        ++gen[p];
        w[0] = (uint64_t)p << 32 | gen[p];
        w[511] = (uint64_t)p << 32 | gen[p];
        ++writes;
      }
    }
    if (writes % (1u << 18) < 4096) {
      // A new scratch area where the old one was.
      if (munmap(scratch, SCRATCH) != 0) mig_fail("munmap");
      char* again = mmap(scratch, SCRATCH, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (again != scratch) mig_fail("mmap scratch again");
      ++cycle;
      memset(scratch, (int)(cycle & 0xff), SCRATCH);
    }
    if (now_ms() >= next_poll) {
      if (mig_go_now(NULL)) break;
      next_poll = now_ms() + 100;
    }
  }
  for (int p = 0; p < PAGES; ++p) {
    const uint64_t* w = (const uint64_t*)(mem + (size_t)p * 4096);
    const uint64_t want = gen[p] == 0 ? 0 : ((uint64_t)p << 32 | gen[p]);
    if (w[0] != want || w[511] != want)
      mig_fail("page %d holds %llx/%llx, its last write was generation %u", p,
               (unsigned long long)w[0], (unsigned long long)w[511], gen[p]);
    for (int k = 1; k < 511; ++k)
      if (w[k] != 0) mig_fail("page %d word %d is not zero", p, k);
  }
  for (uint32_t i = 0; i < SCRATCH; ++i)
    if ((unsigned char)scratch[i] != (cycle & 0xff)) mig_fail("scratch byte %u after cycle %u", i, cycle);
  printf("%u writes, %u pages dropped, %u scratch cycles\n", writes, drops, cycle);
  mig_pass();
}
