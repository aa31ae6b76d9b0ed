// A program with a second thread: the move is refused, it runs on.
// mig-expect: refuse
#include "mig.h"
#include <pthread.h>
static void* idle(void* a) { (void)a; for (;;) pause(); return NULL; }
int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, idle, NULL)) mig_fail("pthread_create");
  mig_ready();
  mig_wait_go();
  mig_pass();
}
