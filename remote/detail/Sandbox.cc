#include "remote/Sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/Files.h"
#include "common/Namespaces.h"
#include "remote/SyscallTable.h"

// Debian 12's headers predate Linux 6.6's sync wake-up flag; the kernel
// here has it (an older kernel answers EINVAL and we carry on without it).
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace mos::remote {
namespace {

std::string errno_text(const char* what, int e) {
  return fmt::format("{}: {}", what, std::strerror(e));
}

// In the child, after fork: builds and loads the filter. Returns the listener
// fd, or -errno. Only async-signal-safe work would be strictly safe here;
// libseccomp allocates, which is fine because the parent is single-threaded
// when it spawns a body.
int install_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
  if (ctx == nullptr) {
    return -ENOMEM;
  }
  int rc = 0;
  for (int nr : local_syscalls()) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0) {
      break;
    }
  }
  for (const LocalFastPath& fp : local_fast_paths()) {
    if (rc < 0) {
      break;
    }
    scmp_compare op = SCMP_CMP_EQ;
    std::uint64_t a = fp.cond.value, b = 0;
    switch (fp.cond.op) {
      case CondOp::kEq:
        op = SCMP_CMP_EQ;
        break;
      case CondOp::kNe:
        op = SCMP_CMP_NE;
        break;
      case CondOp::kMaskedEq:
        op = SCMP_CMP_MASKED_EQ;
        a = fp.cond.mask;
        b = fp.cond.value;
        break;
    }
    scmp_arg_cmp cmp{fp.cond.arg, op, a, b};
    rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, fp.nr, 1, &cmp);
  }
  // Loaded by hand rather than by seccomp_load: libseccomp 2.5.4 cannot ask
  // for WAIT_KILLABLE_RECV. With it, once the supervisor has taken a
  // notification, only a fatal signal interrupts the body's wait: a signal
  // the supervisor delivers while answering (raise, kill of self, a signal
  // passed on by the deputy) then runs its handler when the call returns,
  // instead of cancelling the answer and restarting the call.
  int fd = rc;
  if (rc == 0) {
    fd = -EIO;
    int mem = static_cast<int>(::syscall(SYS_memfd_create, "mos-filter", MFD_CLOEXEC));
    std::vector<sock_filter> insns;
    bool exported = false;
    if (mem >= 0 && seccomp_export_bpf(ctx, mem) == 0) {
      const off_t size = ::lseek(mem, 0, SEEK_END);
      insns.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
      exported = ::pread(mem, insns.data(), insns.size() * sizeof(sock_filter), 0) ==
                 static_cast<ssize_t>(insns.size() * sizeof(sock_filter));
    }
    // Closed before the filter exists: the first trapped call must be the
    // bootstrap close of the listener's copy, nothing else.
    if (mem >= 0) {
      ::close(mem);
    }
    if (exported) {
      sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
      fd = static_cast<int>(::syscall(
          SYS_seccomp, SECCOMP_SET_MODE_FILTER,
          SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog));
      if (fd < 0 && errno == EINVAL) {
        // A kernel before 5.19: signals may then interrupt answered calls.
        fd = static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                        SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
      }
      if (fd < 0) {
        fd = -errno;
      }
    }
  }
  seccomp_release(ctx);
  return fd;
}

// A guest body's own world: namespaces, the staging root as "/", the
// program's limits, then the unprivileged user. Exits 125 if any of it fails
// (a guest must never run with the node's view).
void enter_guest_sandbox(const BodySpec::Guest& g) {
  // A process group of its own under the supervisor: not orphaned, so a
  // stop signal passed on from the deputy (Ctrl-Z at home) stops it as it
  // would stop the program at home (the kernel drops those signals for an
  // orphaned group).
  ::setpgid(0, 0);
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::chdir(g.root.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) {
    ::_exit(125);
  }
  for (const auto& l : g.rlimits) {
    rlimit rl{static_cast<rlim_t>(l.cur), static_cast<rlim_t>(l.max)};
    if (::setrlimit(l.resource, &rl) != 0) {
      // Above our hard limit (no CAP_SYS_RESOURCE): keep the soft value at
      // most at the hard limit we have.
      rlimit have{};
      if (::getrlimit(l.resource, &have) == 0) {
        rl.rlim_max = have.rlim_max;
        rl.rlim_cur = std::min(rl.rlim_cur, have.rlim_max);
        ::setrlimit(l.resource, &rl);
      }
    }
  }
  if (::setgroups(0, nullptr) != 0 || ::setresgid(g.gid, g.gid, g.gid) != 0 ||
      ::setresuid(g.uid, g.uid, g.uid) != 0) {
    ::_exit(125);
  }
}

