/* The one threads program: 4 pthreads increment a shared counter under a
 * mutex, a condition variable lines them up, results are joined. On another
 * node than its home, pthread_create fails (remote_expected/). */
#define _GNU_SOURCE
#include <pthread.h>
#include "progutil.h"

enum { kThreads = 4, kIters = 100000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static int go;

static void* worker(void* arg) {
  long id = (long)arg;
  pthread_mutex_lock(&mu);
  ready++;
  pthread_cond_broadcast(&cv);
  while (!go) {
    pthread_cond_wait(&cv, &mu);
  }
  pthread_mutex_unlock(&mu);
  long local = 0;
  for (int i = 0; i < kIters; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
    local += i % 7;
  }
  return (void*)(local + id);
}

int main(void) {
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; i++) {
    int rc = pthread_create(&t[i], NULL, worker, (void*)i);
    if (rc != 0) {
      /* What a body on another node gets (threads run at home only). */
      printf("pthread_create: %s\n", errno_name(rc));
      return 1;
    }
  }
  pthread_mutex_lock(&mu);
  while (ready < kThreads) {
    pthread_cond_wait(&cv, &mu);
  }
  printf("all %d threads ready\n", ready);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < kThreads; i++) {
    void* r;
    CHECK(pthread_join(t[i], &r) == 0);
    printf("thread %d returned %ld\n", i, (long)r);
  }
  printf("counter=%ld expected=%d\n", counter, kThreads * kIters);
  return counter == kThreads * kIters ? 0 : 1;
}
