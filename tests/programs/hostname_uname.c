/* Host identity: /etc/hostname, uname().nodename and gethostname() must all
 * be the home node's, wherever the body runs. Printed verbatim on purpose:
 * the three-way comparison checks they do not change. */
#define _GNU_SOURCE
#include <sys/utsname.h>
#include "progutil.h"

int main(void) {
  FILE* f = fopen("/etc/hostname", "r");
  char line[256] = "";
  if (f == NULL) {
    printf("/etc/hostname: %s\n", errno_name(errno));
  } else {
    if (fgets(line, sizeof line, f) == NULL) {
      line[0] = '\0';
    }
    line[strcspn(line, "\n")] = '\0';
    fclose(f);
    printf("/etc/hostname: %s\n", line);
  }
  struct utsname u;
  CHECK(uname(&u) == 0);
  printf("uname nodename: %s\n", u.nodename);
  printf("uname sysname: %s\n", u.sysname);
  printf("uname machine: %s\n", u.machine);
  char h[256];
  CHECK(gethostname(h, sizeof h) == 0);
  printf("gethostname equals nodename: %s\n", strcmp(h, u.nodename) == 0 ? "yes" : "no");
  if (f != NULL) {
    printf("/etc/hostname equals nodename: %s\n", strcmp(line, u.nodename) == 0 ? "yes" : "no");
  }
  FILE* p = fopen("/proc/sys/kernel/hostname", "r");
  if (p != NULL) {
    char k[256] = "";
    if (fgets(k, sizeof k, p) != NULL) {
      k[strcspn(k, "\n")] = '\0';
    }
    fclose(p);
    printf("/proc/sys/kernel/hostname equals nodename: %s\n",
           strcmp(k, u.nodename) == 0 ? "yes" : "no");
  }
  return 0;
}
