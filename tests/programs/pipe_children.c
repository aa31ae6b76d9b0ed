/* Two children joined by a pipe: a producer writes lines, a consumer execs
 * tr to upper-case them onto our stdout; the parent closes its ends. */
#define _GNU_SOURCE
#include "progutil.h"

int main(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t writer = xfork();
  if (writer == 0) {
    close(p[0]);
    for (int i = 1; i <= 5; i++) {
      char line[64];
      int n = snprintf(line, sizeof line, "line %d from the producer\n", i);
      write_all(p[1], line, (size_t)n);
    }
    _exit(0);
  }
  pid_t reader = xfork();
  if (reader == 0) {
    close(p[1]);
    CHECK(dup2(p[0], 0) == 0);
    close(p[0]);
    execlp("tr", "tr", "a-z", "A-Z", (char*)NULL);
    _exit(127);
  }
  close(p[0]);
  close(p[1]);
  /* Wait in a fixed order so the transcript does not depend on timing. */
  const char* ws = wait_child(writer);
  printf("writer %s\n", ws);
  printf("reader %s\n", wait_child(reader));

  /* A second pair: the reader is our own code and counts bytes; the writer
   * gets SIGPIPE once the reader has closed early. */
  CHECK(pipe(p) == 0);
  reader = xfork();
  if (reader == 0) {
    close(p[1]);
    char buf[10];
    size_t n = read_full(p[0], buf, sizeof buf);
    printf("reader2 got %zu bytes then closes\n", n);
    fflush(stdout);
    _exit(0);
  }
  writer = xfork();
  if (writer == 0) {
    close(p[0]);
    signal(SIGPIPE, SIG_DFL);
    char chunk[4096];
    memset(chunk, 'z', sizeof chunk);
    for (;;) {
      if (write(p[1], chunk, sizeof chunk) < 0) {
        _exit(errno == EPIPE ? 3 : 4);
      }
    }
  }
  close(p[0]);
  close(p[1]);
  printf("reader2 %s\n", wait_child(reader));
  printf("writer2 %s\n", wait_child(writer));
  return 0;
}