[[noreturn]] void child(const BodySpec& spec, int parent_pid) {
  // A restore stub's userfaultfd for post-copy, made while still
  // privileged (one the unprivileged body made itself would see only its
  // user-mode faults, not the kernel's own reads of its memory): the
  // supervisor takes it with pidfd_getfd, the restore closes it here.
  int uffd = -1;
  if (spec.restore_stub) {
    uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  }
  if (spec.guest) {
    enter_guest_sandbox(*spec.guest);
  }
  // Die with the supervisor: a body must never run unsupervised. (After the
  // change of user: the kernel clears this setting when credentials change.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Our parent already gone? (In the body namespace a parent outside it
  // reads as 0; an orphan would read as the namespace's init, 1.)
  const pid_t ppid = ::getppid();
  if (ppid != parent_pid && ppid != 0) {
    ::_exit(127);
  }
  // Close everything but the fds the body keeps: the supervisor's own fds
  // must never leak into a program.
  int max_keep = spec.guest ? -1 : 2;
  for (int fd : spec.keep_fds) {
    max_keep = std::max(max_keep, fd);
  }
  for (int fd = spec.guest ? 0 : 3; fd <= max_keep; ++fd) {
    if (fd != uffd &&
        std::find(spec.keep_fds.begin(), spec.keep_fds.end(), fd) == spec.keep_fds.end()) {
      ::close(fd);
    }
  }
  if (uffd > max_keep) {
    if (uffd > max_keep + 1) {
      ::syscall(SYS_close_range, max_keep + 1, uffd - 1, 0);
    }
    ::syscall(SYS_close_range, uffd + 1, ~0u, 0);
  } else {
    ::syscall(SYS_close_range, max_keep + 1, ~0u, 0);
  }
  // Signals: the body starts with default dispositions and an empty mask,
  // as after a plain exec from a shell.
  for (int sig = 1; sig < NSIG; ++sig) {
    ::signal(sig, SIG_DFL);  // fails harmlessly for SIGKILL, SIGSTOP, 32, 33
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (!spec.cpus.empty()) {
    // The supervisor may be pinned next to its deputy; the body is not.
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : spec.cpus) {
      CPU_SET(c, &set);
    }
    ::sched_setaffinity(0, sizeof set, &set);
  }

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.envp)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int listener = install_filter();
  if (listener < 0) {
    ::_exit(126);
  }
  // From here every non-local syscall waits for the supervisor. The first
  // is this close: the supervisor takes the listener while we block in it.
  ::close(listener);
  if (spec.restore_stub) {
    for (;;) {
      ::pause();
    }
  }
  ::execve(spec.path.empty() ? argv[0] : spec.path.c_str(), argv.data(), envp.data());
  ::_exit(127);
}

// The namespace's init: reaps, reports, and sets ns_last_pid on request
// (only a task inside the namespace can: the file acts on the writer's own
// PID namespace).
[[noreturn]] void child(const BodySpec& spec, int parent_pid);

// (For a user without privileges the init also forks the first body: see
// BodyNamespace::create. Request 0 means "spawn `spec`".)
[[noreturn]] void run_init(int sock, const BodySpec* spec) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "mos-body-init");
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int sfd = ::signalfd(-1, &chld, SFD_CLOEXEC);
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      continue;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      (void)!::read(sfd, &si, sizeof si);
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      std::int32_t rec[3] = {2, pid, status};
      (void)!::write(sock, rec, sizeof rec);
    }
    if (fds[0].revents & POLLIN) {
      std::int32_t want = 0;
      if (::read(sock, &want, sizeof want) != sizeof want) {
        ::_exit(0);  // the supervisor is gone: the namespace goes with us
      }
      if (want == 0 && spec != nullptr) {
        const pid_t body = ::fork();
        if (body == 0) {
          ::close(sock);
          ::close(sfd);
          child(*spec, 1);  // our PID in the namespace
        }
        std::int32_t rec[3] = {3, body, body < 0 ? errno : 0};
        (void)!::write(sock, rec, sizeof rec);
        continue;
      }
      std::int32_t rec[3] = {1, 0, 0};
      int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
      std::string text = std::to_string(want - 1);
      if (fd < 0 || ::write(fd, text.data(), text.size()) < 0) {
        rec[1] = errno;
      }
      if (fd >= 0) {
        ::close(fd);
      }
      (void)!::write(sock, rec, sizeof rec);
    } else if (fds[0].revents & (POLLHUP | POLLERR)) {
      ::_exit(0);
    }
  }
}

}  // namespace

