/* Anonymous memory: mmap/munmap, zero fill, mprotect (a write to a
 * read-only page faults and is caught), mremap grow/move/shrink, MAP_FIXED,
 * madvise(MADV_DONTNEED) zeroes, mincore. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <sys/mman.h>
#include "progutil.h"

static sigjmp_buf jb;
static volatile sig_atomic_t faults;

static void on_segv(int sig, siginfo_t* si, void* uc) {
  faults++;
  siglongjmp(jb, si->si_code == SEGV_ACCERR ? 2 : 1);
}

static const char* try_write(volatile char* p) {
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    *p = 'w';
    return "no fault";
  }
  return r == 2 ? "SIGSEGV (SEGV_ACCERR)" : "SIGSEGV (SEGV_MAPERR)";
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  char* m = mmap(NULL, pg * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  int zero = 1;
  for (size_t i = 0; i < pg * 4; i++) {
    zero &= m[i] == 0;
  }
  printf("fresh anonymous memory is zero: %s\n", zero ? "yes" : "no");
  for (size_t i = 0; i < pg * 4; i++) {
    m[i] = (char)(i * 7);
  }
  unsigned long long h = fnv1a(FNV_INIT, m, pg * 4);
  CHECK(mprotect(m + pg, pg, PROT_READ) == 0);
  printf("write to read-only page: %s\n", try_write(m + pg + 5));
  printf("write to writable page: %s\n", try_write(m + 5));
  m[5] = (char)(5 * 7);
  printf("read-only page still readable, contents intact: %s\n",
         fnv1a(FNV_INIT, m, pg * 4) == h ? "yes" : "no");
  CHECK(mprotect(m + pg, pg, PROT_READ | PROT_WRITE) == 0);
  printf("after mprotect RW: %s\n", try_write(m + pg + 5));
  m[pg + 5] = (char)((pg + 5) * 7);
  CHECK(mprotect(m + 2 * pg, pg, PROT_NONE) == 0);
  printf("write to PROT_NONE page: %s\n", try_write(m + 2 * pg));
  CHECK(mprotect(m + 2 * pg, pg, PROT_READ | PROT_WRITE) == 0);

  char* g = mremap(m, pg * 4, pg * 64, MREMAP_MAYMOVE);
  CHECK(g != MAP_FAILED);
  printf("mremap grow keeps contents: %s, new part zero: %s\n",
         fnv1a(FNV_INIT, g, pg * 4) == h ? "yes" : "no", g[pg * 63] == 0 ? "yes" : "no");
  g[pg * 63] = 1;
  char* s = mremap(g, pg * 64, pg * 2, 0);
  printf("mremap shrink in place: %s\n", s == g ? "yes" : "no");
  printf("access to the cut-off part: %s\n", try_write(g + pg * 10));
  CHECK(munmap(g, pg * 2) == 0);
  printf("access after munmap: %s\n", try_write(g));

  char* base = mmap(NULL, pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(base != MAP_FAILED);
  base[pg] = 'x';
  char* fixed =
      mmap(base + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED lands at the address: %s, replaces contents: %s\n",
         fixed == base + pg ? "yes" : "no", fixed[0] == 0 ? "yes" : "no");
  char* nr =
      mmap(base + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("MAP_FIXED_NOREPLACE on a used range: %s\n",
         nr == MAP_FAILED ? errno_name(errno) : "mapped?");
  base[0] = 'y';
  CHECK(madvise(base, pg, MADV_DONTNEED) == 0);
  printf("MADV_DONTNEED zeroes private anonymous: %s\n", base[0] == 0 ? "yes" : "no");
  unsigned char vec[3];
  base[2 * pg] = 1;
  CHECK(mincore(base, pg * 3, vec) == 0);
  printf("mincore: touched page resident: %s\n", vec[2] & 1 ? "yes" : "no");
  printf("munmap unaligned: %s\n", munmap(base + 1, pg) < 0 ? errno_name(errno) : "ok?");
  printf("mmap length 0: %s\n",
         mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
             ? errno_name(errno)
             : "ok?");
  size_t big = (size_t)64 << 20;
  char* b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(b != MAP_FAILED);
  for (size_t i = 0; i < big; i += pg) {
    b[i] = (char)(i >> 12);
  }
  unsigned long long sum = 0;
  for (size_t i = 0; i < big; i += pg) {
    sum += (unsigned char)b[i];
  }
  printf("64 MiB touched page by page, sum %llu\n", sum);
  CHECK(munmap(b, big) == 0);
  printf("faults caught: %d\n", (int)faults);
  return 0;
}
