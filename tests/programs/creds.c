/* Credentials: uid/euid/gid/egid, getresuid, getgroups count and that
 * getgroups(0) agrees with the list; a child has the same identity. */
#define _GNU_SOURCE
#include <grp.h>
#include "progutil.h"

int main(void) {
  printf("uid=%u euid=%u gid=%u egid=%u\n", (unsigned)getuid(), (unsigned)geteuid(),
         (unsigned)getgid(), (unsigned)getegid());
  uid_t r, e, s;
  CHECK(getresuid(&r, &e, &s) == 0);
  printf("getresuid: real==uid %s, saved==euid %s\n", r == getuid() ? "yes" : "no",
         s == geteuid() ? "yes" : "no");
  gid_t gr, ge, gs;
  CHECK(getresgid(&gr, &ge, &gs) == 0);
  printf("getresgid: real==gid %s\n", gr == getgid() ? "yes" : "no");
  int n = getgroups(0, NULL);
  CHECK(n >= 0);
  gid_t* g = calloc((size_t)n + 1, sizeof *g);
  int m = getgroups(n, g);
  printf("getgroups count=%d, list length agrees: %s\n", n, m == n ? "yes" : "no");
  if (n > 1) {
    printf("getgroups with a too small list: %s\n",
           getgroups(1, g) < 0 ? errno_name(errno) : "ok?");
  }
  pid_t c = xfork();
  if (c == 0) {
    printf("child same uid/gid: %s, same group count: %s\n",
           getuid() == r && getgid() == gr ? "yes" : "no", getgroups(0, NULL) == n ? "yes" : "no");
    exit(0);
  }
  printf("child %s\n", wait_child(c));
  if (geteuid() == 0) {
    /* Drop privileges in a child only; the parent keeps its identity. */
    c = xfork();
    if (c == 0) {
      CHECK(setgroups(0, NULL) == 0);
      CHECK(setgid(65534) == 0 && setuid(65534) == 0);
      printf("child after setuid(65534): uid=%u euid=%u groups=%d\n", (unsigned)getuid(),
             (unsigned)geteuid(), getgroups(0, NULL));
      printf("child cannot go back: %s\n", setuid(0) < 0 ? errno_name(errno) : "ok?");
      exit(0);
    }
    printf("privilege-drop child %s\n", wait_child(c));
  } else {
    printf("child after setuid(65534): skipped (not root)\n");
  }
  printf("parent still uid=%u\n", (unsigned)getuid());
  free(g);
  return 0;
}