// Finds the body's listener fd number: the one whose link names the seccomp
// notification inode.
int find_listener_fd(pid_t pid) {
  return find_anon_fd(pid, "anon_inode:seccomp notify");
}

int find_anon_fd(pid_t pid, const char* kind) {
  std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return -1;
  }
  int found = -1;
  while (dirent* e = ::readdir(d)) {
    char target[64];
    std::string link = dir + "/" + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) {
      continue;
    }
    target[n] = '\0';
    if (std::strcmp(target, kind) == 0) {
      found = std::atoi(e->d_name);
      break;
    }
  }
  ::closedir(d);
  return found;
}

pid_t innermost_pid(pid_t host_pid) {
  const std::string text =
      common::read_text_file(fmt::format("/proc/{}/status", host_pid)).value_or(std::string());
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) == 0) {
      auto pos = line.find_last_of(" \t");
      return pos == std::string::npos ? -1 : std::atoi(line.c_str() + pos + 1);
    }
  }
  return -1;
}

std::expected<BodyNamespace, std::string> BodyNamespace::create(const BodySpec* spec) {
  if (::geteuid() != 0 && spec != nullptr) {
    return create_unprivileged(*spec);
  }
  if (spec != nullptr && spec->time) {
    // Our children's time namespace, its offsets set before any enters.
    if (auto r = common::new_time_namespace_for_children(spec->time->monotonic_ns,
                                                         spec->time->boottime_ns);
        !r) {
      return std::unexpected(r.error());
    }
  }
  if (::unshare(CLONE_NEWPID) != 0) {
    return std::unexpected(errno_text("unshare(CLONE_NEWPID)", errno));
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return std::unexpected(errno_text("socketpair", errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    return std::unexpected(errno_text("fork (body namespace init)", errno));
  }
  if (pid == 0) {
    ::close(sv[0]);
    run_init(sv[1], nullptr);
  }
  ::close(sv[1]);
  BodyNamespace ns;
  ns.sock_.reset(sv[0]);
  ns.init_pid_ = pid;
  return ns;
}

// Without privileges a PID namespace needs a user namespace that owns it.
// Only its init is inside (created by clone with both): we stay outside,
// where we may still take fds from the deputy (same user namespace), and as
// the user namespace's owner we keep every right over the bodies in it
// (reading their memory, taking their listener). The init forks the first
// body; its later bodies are forked by the bodies themselves. Inside, the
// user is itself (uid and gid mapped to themselves), so files and signals
// see the same ids; the capabilities the init holds there (for
// ns_last_pid) are gone from a body at its exec.
std::expected<BodyNamespace, std::string> BodyNamespace::create_unprivileged(const BodySpec& spec) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return std::unexpected(errno_text("socketpair", errno));
  }
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  const pid_t pid = static_cast<pid_t>(
      ::syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (pid < 0) {
    const int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return std::unexpected(
        errno_text("clone(CLONE_NEWUSER | CLONE_NEWPID) (unprivileged user "
                   "namespaces disabled?)",
                   e));
  }
  if (pid == 0) {
    ::close(sv[0]);
    char go = 0;
    if (::read(sv[1], &go, 1) != 1 || go != 1) {
      ::_exit(0);  // no id maps: nothing may run here
    }
    run_init(sv[1], &spec);
  }
  ::close(sv[1]);
  BodyNamespace ns;
  ns.sock_.reset(sv[0]);
  ns.init_pid_ = pid;
  ns.via_init_ = true;
  auto put = [&](const char* file, const std::string& text) {
    const std::string path = fmt::format("/proc/{}/{}", pid, file);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    const bool ok =
        fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int e = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    errno = e;
    return ok;
  };
  if (!put("setgroups", "deny") || !put("uid_map", fmt::format("{0} {0} 1", uid)) ||
      !put("gid_map", fmt::format("{0} {0} 1", gid))) {
    const int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return std::unexpected(errno_text("writing the body namespace's id maps", e));
  }
  const char go = 1;
  if (::write(ns.sock_.get(), &go, 1) != 1) {
    return std::unexpected(errno_text("starting the body namespace's init", errno));
  }
  return ns;
}

std::expected<pid_t, std::string> BodyNamespace::spawn_in_namespace() {
  auto r = ask_init(0);
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->kind != 3 || r->a <= 0) {
    return std::unexpected(errno_text("fork (first body)", r->kind == 3 ? r->b : EPROTO));
  }
  // Its PID as we see it: the init's child whose innermost PID it is.
  std::istringstream kids(
      common::read_text_file(fmt::format("/proc/{0}/task/{0}/children", init_pid_))
          .value_or(std::string()));
  for (pid_t p; kids >> p;) {
    if (innermost_pid(p) == r->a) {
      return p;
    }
  }
  return std::unexpected(std::string("the first body vanished at once"));
}

