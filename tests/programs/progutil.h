/* Helpers shared by the transparency corpus (the .c files of tests/programs).
 *
 * Every program prints a transcript that must be identical natively, under
 * `mosrun -h` and with its body on another node, so nothing here ever prints
 * a pid, an address, a time or an fd number that the kernel chose. Failures
 * go to stderr and exit 1: the transcript then ends in "exit: 1", which the
 * runner reports as a failure. Only libc and POSIX. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CHECK(cond): on failure print what failed (with errno) to stderr, exit 1. */
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
              strerror(errno));                                                                    \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* Symbolic errno names: the text of strerror() is libc's business, the
 * number's name is the kernel's contract. */
static inline const char* errno_name(int e) {
  switch (e) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ESRCH:
      return "ESRCH";
    case EINTR:
      return "EINTR";
    case EBADF:
      return "EBADF";
    case ECHILD:
      return "ECHILD";
    case EAGAIN:
      return "EAGAIN";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EEXIST:
      return "EEXIST";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EINVAL:
      return "EINVAL";
    case ENODEV:
      return "ENODEV";
    case ENOTTY:
      return "ENOTTY";
    case ESPIPE:
      return "ESPIPE";
    case EPIPE:
      return "EPIPE";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case ELOOP:
      return "ELOOP";
    case ENOSYS:
      return "ENOSYS";
    case EMFILE:
      return "EMFILE";
    case ENXIO:
      return "ENXIO";
    case ERANGE:
      return "ERANGE";
    case ENOEXEC:
      return "ENOEXEC";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EMSGSIZE:
      return "EMSGSIZE";
    case ENOTSOCK:
      return "ENOTSOCK";
    case ENOTCONN:
      return "ENOTCONN";
    case EBUSY:
      return "EBUSY";
    case ENOMEM:
      return "ENOMEM";
    case EROFS:
      return "EROFS";
    case E2BIG:
      return "E2BIG";
    case EFBIG:
      return "EFBIG";
    case ENOSPC:
      return "ENOSPC";
    case EXDEV:
      return "EXDEV";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case EADDRINUSE:
      return "EADDRINUSE";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    default:
      return "E?";
  }
}

/* The program's scratch directory: the runner makes a fresh one per run. */
static inline const char* prog_dir(void) {
  const char* d = getenv("MOS_PROG_DIR");
  if (d == NULL || *d == '\0') {
    fprintf(stderr, "MOS_PROG_DIR is not set (run me through tests/programs/run.sh)\n");
    exit(1);
  }
  return d;
}

/* prog_path("x"): MOS_PROG_DIR/x in a static ring of buffers, so a few results
 * can be used in one call. */
static inline const char* prog_path(const char* fmt, ...) {
  static char bufs[8][4096];
  static int next;
  char* b = bufs[next++ % 8];
  int n = snprintf(b, sizeof bufs[0], "%s/", prog_dir());
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b + n, sizeof bufs[0] - (size_t)n, fmt, ap);
  va_end(ap);
  return b;
}

/* Write all of buf or die (pipes and sockets may take it in pieces). */
static inline void write_all(int fd, const void* buf, size_t len) {
  const char* p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    CHECK(n > 0);
    p += n;
    len -= (size_t)n;
  }
}

/* Read exactly len bytes unless EOF comes first; returns the count read. */
static inline size_t read_full(int fd, void* buf, size_t len) {
  char* p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, p + got, len - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    CHECK(n >= 0);
    if (n == 0) {
      break;
    }
    got += (size_t)n;
  }
  return got;
}

/* FNV-1a over a buffer, chained through h (start with FNV_INIT). */
#define FNV_INIT 1469598103934665603ULL
static inline unsigned long long fnv1a(unsigned long long h, const void* buf, size_t len) {
  const unsigned char* p = buf;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* Describe a wait status without pids: "exit 3", "signal SIGKILL", ... */
#include <signal.h>
#include <sys/wait.h>
static inline const char* sig_name(int s) {
  switch (s) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGCHLD:
      return "SIGCHLD";
    case SIGCONT:
      return "SIGCONT";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGTSTP:
      return "SIGTSTP";
    default:
      return "SIG?";
  }
}

static inline const char* status_str(int st) {
  static char buf[64];
  if (WIFEXITED(st)) {
    snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    snprintf(buf, sizeof buf, "signal %s", sig_name(WTERMSIG(st)));
  } else if (WIFSTOPPED(st)) {
    snprintf(buf, sizeof buf, "stopped %s", sig_name(WSTOPSIG(st)));
  } else if (WIFCONTINUED(st)) {
    snprintf(buf, sizeof buf, "continued");
  } else {
    snprintf(buf, sizeof buf, "unknown 0x%x", st);
  }
  return buf;
}

/* Reap one specific child and return its description. */
static inline const char* wait_child(pid_t pid) {
  int st;
  pid_t r;
  do {
    r = waitpid(pid, &st, 0);
  } while (r < 0 && errno == EINTR);
  CHECK(r == pid);
  return status_str(st);
}

/* fork() after flushing stdio, so buffered text is never printed twice. */
static inline pid_t xfork(void) {
  fflush(NULL);
  pid_t p = fork();
  CHECK(p >= 0);
  return p;
}
