/* /proc/self from the program's point of view: status Name:, cmdline
 * (argv[0] by basename), exe basename, the fd directory, and that
 * /proc/self is our own pid. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include "progutil.h"

int main(int argc, char** argv) {
  FILE* f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[512];
  int pid_ok = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "Name:", 5) == 0) {
      printf("status %s", line);
    } else if (strncmp(line, "Pid:", 4) == 0) {
      pid_ok = atoi(line + 4) == getpid();
    } else if (strncmp(line, "PPid:", 5) == 0) {
      printf("status PPid equals getppid: %s\n", atoi(line + 5) == getppid() ? "yes" : "no");
    } else if (strncmp(line, "Threads:", 8) == 0) {
      printf("status %s", line);
    }
  }
  fclose(f);
  printf("status Pid equals getpid: %s\n", pid_ok ? "yes" : "no");

  int fd = open("/proc/self/cmdline", O_RDONLY);
  CHECK(fd >= 0);
  char cmd[4096];
  ssize_t n = read_full(fd, cmd, sizeof cmd);
  close(fd);
  printf("cmdline:");
  for (ssize_t off = 0; off < n; off += (ssize_t)strlen(cmd + off) + 1) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", cmd + off);
    printf(" [%s]", off == 0 ? basename(tmp) : cmd + off);
  }
  printf("\n");

  char exe[4096];
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(n > 0);
  exe[n] = '\0';
  printf("exe basename: %s\n", basename(exe));
  char a0[4096];
  snprintf(a0, sizeof a0, "%s", argv[0]);
  char real[4096];
  printf("exe is argv[0]: %s\n", realpath(a0, real) && strcmp(real, exe) == 0 ? "yes" : "no");

  char self[64];
  n = readlink("/proc/self", self, sizeof self - 1);
  CHECK(n > 0);
  self[n] = '\0';
  printf("/proc/self names getpid: %s\n", atoi(self) == getpid() ? "yes" : "no");

  fd = open("/proc/self/comm", O_RDONLY);
  char comm[64] = {0};
  CHECK(fd >= 0 && read(fd, comm, sizeof comm - 1) > 0);
  close(fd);
  printf("comm: %s", comm);

  /* A file we open shows up in /proc/self/fd pointing at its path. */
  int mine = open(prog_path("marker"), O_CREAT | O_RDWR, 0644);
  CHECK(mine >= 0);
  char lnk[64], target[4096];
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", mine);
  n = readlink(lnk, target, sizeof target - 1);
  CHECK(n > 0);
  target[n] = '\0';
  printf("/proc/self/fd/N -> .../%s\n", basename(target));
  DIR* d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  int found = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    found += atoi(e->d_name) == mine && e->d_name[0] != '.';
  }
  closedir(d);
  printf("fd listed in /proc/self/fd: %s\n", found ? "yes" : "no");
  fd = open("/proc/self/environ", O_RDONLY);
  char env[8192];
  n = read_full(fd, env, sizeof env);
  int has = 0;
  for (ssize_t off = 0; off < n; off += (ssize_t)strlen(env + off) + 1) {
    has |= strncmp(env + off, "MOS_PROG_DIR=", 13) == 0;
  }
  printf("environ has MOS_PROG_DIR: %s\n", has ? "yes" : "no");
  (void)argc;
  return 0;
}
