#include "remote/Supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/Log.h"
#include "common/forward.pb.h"
#include "common/session.pb.h"
#include "remote/Marshal.h"
#include "remote/SyscallTable.h"

namespace mos::remote {
namespace {

using common::MsgType;

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions o) : opts_(std::move(o)), link_(std::move(opts_.link)) {}
  int run();

 private:
  struct Answer {
    bool cont = false;       // let the body's kernel run the call
    std::int64_t value = 0;  // else: >= 0 result, < 0 -errno
  };

  Answer handle(const seccomp_notif& n);
  Answer forward(const SyscallEntry& e, const seccomp_notif& n);
  void respond(const seccomp_notif& n, const Answer& a);
  bool serve_link_frame(const common::Frame& f);
  void mirror_fd(const seccomp_notif& n, int fd);
  void mirror_results(const seccomp_notif& n, std::int64_t ret);
  bool cloexec_at_deputy(int fd) const;
  void kill_body() { ::syscall(SYS_pidfd_send_signal, body_.pidfd.get(), SIGKILL, nullptr, 0); }

  SupervisorOptions opts_;
  common::FramedChannel link_;
  Body body_;
  common::UniqueFd deputy_pidfd_;
  SupervisorStats stats_;
  std::uint64_t next_request_ = 1;
  bool link_gone_ = false;
  bool bootstrapped_ = false;  // the body closed its listener copy
};

void Supervisor::respond(const seccomp_notif& n, const Answer& a) {
  seccomp_notif_resp r{};
  r.id = n.id;
  if (a.cont) {
    r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ++stats_.continued;
  } else if (a.value < 0) {
    r.error = static_cast<std::int32_t>(a.value);
  } else {
    r.val = a.value;
  }
  // ENOENT: the body's call was interrupted meanwhile (a signal); its kernel
  // restarts or fails it by the handler's flags.
  if (::ioctl(body_.listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &r) != 0 && errno != ENOENT) {
    MOS_LOG_WARN("supervisor: answering syscall {} failed: {}", n.data.nr, std::strerror(errno));
  }
}

bool Supervisor::cloexec_at_deputy(int fd) const {
  // fdinfo's "flags:" is octal and carries O_CLOEXEC for a close-on-exec fd.
  std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", opts_.deputy_pid, fd));
  std::string key, value;
  while (in >> key) {
    if (key == "flags:" && in >> value) {
      return (std::strtoul(value.c_str(), nullptr, 8) & O_CLOEXEC) != 0;
    }
  }
  return false;
}

// Installs the deputy's `fd` into the body at the same number, replacing
// whatever was there (the deputy's table is the truth).
void Supervisor::mirror_fd(const seccomp_notif& n, int fd) {
  common::UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, deputy_pidfd_.get(), fd, 0)));
  if (!copy) {
    MOS_LOG_WARN("supervisor: cannot take fd {} from the deputy: {}", fd, std::strerror(errno));
    return;
  }
  seccomp_notif_addfd add{};
  add.id = n.id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = static_cast<std::uint32_t>(copy.get());
  add.newfd = static_cast<std::uint32_t>(fd);
  add.newfd_flags = cloexec_at_deputy(fd) ? O_CLOEXEC : 0;
  if (::ioctl(body_.listener.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 && errno != ENOENT) {
    MOS_LOG_WARN("supervisor: cannot mirror fd {} into the body: {}", fd, std::strerror(errno));
  }
}

