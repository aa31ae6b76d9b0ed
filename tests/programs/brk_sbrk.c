/* The program break: sbrk growth is usable memory, brk shrinks it back,
 * the break survives fork in the child, and malloc still works after. */
#define _GNU_SOURCE
#include <stdint.h>
#include "progutil.h"

int main(void) {
  /* stdio must not malloc from the heap we are about to cut back. */
  static char outbuf[8192];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  char* start = sbrk(0);
  CHECK(start != (void*)-1);
  char* old = sbrk(1 << 20);
  CHECK(old != (void*)-1);
  char* now = sbrk(0);
  printf("sbrk(1 MiB) returns the old break: %s, grew by %ld\n", old == start ? "yes" : "no",
         (long)(now - start));
  memset(old, 0x5a, 1 << 20);
  unsigned long long h = fnv1a(FNV_INIT, old, 1 << 20);
  printf("new memory usable, fnv=%016llx\n", h);
  for (int i = 0; i < 8; i++) {
    CHECK(sbrk(4096 * 3) != (void*)-1);
  }
  printf("8 more small increments, total growth %ld\n", (long)((char*)sbrk(0) - start));
  pid_t c = xfork();
  if (c == 0) {
    int same = (char*)sbrk(0) == start + (1 << 20) + 8 * 4096 * 3;
    printf("child: same break: %s, same contents: %s\n", same ? "yes" : "no",
           fnv1a(FNV_INIT, old, 1 << 20) == h ? "yes" : "no");
    fflush(stdout);
    _exit(0);
  }
  printf("child %s\n", wait_child(c));
  CHECK(brk(start + 4096) == 0);
  printf("brk back to start+4096: break now start+%ld\n", (long)((char*)sbrk(0) - start));
  printf("first page still holds data: %s\n", (unsigned char)start[100] == 0x5a ? "yes" : "no");
  CHECK(brk(start + (8 << 20)) == 0);
  printf("brk to start+8MiB: break now start+%ld, tail zeroed: %s\n",
         (long)((char*)sbrk(0) - start),
         start[(8 << 20) - 1] == 0 && start[1 << 20] == 0 ? "yes" : "no");
  printf("sbrk negative: previous break matches: %s\n",
         sbrk(-(8 << 20) + 4096) == start + (8 << 20) ? "yes" : "no");
  void* p = malloc(3 << 20);
  CHECK(p != NULL);
  memset(p, 1, 3 << 20);
  free(p);
  printf("malloc after brk games works\n");
  return 0;
}