// One request to the init and its answer; the exit reports that come first
// are kept for take_exit().
std::expected<BodyNamespace::Record, std::string> BodyNamespace::ask_init(std::int32_t request) {
  if (::send(sock_.get(), &request, sizeof request, MSG_NOSIGNAL) != sizeof request) {
    return std::unexpected(errno_text("body namespace init", errno));
  }
  for (;;) {
    auto r = read_record(true);
    if (!r) {
      return std::unexpected(std::string("the body namespace's init is gone"));
    }
    if (r->kind != 2) {
      return *r;
    }
    exits_.emplace_back(r->a, r->b);
  }
}

std::optional<BodyNamespace::Record> BodyNamespace::read_record(bool block) {
  Record r{};
  ssize_t n = ::recv(sock_.get(), &r, sizeof r, block ? 0 : MSG_DONTWAIT);
  if (n != sizeof r) {
    return std::nullopt;
  }
  return r;
}

std::expected<void, std::string> BodyNamespace::set_next_pid(pid_t pid) {
  auto r = ask_init(pid);
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->a != 0) {
    return std::unexpected(errno_text("ns_last_pid", r->a));
  }
  return {};
}

std::optional<std::pair<pid_t, int>> BodyNamespace::take_exit() {
  while (auto r = read_record(false)) {
    if (r->kind == 2) {
      exits_.emplace_back(r->a, r->b);
    }
  }
  if (exits_.empty()) {
    return std::nullopt;
  }
  auto e = exits_.front();
  exits_.erase(exits_.begin());
  return e;
}

std::expected<Body, std::string> spawn_body(const BodySpec& spec, BodyNamespace* ns) {
  if (spec.argv.empty()) {
    return std::unexpected(std::string("no program to run"));
  }
  const bool ours = ns == nullptr || !ns->via_init();
  pid_t pid = -1;
  if (ours) {
    const int parent = ::getpid();
    pid = ::fork();
    if (pid < 0) {
      return std::unexpected(errno_text("fork", errno));
    }
    if (pid == 0) {
      child(spec, parent);
    }
  } else {
    auto p = ns->spawn_in_namespace();
    if (!p) {
      return std::unexpected(p.error());
    }
    pid = *p;
  }
  Body body;
  body.pid = pid;
  body.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!body.pidfd) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return std::unexpected(errno_text("pidfd_open", e));
  }
  // Wait (bounded) for the child to install its filter and block in its
  // first trapped syscall, then take the listener.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pollfd gone{body.pidfd.get(), POLLIN, 0};
    if (!ours && ::poll(&gone, 1, 0) == 1) {
      return std::unexpected(
          std::string("the body died while starting (its sandbox could not be set up)"));
    }
    if (ours && ::waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 125) {
        return std::unexpected(
            std::string("cannot build the guest sandbox (namespaces, root, user)"));
      }
      return std::unexpected(
          WIFEXITED(status) && WEXITSTATUS(status) == 126
              ? std::string("cannot install the seccomp filter (kernel without user notification?)")
              : fmt::format("the body died while starting (status {:#x})", status));
    }
    int fd = find_listener_fd(pid);
    if (fd >= 0) {
      body.listener.reset(static_cast<int>(::syscall(SYS_pidfd_getfd, body.pidfd.get(), fd, 0)));
      if (!body.listener) {
        int e = errno;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return std::unexpected(errno_text("pidfd_getfd (listener)", e));
      }
      ::fcntl(body.listener.get(), F_SETFD, FD_CLOEXEC);
      // Wake the body on the CPU that answers it: a same-CPU wake-up costs a
      // few microseconds, a cross-CPU one tens.
      ::ioctl(body.listener.get(), SECCOMP_IOCTL_NOTIF_SET_FLAGS,
              SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
      return body;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return std::unexpected(std::string("the body did not start within 10 s"));
}

}  // namespace mos::remote
