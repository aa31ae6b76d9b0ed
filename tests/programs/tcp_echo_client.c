/* The other half of the TCP pair:
 *   tcp_echo_client PORTFILE [LINES [HOST]]
 * waits (up to 30 s) for the server's PORTFILE, connects to HOST (default
 * 127.0.0.1), sends LINES (default 5) numbered lines and prints the echoes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include "progutil.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORTFILE [LINES [HOST]]\n", argv[0]);
    return 2;
  }
  int want = argc > 2 ? atoi(argv[2]) : 5;
  const char* host = argc > 3 ? argv[3] : "127.0.0.1";
  signal(SIGPIPE, SIG_IGN);
  FILE* pf = NULL;
  for (int i = 0; i < 300 && (pf = fopen(argv[1], "r")) == NULL; i++) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
  CHECK(pf != NULL);
  unsigned port = 0;
  CHECK(fscanf(pf, "%u", &port) == 1 && port > 0 && port < 65536);
  fclose(pf);

  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  CHECK(inet_pton(AF_INET, host, &a.sin_addr) == 1);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  CHECK(connect(s, (struct sockaddr*)&a, sizeof a) == 0);
  printf("client: connected\n");
  FILE* in = fdopen(dup(s), "r");
  for (int i = 1; i <= want; i++) {
    char msg[128];
    int len = snprintf(msg, sizeof msg, "line %d of %d: %.*s\n", i, want, i * 3,
                       "abcdefghijklmnopqrstuvwxyz0123456789");
    write_all(s, msg, (size_t)len);
    char buf[512];
    CHECK(fgets(buf, sizeof buf, in) != NULL);
    printf("client got: %s", buf);
  }
  char buf[64];
  printf("client: server closed after the last line: %s\n",
         fgets(buf, sizeof buf, in) == NULL ? "yes" : "no");
  fclose(in);
  close(s);
  return 0;
}
