/* A named AF_UNIX stream socket in MOS_PROG_DIR: a server child listens,
 * we connect, exchange lines; the socket file is a socket; EADDRINUSE on
 * rebinding; ECONNREFUSED once the listener is gone; abstract names too. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "progutil.h"

static socklen_t make_addr(struct sockaddr_un* a, const char* path, int abstract) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (abstract) {
    snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s", path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
  }
  CHECK(strlen(path) < sizeof a->sun_path);
  strcpy(a->sun_path, path);
  return (socklen_t)sizeof *a;
}

static void round_trip(struct sockaddr_un* a, socklen_t al, const char* label) {
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(ls >= 0);
  CHECK(bind(ls, (struct sockaddr*)a, al) == 0);
  CHECK(listen(ls, 2) == 0);
  pid_t srv = xfork();
  if (srv == 0) {
    int c = accept(ls, NULL, NULL);
    CHECK(c >= 0);
    char buf[128];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] >= 'a' && buf[i] <= 'z') {
          buf[i] = (char)(buf[i] - 'a' + 'A');
        }
      }
      write_all(c, buf, (size_t)n);
    }
    _exit(0);
  }
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(s, (struct sockaddr*)a, al) == 0);
  const char* msgs[] = {"first message", "second"};
  for (int i = 0; i < 2; i++) {
    size_t len = strlen(msgs[i]);
    write_all(s, msgs[i], len);
    char buf[64];
    CHECK(read_full(s, buf, len) == len);
    printf("%s: sent [%s] got [%.*s]\n", label, msgs[i], (int)len, buf);
  }
  close(s);
  printf("%s server %s\n", label, wait_child(srv));
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("%s bind same name while bound: %s\n", label,
         bind(again, (struct sockaddr*)a, al) < 0 ? errno_name(errno) : "ok?");
  close(again);
  close(ls);
}

int main(void) {
  struct sockaddr_un a;
  if (chdir(prog_dir()) != 0) {
    return 1;
  }
  /* A relative name keeps sun_path short however long MOS_PROG_DIR is. */
  socklen_t al = make_addr(&a, "echo.sock", 0);
  round_trip(&a, al, "path");
  struct stat st;
  CHECK(lstat(prog_path("echo.sock"), &st) == 0);
  printf("echo.sock is a socket: %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("connect after listener closed: %s\n",
         connect(s, (struct sockaddr*)&a, al) < 0 ? errno_name(errno) : "ok?");
  close(s);
  CHECK(unlink("echo.sock") == 0);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("connect after unlink: %s\n",
         connect(s, (struct sockaddr*)&a, al) < 0 ? errno_name(errno) : "ok?");
  close(s);

  char name[64];
  snprintf(name, sizeof name, "mos-prog-%ld", (long)getpid()); /* unique, never printed */
  al = make_addr(&a, name, 1);
  round_trip(&a, al, "abstract");
  return 0;
}