// After a forwarded call that made fds at the deputy, the body gets mirrors.
void Supervisor::mirror_results(const seccomp_notif& n, std::int64_t ret) {
  if (ret < 0) {
    return;
  }
  const auto& a = n.data.args;
  switch (n.data.nr) {
    case SYS_open:
    case SYS_openat:
    case SYS_openat2:
    case SYS_creat:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_socket:
    case SYS_accept:
    case SYS_accept4:
    case SYS_eventfd:
    case SYS_eventfd2:
    case SYS_epoll_create:
    case SYS_epoll_create1:
    case SYS_timerfd_create:
    case SYS_signalfd:
    case SYS_signalfd4:
    case SYS_inotify_init:
    case SYS_inotify_init1:
    case SYS_memfd_create:
    case SYS_pidfd_open:
      mirror_fd(n, static_cast<int>(ret));
      return;
    case SYS_fcntl:
      if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) {
        mirror_fd(n, static_cast<int>(ret));
      } else if (a[1] == F_SETFD) {
        mirror_fd(n, static_cast<int>(a[0]));  // the close-on-exec flag changed
      }
      return;
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_socketpair: {
      // The two new fds were written into the body's int[2] already.
      int fds[2];
      iovec local{fds, sizeof fds};
      iovec remote{reinterpret_cast<void*>(n.data.nr == SYS_socketpair ? a[3] : a[0]), sizeof fds};
      if (::process_vm_readv(body_.pid, &local, 1, &remote, 1, 0) == sizeof fds) {
        mirror_fd(n, fds[0]);
        mirror_fd(n, fds[1]);
      }
      return;
    }
    default:
      return;
  }
}

Supervisor::Answer Supervisor::forward(const SyscallEntry& e, const seccomp_notif& n) {
  ++stats_.forwarded;
  for (std::size_t i = 0; i < e.nargs; ++i) {
    const ArgKind k = e.args[i].kind;
    if ((k == ArgKind::kFd || k == ArgKind::kDirFd) &&
        std::find(opts_.hidden_fds.begin(), opts_.hidden_fds.end(),
                  static_cast<int>(n.data.args[i])) != opts_.hidden_fds.end()) {
      return {false, -EBADF};
    }
  }
  ProcessMemory mem(body_.pid);
  auto req = marshal_request(e, n.data.args, mem, next_request_++);
  if (!req) {
    return {false, -req.error()};
  }
  // Memory read for a call the body has abandoned (signal, death) is stale.
  if (::ioctl(body_.listener.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) != 0) {
    return {false, -EINTR};
  }
  if (auto r = link_.send(MsgType::kSyscallRequest, *req); !r) {
    link_gone_ = true;
    return {false, -EIO};
  }
  // Wait for the reply; signal requests that come first are served first,
  // so the body's signal is pending when its call ends (ERESTART semantics).
  for (;;) {
    auto f = link_.receive();
    if (!f) {
      link_gone_ = true;
      return {false, -EIO};
    }
    if (f->type == common::to_wire(MsgType::kSyscallReply)) {
      wire::SyscallReply reply;
      if (!common::parse_payload(*f, reply) || reply.id() != req->id()) {
        MOS_LOG_ERROR("supervisor: the deputy sent a reply that is not ours");
        link_gone_ = true;
        return {false, -EIO};
      }
      auto ret = apply_reply(e, n.data.args, reply, mem);
      if (!ret) {
        return {false, -ret.error()};
      }
      mirror_results(n, *ret);
      // close runs natively too: the body's mirror goes with the deputy's fd.
      if ((n.data.nr == SYS_close || n.data.nr == SYS_close_range) && *ret == 0) {
        return {true, 0};
      }
      return {false, *ret};
    }
    if (!serve_link_frame(*f)) {
      link_gone_ = true;
      return {false, -EIO};
    }
  }
}

