/* stat/fstat/lstat/fstatat: only the fields this program decides (size,
 * type, mode bits, link count, times set with utimensat). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "progutil.h"

static const char* type_of(mode_t m) {
  if (S_ISREG(m))
    return "regular";
  if (S_ISDIR(m))
    return "directory";
  if (S_ISLNK(m))
    return "symlink";
  if (S_ISFIFO(m))
    return "fifo";
  if (S_ISSOCK(m))
    return "socket";
  if (S_ISCHR(m))
    return "chardev";
  return "other";
}

static void show(const char* label, const struct stat* st) {
  printf("%-10s type=%s perm=%04o nlink=%lu", label, type_of(st->st_mode),
         (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink);
  if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) {
    printf(" size=%lld", (long long)st->st_size);
  }
  printf("\n");
}

int main(void) {
  umask(0);
  const char* f = prog_path("f");
  int fd = open(f, O_CREAT | O_RDWR, 0640);
  CHECK(fd >= 0);
  char buf[1234];
  memset(buf, 'x', sizeof buf);
  write_all(fd, buf, sizeof buf);
  struct stat st, st2;
  CHECK(fstat(fd, &st) == 0);
  show("fstat f", &st);
  CHECK(stat(f, &st2) == 0);
  printf("stat and fstat agree on dev/ino: %s\n",
         st.st_dev == st2.st_dev && st.st_ino == st2.st_ino ? "yes" : "no");
  printf("blocks cover size: %s\n", st.st_blocks * 512 >= st.st_size ? "yes" : "no");

  CHECK(fchmod(fd, 04751) == 0);
  CHECK(fstat(fd, &st) == 0);
  show("fchmod", &st);
  CHECK(chmod(f, 0600) == 0);
  CHECK(stat(f, &st) == 0);
  show("chmod", &st);

  CHECK(link(f, prog_path("hard")) == 0);
  CHECK(stat(f, &st) == 0);
  show("linked", &st);
  CHECK(stat(prog_path("hard"), &st2) == 0);
  printf("hard link same inode: %s\n", st.st_ino == st2.st_ino ? "yes" : "no");

  CHECK(symlink("f", prog_path("sym")) == 0);
  CHECK(lstat(prog_path("sym"), &st) == 0);
  show("lstat sym", &st);
  CHECK(stat(prog_path("sym"), &st) == 0);
  show("stat sym", &st);

  struct timespec times[2] = {{1000000000, 0}, {1234567890, 123456789}};
  CHECK(utimensat(AT_FDCWD, f, times, 0) == 0);
  CHECK(stat(f, &st) == 0);
  printf("atime=%lld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

  CHECK(mkdir(prog_path("dir"), 0750) == 0);
  int dfd = open(prog_dir(), O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  CHECK(fstatat(dfd, "dir", &st, 0) == 0);
  show("fstatat", &st);
  CHECK(fstatat(dfd, "sym", &st, AT_SYMLINK_NOFOLLOW) == 0);
  show("nofollow", &st);
  CHECK(mkfifo(prog_path("fifo"), 0604) == 0);
  CHECK(lstat(prog_path("fifo"), &st) == 0);
  show("fifo", &st);
  printf("stat missing: %s\n", stat(prog_path("missing"), &st) == 0 ? "ok?" : errno_name(errno));
  printf("fstat bad fd: %s\n", fstat(-1, &st) == 0 ? "ok?" : errno_name(errno));
  close(dfd);
  close(fd);
  return 0;
}
