/* getrlimit/prlimit of a few limits, lowering a soft limit in a child and
 * seeing its effect (EMFILE at the new RLIMIT_NOFILE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/resource.h>
#include "progutil.h"

static void fmt(char* buf, size_t n, rlim_t v) {
  if (v == RLIM_INFINITY) {
    snprintf(buf, n, "unlimited");
  } else {
    snprintf(buf, n, "%llu", (unsigned long long)v);
  }
}

int main(void) {
  struct {
    int res;
    const char* name;
  } lims[] = {{RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_STACK, "STACK"}, {RLIMIT_CORE, "CORE"},
              {RLIMIT_AS, "AS"},         {RLIMIT_CPU, "CPU"},     {RLIMIT_FSIZE, "FSIZE"}};
  for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
    struct rlimit rl, pl;
    CHECK(getrlimit(lims[i].res, &rl) == 0);
    CHECK(prlimit(0, lims[i].res, NULL, &pl) == 0);
    char s[32], h[32];
    fmt(s, sizeof s, rl.rlim_cur);
    fmt(h, sizeof h, rl.rlim_max);
    printf("%-7s soft=%s hard=%s prlimit agrees: %s\n", lims[i].name, s, h,
           pl.rlim_cur == rl.rlim_cur && pl.rlim_max == rl.rlim_max ? "yes" : "no");
  }
  pid_t c = xfork();
  if (c == 0) {
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rl.rlim_cur = 16;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int opened = 0, last = 0;
    for (int i = 0; i < 64; i++) {
      int fd = open("/dev/null", O_RDONLY);
      if (fd < 0) {
        last = errno;
        break;
      }
      opened++;
      CHECK(fd < 16);
    }
    printf("child with NOFILE=16: opens stop with %s, all fds below 16\n",
           last == EMFILE ? "EMFILE" : errno_name(last));
    printf("dup2 to 20 with NOFILE=16: %s\n", dup2(0, 20) < 0 ? errno_name(errno) : "ok?");
    (void)opened;
    struct rlimit cpu;
    CHECK(getrlimit(RLIMIT_CPU, &cpu) == 0);
    cpu.rlim_max = 1000;
    cpu.rlim_cur = 2000;
    printf("soft above hard: %s\n", setrlimit(RLIMIT_CPU, &cpu) < 0 ? errno_name(errno) : "ok?");
    exit(0);
  }
  printf("child %s\n", wait_child(c));
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  char s[32];
  fmt(s, sizeof s, rl.rlim_cur);
  printf("parent NOFILE unchanged: soft=%s\n", s);
  printf("bad resource: %s\n", getrlimit(999, &rl) < 0 ? errno_name(errno) : "ok?");
  return 0;
}
