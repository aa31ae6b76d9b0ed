/* vfork: the parent is suspended until the child execs or _exits; the
 * child's exec of /bin/echo and of a missing file, and _exit codes. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  fflush(stdout);
  volatile int before_exec = 0;
  pid_t c = vfork();
  if (c == 0) {
    before_exec = 1; /* shared memory until exec: visible to the parent */
    execl("/bin/echo", "echo", "echo from a vforked child", (char*)NULL);
    _exit(127);
  }
  CHECK(c > 0);
  printf("parent resumed after exec, saw child's store: %s\n", before_exec ? "yes" : "no");
  printf("child %s\n", wait_child(c));

  fflush(stdout);
  c = vfork();
  if (c == 0) {
    _exit(9);
  }
  printf("vfork+_exit(9): %s\n", wait_child(c));

  fflush(stdout);
  volatile int err = 0;
  c = vfork();
  if (c == 0) {
    execl("/no/such/binary", "x", (char*)NULL);
    err = errno;
    _exit(126);
  }
  printf("vfork+failed exec: %s, errno seen by parent %s\n", wait_child(c), errno_name(err));

  /* A chain: each vforked child execs sh which runs echo. */
  fflush(stdout);
  c = vfork();
  if (c == 0) {
    execl("/bin/sh", "sh", "-c", "echo sh ran; exit 4", (char*)NULL);
    _exit(127);
  }
  printf("vfork+sh: %s\n", wait_child(c));
  return 0;
}
