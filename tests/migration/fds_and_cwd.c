// The program's identity stays home: an open file with its offset, the
// working directory, a pipe to itself.
#include "mig.h"
#include <fcntl.h>
int main(void) {
  int fd = open("/proc/self/exe", O_RDONLY);
  lseek(fd, 100, SEEK_SET);
  if (chdir("/usr") != 0) mig_fail("chdir");
  int p[2];
  pipe(p);
  write(p[1], "kept", 4);
  mig_ready();
  mig_wait_go();
  if (lseek(fd, 0, SEEK_CUR) != 100) mig_fail("offset");
  char cwd[256];
  if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/usr")) mig_fail("cwd '%s'", cwd);
  char b[8] = {0};
  if (read(p[0], b, 4) != 4 || strcmp(b, "kept")) mig_fail("pipe");
  mig_pass();
}
