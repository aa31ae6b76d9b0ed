/* Per-call cost of a few system calls, to compare a native run with a run
 * under mosrun (forwarded to the deputy) in the same benchmark run.
 *
 *   syscall_cost [ITERATIONS]
 *
 * Prints one line per call: name, iterations, nanoseconds per call (median of
 * 5 batches). Files live in $MOS_BENCH_DIR (default: the current directory).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

typedef void (*op_fn)(void);
static int g_pipe[2];
static int g_file4k, g_file1m;
static char* g_buf;

static void op_getppid(void) {
  (void)getppid();
}
static void op_pipe_write_read(void) {
  char c = 'x';
  if (write(g_pipe[1], &c, 1) != 1 || read(g_pipe[0], &c, 1) != 1)
    abort();
}
static void op_read4k(void) {
  if (pread(g_file4k, g_buf, 4096, 0) != 4096)
    abort();
}
static void op_read1m(void) {
  if (pread(g_file1m, g_buf, 1 << 20, 0) != 1 << 20)
    abort();
}

static double measure(op_fn op, long iters) {
  double batches[5];
  for (int b = 0; b < 5; ++b) {
    double t0 = bench_now_ns();
    for (long i = 0; i < iters; ++i)
      op();
    batches[b] = (bench_now_ns() - t0) / iters;
  }
  return bench_median5(batches);
}

static int make_file(const char* dir, const char* name, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    perror(path);
    exit(1);
  }
  memset(g_buf, 'm', size);
  if (write(fd, g_buf, size) != (ssize_t)size) {
    perror("write");
    exit(1);
  }
  unlink(path);
  return fd;
}

int main(int argc, char** argv) {
  long iters = argc > 1 ? atol(argv[1]) : 20000;
  const char* dir = getenv("MOS_BENCH_DIR") ? getenv("MOS_BENCH_DIR") : ".";
  g_buf = malloc(1 << 20);
  if (pipe(g_pipe) != 0) {
    perror("pipe");
    return 1;
  }
  g_file4k = make_file(dir, "bench4k", 4096);
  g_file1m = make_file(dir, "bench1m", 1 << 20);
  struct {
    const char* name;
    op_fn fn;
    long iters;
  } ops[] = {
      {"getppid", op_getppid, iters},
      {"pipe_1B_write+read", op_pipe_write_read, iters / 2},
      {"pread_4KiB", op_read4k, iters / 2},
      {"pread_1MiB", op_read1m, iters / 50 > 10 ? iters / 50 : 10},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; ++i) {
    printf("%-20s %8ld %12.0f\n", ops[i].name, ops[i].iters, measure(ops[i].fn, ops[i].iters));
  }
  return 0;
}