Supervisor::Answer Supervisor::handle(const seccomp_notif& n) {
  ++stats_.notifications;
  const int nr = n.data.nr;
  if (!bootstrapped_) {
    // The body's first trapped call closes its copy of the listener; then
    // it runs its program (execve), natively.
    if (nr == SYS_close) {
      bootstrapped_ = true;
      return {true, 0};
    }
  }
  if (n.data.arch != AUDIT_ARCH_X86_64) {
    ++stats_.unknown;
    return {false, -ENOSYS};
  }
  const SyscallEntry* e = find_syscall(nr);
  if (e == nullptr) {
    ++stats_.unknown;
    return {false, -ENOSYS};
  }
  switch (e->disposition) {
    case Disposition::kLocal:
      return {true, 0};
    case Disposition::kRefuse:
      ++stats_.refused;
      return {false, -e->refuse_errno};
    case Disposition::kForward:
      return forward(*e, n);
    case Disposition::kSpecial:
      break;
  }
  switch (nr) {
    case SYS_execve:
    case SYS_execveat: {
      // At home the program's files are the node's files: the body's kernel
      // runs the exec; the deputy then drops its close-on-exec fds too.
      wire::ExecDone done;
      ProcessMemory mem(body_.pid);
      if (auto path = mem.read_string(n.data.args[nr == SYS_execveat ? 1 : 0], PATH_MAX)) {
        done.set_path(*path);
      }
      if (bootstrapped_ && !link_.send(MsgType::kExecDone, done)) {
        link_gone_ = true;
      }
      return {true, 0};
    }
    case SYS_exit:
    case SYS_exit_group:
    case SYS_rt_sigaction:
    case SYS_rt_sigreturn:
    case SYS_sigaltstack:
    case SYS_mmap:
    case SYS_mprotect:
    case SYS_munmap:
    case SYS_mremap:
    case SYS_brk:
    case SYS_madvise:
    case SYS_arch_prctl:
    case SYS_set_tid_address:
    case SYS_prctl:
    case SYS_get_robust_list:
    case SYS_seccomp:
    case SYS_shmat:
    case SYS_shmdt:
      // Body-local state, or a file mapping whose fd the body mirrors (at
      // home the SysV segments are the node's own, so shmat runs natively).
      return {true, 0};
    case SYS_sched_setparam:
    case SYS_sched_getparam:
    case SYS_sched_setscheduler:
    case SYS_sched_getscheduler:
    case SYS_sched_rr_get_interval:
    case SYS_sched_setaffinity:
    case SYS_sched_getaffinity:
    case SYS_sched_setattr:
    case SYS_sched_getattr:
    case SYS_migrate_pages:
    case SYS_move_pages:
      // About ourselves (pid 0 or the program's PID): the body's CPU and
      // memory, natively; about another program: at home.
      if (n.data.args[0] == 0 || n.data.args[0] == static_cast<std::uint64_t>(opts_.deputy_pid)) {
        return n.data.args[0] == 0 ? Answer{true, 0} : forward(*e, n);
      }
      return e->args_known ? forward(*e, n) : Answer{false, -ENOSYS};
    case SYS_clone:
    case SYS_clone3:
    case SYS_fork:
    case SYS_vfork:
      // Not yet: a new deputy per child (docs/forwarding.md, "Plan for fork").
      ++stats_.refused;
      return {false, -ENOSYS};
    case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo: {
      // sigqueue to itself: the body gets the signal with the program's
      // siginfo (SI_QUEUE and its value), before the call returns.
      const auto& a = n.data.args;
      if (a[0] != static_cast<std::uint64_t>(opts_.deputy_pid)) {
        return forward(*e, n);
      }
      const int sig = static_cast<int>(a[nr == SYS_rt_tgsigqueueinfo ? 2 : 1]);
      siginfo_t info{};
      iovec local{&info, sizeof info};
      iovec remote{reinterpret_cast<void*>(a[nr == SYS_rt_tgsigqueueinfo ? 3 : 2]), sizeof info};
      if (::process_vm_readv(body_.pid, &local, 1, &remote, 1, 0) != sizeof info) {
        return {false, -EFAULT};
      }
      if (sig <= 0 || sig >= 65 || info.si_code >= 0 || info.si_code == SI_TKILL) {
        return {false, -EPERM};  // what the kernel answers for such a siginfo
      }
      info.si_signo = sig;
      if (::syscall(SYS_pidfd_send_signal, body_.pidfd.get(), sig, &info, 0) != 0) {
        return {false, -errno};
      }
      return {false, 0};
    }
    case SYS_kill:
    case SYS_tgkill:
    case SYS_tkill: {
      // A signal the program sends itself (raise, abort, kill(getpid())) is
      // delivered to the body before the call returns, as the kernel does;
      // others go home, where the PIDs are.
      const auto& a = n.data.args;
      const auto self = static_cast<std::uint64_t>(opts_.deputy_pid);
      // (A single-threaded body: its one thread is the program's PID.)
      const bool to_self = (nr == SYS_kill && a[0] == self) || (nr == SYS_tgkill && a[0] == self) ||
                           (nr == SYS_tkill && a[0] == self);
      if (!to_self) {
        return forward(*e, n);
      }
      const int sig = static_cast<int>(nr == SYS_tgkill ? a[2] : a[1]);
      if (sig < 0 || sig >= 65) {
        return {false, -EINVAL};
      }
      if (sig != 0 && ::syscall(SYS_pidfd_send_signal, body_.pidfd.get(), sig, nullptr, 0) != 0) {
        return {false, -errno};
      }
      return {false, 0};
    }
    default:
      // The rest (itimers, rlimits, rusage, priorities, sigqueueinfo to
      // others, signalfd) belong to the program's identity: the deputy runs
      // them, when the table describes their arguments.
      if (e->args_known) {
        return forward(*e, n);
      }
      ++stats_.refused;
      return {false, -ENOSYS};
  }
}

