#pragma once
// How a forked child tells the process that started it whether it got as far
// as execve, across fork levels and PID namespaces.
//
// One SOCK_SEQPACKET socketpair, both ends close-on-exec. A child that has
// finished its setup sends one "S" message carrying SCM_CREDENTIALS: the
// kernel translates the sender's pid into the reader's PID namespace, which
// is how the starter learns the host pid of a process that was forked inside
// another namespace. A child that fails sends "E<message>" and exits. The
// reader collects until every writer is gone: execve closed the writer of a
// child that made it, exit closed everyone else's.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

#include "common/UniqueFd.h"

namespace mos::common::detail {

class SpawnReport {
 public:
  static std::expected<SpawnReport, std::string> create();

  // Parent side, right after fork: drop our copy of the writer so that EOF
  // means "every child is done".
  void close_writer() { writer_.reset(); }
  // Reads until EOF (or `timeout`). Returns the started child's pid as seen
  // from our PID namespace, or the first error any child reported.
  std::expected<pid_t, std::string> collect(std::chrono::milliseconds timeout);

  // Child side. Both are async-signal-safe apart from message formatting
  // done by the caller beforehand.
  int writer_fd() const { return writer_.get(); }
  void report_started() const;
  void report_error(std::string_view message) const;
  // report_error(what: strerror(err)) and _exit(127).
  [[noreturn]] void fail(std::string_view what, int err) const;

 private:
  UniqueFd reader_;
  UniqueFd writer_;
};

}  // namespace mos::common::detail
