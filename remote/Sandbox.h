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

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::remote {

struct Body {
  pid_t pid = -1;
  common::UniqueFd pidfd;     // the body's pidfd: exit, signals, pidfd_getfd
  common::UniqueFd listener;  // seccomp user-notification fd
};

// A time namespace's offsets (/proc/PID/timens_offsets): its
// CLOCK_MONOTONIC and CLOCK_BOOTTIME minus the kernel's.
struct TimeOffsets {
  std::int64_t monotonic_ns = 0;
  std::int64_t boottime_ns = 0;
  bool operator==(const TimeOffsets&) const = default;
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
  // A body to be restored from a migration image: under the filter it
  // waits (pause) instead of exec, for the supervisor to seize it and
  // replace its whole memory (remote/detail/Image.h).
  bool restore_stub = false;
  // Bodies in a time namespace of their own with these offsets (a
  // restored body continues its clocks; remote/detail/Clocks.h).
  std::optional<TimeOffsets> time;

  // A guest: a body on another node than its home. It gets namespaces of
  // its own (mount, network, IPC, UTS) with `root` (a tmpfs the supervisor
  // fills with the files exec needs) as its whole file system, no network
  // interface but a downed loopback, the unprivileged uid/gid, no
  // capabilities, and the program's resource limits. It keeps no fd of the
  // supervisor's: every fd the program names is at home.
  struct Guest {
    std::string root;
    uid_t uid = 65534;
    gid_t gid = 65534;
    struct Limit {
      int resource;
      std::uint64_t cur, max;
    };
    std::vector<Limit> rlimits;
  };
  std::optional<Guest> guest;
};

// The PID namespace of a body tree. Its init (PID 1, a child of the
// supervisor) reaps orphaned bodies and reports their status, and sets the
// namespace's last PID so that each body gets its deputy's PID: fork()'s
// return value, getpid() and wait() then agree with no translation.
class BodyNamespace {
 public:
  // Moves the calling process's future children into a new PID namespace
  // (unshare(CLONE_NEWPID)) and starts its init. The caller must be
  // single-threaded. The namespace dies with the caller.
  // Without privileges (euid != 0) and with `spec`, the namespace is made
  // with a user namespace of its own and its init forks the first body
  // (spawn_body with this namespace); see create_unprivileged.
  static std::expected<BodyNamespace, std::string> create(const BodySpec* spec = nullptr);
  // True when the init forks the first body (the unprivileged case): it is
  // then not our child, and its exit comes as one of take_exit()'s.
  bool via_init() const { return via_init_; }
  // The init forks `spec`'s body; its PID as we see it.
  std::expected<pid_t, std::string> spawn_in_namespace();

  // The next PID the namespace hands out will be `pid` (if free).
  std::expected<void, std::string> set_next_pid(pid_t pid);
  // Readable when the init has reaped an orphaned body.
  int fd() const { return sock_.get(); }
  // One reaped orphan: (PID in the namespace, wait status); nothing if none.
  std::optional<std::pair<pid_t, int>> take_exit();
  pid_t init_pid() const { return init_pid_; }

 private:
  struct Record {
    std::int32_t kind;  // 1: reply to set_next_pid (a = errno), 2: exit (a = pid, b = status),
                        // 3: reply to spawn (a = the body's PID inside, b = errno)
    std::int32_t a;
    std::int32_t b;
  };
  std::optional<Record> read_record(bool block);
  std::expected<Record, std::string> ask_init(std::int32_t request);
  static std::expected<BodyNamespace, std::string> create_unprivileged(const BodySpec& spec);
  common::UniqueFd sock_;
  pid_t init_pid_ = -1;
  bool via_init_ = false;
  std::vector<std::pair<pid_t, int>> exits_;
};

// The number of the seccomp listener fd in `pid`'s table, or -1.
int find_listener_fd(pid_t pid);
// The first of its fds whose /proc link reads `kind` ("anon_inode:[userfaultfd]"), or -1.
int find_anon_fd(pid_t pid, const char* kind);

// The PID of `host_pid` inside its innermost PID namespace (NSpid), or -1.
pid_t innermost_pid(pid_t host_pid);

// Forks the body. On return the child is blocked in the sandbox's bootstrap
// syscalls; the caller must serve the listener (the first notifications are
// the body closing its copy of the listener, then execve). The body dies
// with SIGKILL if the calling process dies.
// With `ns` made for the unprivileged case, its init forks the body.
std::expected<Body, std::string> spawn_body(const BodySpec& spec, BodyNamespace* ns = nullptr);

}  // namespace mos::remote