bool Supervisor::serve_link_frame(const common::Frame& f) {
  if (f.type == common::to_wire(MsgType::kSignalBody)) {
    wire::SignalBody s;
    if (common::parse_payload(f, s) && s.signo() > 0 && s.signo() < 65) {
      ::syscall(SYS_pidfd_send_signal, body_.pidfd.get(), s.signo(), nullptr, 0);
    }
    return true;
  }
  MOS_LOG_WARN("supervisor: unexpected message type {} from the deputy", f.type);
  return true;
}

int Supervisor::run() {
  deputy_pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, opts_.deputy_pid, 0)));
  if (!deputy_pidfd_) {
    wire::BodyFailed failed;
    failed.set_reason(fmt::format("cannot open the deputy: {}", std::strerror(errno)));
    (void)link_.send(MsgType::kBodyFailed, failed);
    return -1;
  }
  auto body = spawn_body(opts_.body);
  if (!body) {
    wire::BodyFailed failed;
    failed.set_reason(body.error());
    (void)link_.send(MsgType::kBodyFailed, failed);
    return -1;
  }
  body_ = std::move(*body);
  wire::BodyStarted started;
  started.set_pid(body_.pid);
  (void)link_.send(MsgType::kBodyStarted, started);

  bool body_exited = false;
  while (!body_exited) {
    if (link_gone_) {
      // No deputy, no program: the body must not outlive its identity.
      kill_body();
    }
    pollfd fds[3] = {{body_.listener.get(), POLLIN, 0},
                     {link_gone_ ? -1 : link_.fd(), POLLIN, 0},
                     {body_.pidfd.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      MOS_LOG_ERROR("supervisor: poll: {}", std::strerror(errno));
      kill_body();
    }
    if (fds[0].revents & POLLIN) {
      seccomp_notif n{};
      if (::ioctl(body_.listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
        respond(n, handle(n));
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto f = link_.receive();
      if (!f || !serve_link_frame(*f)) {
        link_gone_ = true;
      }
    }
    if (fds[2].revents & POLLIN) {
      body_exited = true;
    }
  }
  int status = 0;
  while (::waitpid(body_.pid, &status, 0) < 0 && errno == EINTR) {
  }
  wire::BodyExited exited;
  exited.set_wait_status(status);
  (void)link_.send(MsgType::kBodyExited, exited);
  MOS_LOG_DEBUG(
      "supervisor: {} notifications, {} forwarded, {} run natively, {} refused, {} unknown",
      stats_.notifications, stats_.forwarded, stats_.continued, stats_.refused, stats_.unknown);
  return status;
}

}  // namespace

int run_supervisor(SupervisorOptions options) {
  return Supervisor(std::move(options)).run();
}

}  // namespace mos::remote
