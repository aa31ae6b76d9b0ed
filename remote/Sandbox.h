#pragma once
// Starting a body: a child process under our seccomp filter, whose
// user-notification listener the supervisor holds.
//
// The filter lets `local` syscalls (and the argument-tested fast paths of the
// syscall table) run natively and sends every other syscall, known or not,
// to the listener. The child installs it and then blocks in its first
// trapped syscall, where the supervisor takes the listener from it
// (pidfd_getfd): no fd has to travel through a socket, and nothing runs
// unsupervised between the filter and execve.

#include <sys/types.h>

#include <expected>
#include <string>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::remote {

struct Body {
  pid_t pid = -1;
  common::UniqueFd pidfd;     // the body's pidfd: exit, signals, pidfd_getfd
  common::UniqueFd listener;  // seccomp user-notification fd
};

struct BodySpec {
  std::string path;               // the file executed; argv[0] when empty
  std::vector<std::string> argv;  // as the program sees it
  std::vector<std::string> envp;
  // fds the body keeps at their numbers (the rest are closed before exec);
  // the deputy's fd table mirrors exactly these.
  std::vector<int> keep_fds = {0, 1, 2};
  // CPUs the body may run on (the program's own affinity); empty: inherit.
  std::vector<int> cpus;
};

// Forks the body. On return the child is blocked in the sandbox's bootstrap
// syscalls; the caller must serve the listener (the first notifications are
// the body closing its copy of the listener, then execve). The body dies
// with SIGKILL if the calling process dies.
std::expected<Body, std::string> spawn_body(const BodySpec& spec);

}  // namespace mos::remote
