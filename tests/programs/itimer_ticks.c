/* setitimer ITIMER_REAL with an interval: count exactly 10 ticks with
 * sigsuspend, check getitimer, then disarm and see no more ticks. */
#define _GNU_SOURCE
#include <sys/time.h>
#include <time.h>
#include "progutil.h"

static volatile sig_atomic_t ticks;

static void on_alrm(int sig) {
  ticks++;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alrm;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, &old);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct itimerval it = {{0, 50000}, {0, 50000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  struct itimerval cur;
  CHECK(getitimer(ITIMER_REAL, &cur) == 0);
  printf("getitimer: interval=%ldus value<=50000us: %s\n", (long)cur.it_interval.tv_usec,
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 50000 ? "yes" : "no");
  while (ticks < 10) {
    sigsuspend(&old);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct itimerval off = {{0, 0}, {0, 0}}, prev;
  CHECK(setitimer(ITIMER_REAL, &off, &prev) == 0);
  sigprocmask(SIG_SETMASK, &old, NULL);
  double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("ticks=%d elapsed>=0.5s: %s\n", (int)ticks, el >= 0.5 - 1e-3 ? "yes" : "no");
  printf("previous timer still had interval %ldus\n", (long)prev.it_interval.tv_usec);
  int before = ticks;
  struct timespec ts = {0, 200000000};
  while (nanosleep(&ts, &ts) != 0) {
  }
  printf("after disarm, new ticks=%d\n", (int)(ticks - before));
  CHECK(getitimer(ITIMER_REAL, &cur) == 0);
  printf("getitimer disarmed: %s\n",
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");

  /* One-shot ITIMER_VIRTUAL on CPU time: burn CPU until SIGVTALRM. */
  signal(SIGVTALRM, on_alrm);
  ticks = 0;
  struct itimerval v = {{0, 0}, {0, 20000}};
  CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL) == 0);
  volatile unsigned long spin = 0;
  while (!ticks) {
    spin++;
  }
  printf("ITIMER_VIRTUAL fired once: %s\n", ticks == 1 ? "yes" : "no");
  return 0;
}
