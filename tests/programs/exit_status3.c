/* exit(3) after atexit handlers ran in reverse order and stdio flushed.
 * expect-status: exit: 3 */
#define _GNU_SOURCE
#include "progutil.h"

static void first(void) {
  printf("atexit: registered first, runs last\n");
}
static void second(void) {
  printf("atexit: registered second, runs first\n");
}

int main(void) {
  CHECK(atexit(first) == 0);
  CHECK(atexit(second) == 0);
  printf("unflushed text before exit\n");
  pid_t c = xfork();
  if (c == 0) {
    printf("child _exit skips atexit and stdio\n");
    _exit(3); /* the line above is never flushed */
  }
  printf("child %s\n", wait_child(c));
  exit(3);
}
