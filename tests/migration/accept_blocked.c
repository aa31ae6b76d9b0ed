// Blocked in accept(2) while it moves; a child connects after 3 s and the
// bytes arrive.
#include "mig.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
int main(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 1) || getsockname(s, (struct sockaddr*)&a, &len)) mig_fail("listen");
  pid_t c = fork();
  if (c == 0) {
    sleep(3);
    int k = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(k, (struct sockaddr*)&a, sizeof a)) _exit(2);
    if (write(k, "hello", 5) != 5) _exit(3);
    _exit(0);
  }
  mig_ready();
  int k = accept(s, NULL, NULL);
  if (k < 0) mig_fail("accept: %s", strerror(errno));
  char b[8] = {0};
  if (read(k, b, 5) != 5 || strcmp(b, "hello")) mig_fail("read '%s'", b);
  int st;
  waitpid(c, &st, 0);
  if (st) mig_fail("child %x", st);
  mig_wait_go();
  mig_pass();
}
