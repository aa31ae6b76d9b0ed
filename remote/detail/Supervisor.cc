#include "remote/Supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "common/Files.h"
#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/SessionLink.h"
#include "common/Log.h"
#include "common/forward.pb.h"
#include "common/session.pb.h"
#include "remote/Marshal.h"
#include "remote/SyscallTable.h"
#include "remote/detail/FileCache.h"
#include "remote/detail/ProcView.h"

namespace mos::remote {
namespace {

using common::MsgType;

// A whole /proc file, or "" when it cannot be read (the process is gone).
std::string read_proc(const std::string& path) {
  return common::read_text_file(path).value_or(std::string());
}

// pidfd_open of a thread rather than a process (Linux 6.9; O_EXCL's value).
constexpr unsigned kPidfdThread = 0x80;

// An Answer value meaning "already answered" (fork answers the body itself
// before it registers the child).
constexpr std::int64_t kAnswered = INT64_MIN;

// A forwarded call waiting for its deputy's reply.
struct Pending {
  seccomp_notif notif;
  const SyscallEntry* entry;
  std::uint64_t request_id;
};

// One body of the tree and its deputy.
struct Member {
  pid_t host_pid = -1;     // the body, as this supervisor sees it
  pid_t program_pid = -1;  // its deputy's PID: the program's PID
  common::UniqueFd pidfd;  // the body's
  common::UniqueFd deputy_pidfd;
  std::unique_ptr<common::FramedChannel> link;
  std::vector<int> hidden;   // the deputy's own fds
  int thread_link = -1;      // a thread's: its deputy thread's end (in `hidden` of its process)
  bool our_child = false;    // the first body is our child; the rest are its descendants
  // A thread of a body (clone with CLONE_THREAD, at home): its own deputy
  // thread and link; the process's PID and leader are those below.
  bool is_thread = false;
  pid_t process_pid = -1;       // the program's PID (= program_pid unless a thread)
  pid_t process_host_pid = -1;  // the thread group leader, as we see it
  bool bootstrapped = true;  // the first body starts by closing its listener copy
  bool link_gone = false;
  bool exited = false;        // BodyExited sent
  bool same_pid = false;      // the body's PID in its namespace is program_pid
  bool exec_pending = false;  // an exec was let through; not yet known to have worked
  std::string exec_path;
  std::string exec_auxv;  // before the exec
  // A guest's fds that have a local copy in the body (a file it mapped):
  // closed natively too when the program closes them.
  std::set<int> local_fds;
  // A guest's job-control signal passed on by the deputy: until when to
  // look for the body's stop (it may first have to leave a forwarded call).
  int stop_signal = 0;
  std::chrono::steady_clock::time_point stop_deadline;
  // The forwarded call waiting for its reply (a body has one thread, so at
  // most one).
  std::optional<Pending> pending;
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions o) : opts_(std::move(o)) {}
  int run();

 private:
  struct Answer {
    bool cont = false;       // let the body's kernel run the call
    std::int64_t value = 0;  // else: >= 0 result, < 0 -errno
  };

  Answer handle(Member& m, const seccomp_notif& n);
  Answer forward(Member& m, const SyscallEntry& e, const seccomp_notif& n);
  Answer fork_body(Member& m, const seccomp_notif& n);
  Answer thread_body(Member& m, const seccomp_notif& n);
  void notice(Member& m, const std::string& text);
  std::optional<Answer> proc_view(Member& m, const seccomp_notif& n);
  std::string unstage(std::string text) const;
  bool ask_deputy(Member& m, MsgType type, const google::protobuf::MessageLite& request,
                  MsgType reply_type, google::protobuf::MessageLite& reply);
  Answer guest_exec(Member& m, const seccomp_notif& n);
  Answer guest_mmap(Member& m, const seccomp_notif& n);
  bool install_local_copy(Member& m, const seccomp_notif& n, const detail::CachedFile& f, int fd);
  detail::FileCache::OtherFrame other_frames(Member& m) {
    return [this, &m](const common::Frame& f) { serve_link_frame(m, f); };
  }
  void report_stop(Member& m, int sig);
  bool check_stops();
  bool guest() const { return opts_.guest.has_value(); }
  void complete_forward(Member& m, const wire::SyscallReply& reply);
  void settle_exec(Member& m);
  void respond(const seccomp_notif& n, const Answer& a);
  bool serve_link_frame(Member& m, const common::Frame& f);
  void mirror_fd(Member& m, const seccomp_notif& n, int fd);
  void mirror_results(Member& m, const seccomp_notif& n, std::int64_t ret);
  bool cloexec_at_deputy(const Member& m, int fd) const;
  void body_exited(Member& m, int status);
  void reap_dead_bodies();
  Member* find_member(pid_t host_pid);
  static void kill_body(Member& m) {
    ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), SIGKILL, nullptr, 0);
  }

  SupervisorOptions opts_;
  common::UniqueFd listener_;
  std::optional<BodyNamespace> ns_;
  std::map<pid_t, Member> members_;    // by host pid
  std::map<pid_t, int> orphan_exits_;  // namespace PID -> status, from the init
  SupervisorStats stats_;
  std::optional<detail::FileCache> files_;  // a guest's
  std::uint64_t next_request_ = 1;
  int first_status_ = 0;
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
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &r) != 0 && errno != ENOENT) {
    MOS_LOG_WARN("supervisor: answering syscall {} failed: {}", n.data.nr, std::strerror(errno));
  }
}

bool Supervisor::cloexec_at_deputy(const Member& m, int fd) const {
  // fdinfo's "flags:" is octal and carries O_CLOEXEC for a close-on-exec fd.
  std::istringstream in(read_proc(fmt::format("/proc/{}/fdinfo/{}", m.program_pid, fd)));
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
void Supervisor::mirror_fd(Member& m, const seccomp_notif& n, int fd) {
  common::UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, m.deputy_pidfd.get(), fd, 0)));
  if (!copy) {
    MOS_LOG_WARN("supervisor: cannot take fd {} from the deputy: {}", fd, std::strerror(errno));
    return;
  }
  seccomp_notif_addfd add{};
  add.id = n.id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = static_cast<std::uint32_t>(copy.get());
  add.newfd = static_cast<std::uint32_t>(fd);
  add.newfd_flags = cloexec_at_deputy(m, fd) ? O_CLOEXEC : 0;
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 && errno != ENOENT) {
    MOS_LOG_WARN("supervisor: cannot mirror fd {} into the body: {}", fd, std::strerror(errno));
  }
}

// After a forwarded call that made fds at the deputy, the body gets mirrors.
void Supervisor::mirror_results(Member& m, const seccomp_notif& n, std::int64_t ret) {
  if (ret < 0 || guest()) {
    return;  // a guest's fds are all at home: nothing to mirror
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
      mirror_fd(m, n, static_cast<int>(ret));
      return;
    case SYS_fcntl:
      if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) {
        mirror_fd(m, n, static_cast<int>(ret));
      } else if (a[1] == F_SETFD) {
        mirror_fd(m, n, static_cast<int>(a[0]));  // the close-on-exec flag changed
      }
      return;
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_socketpair: {
      // The two new fds were written into the body's int[2] already.
      int fds[2];
      iovec local{fds, sizeof fds};
      iovec remote{reinterpret_cast<void*>(n.data.nr == SYS_socketpair ? a[3] : a[0]), sizeof fds};
      if (::process_vm_readv(m.host_pid, &local, 1, &remote, 1, 0) == sizeof fds) {
        mirror_fd(m, n, fds[0]);
        mirror_fd(m, n, fds[1]);
      }
      return;
    }
    default:
      return;
  }
}

// Sends the call to the member's deputy and returns at once: the answer
// goes to the body when the reply arrives (complete_forward), so other
// bodies of the tree are served meanwhile (a parent waiting in wait4 must
// not stop its child from running).
Supervisor::Answer Supervisor::forward(Member& m, const SyscallEntry& e, const seccomp_notif& n) {
  ++stats_.forwarded;
  for (std::size_t i = 0; i < e.nargs; ++i) {
    const ArgKind k = e.args[i].kind;
    if ((k == ArgKind::kFd || k == ArgKind::kDirFd) &&
        std::find(m.hidden.begin(), m.hidden.end(), static_cast<int>(n.data.args[i])) !=
            m.hidden.end()) {
      return {false, -EBADF};
    }
  }
  if (m.link_gone) {
    return {false, -EIO};
  }
  // A wait must see every child whose body has died as dead: their deputies
  // are told (and gone) before the parent's deputy waits.
  if (n.data.nr == SYS_wait4 || n.data.nr == SYS_waitid) {
    reap_dead_bodies();
  }
  ProcessMemory mem(m.host_pid);
  auto req = marshal_request(e, n.data.args, mem, next_request_++);
  if (!req && req.error() == EFAULT && n.data.nr == SYS_ioctl) {
    // The request's encoded size runs past readable memory. A driver that
    // does not know the request never reads it (ENOTTY), one that does
    // fails with EFAULT: let the deputy's kernel tell, with a NULL argument.
    std::uint64_t args[6];
    std::copy(std::begin(n.data.args), std::end(n.data.args), args);
    args[2] = 0;
    req = marshal_request(e, args, mem, next_request_++);
  }
  if (!req) {
    return {false, -req.error()};
  }
  // Fds passed in SCM_RIGHTS are the program's: never the deputy's own.
  for (const auto& ptr : req->pointers()) {
    if (ptr.shape() == wire::SHAPE_MSGHDR && !ptr.msghdr().output()) {
      for (int fd : scm_rights_fds(ptr.msghdr().control().data())) {
        if (std::find(m.hidden.begin(), m.hidden.end(), fd) != m.hidden.end()) {
          return {false, -EBADF};
        }
      }
    }
  }
  // Memory read for a call the body has abandoned (signal, death) is stale.
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) != 0) {
    return {false, -EINTR};
  }
  if (auto r = m.link->send(MsgType::kSyscallRequest, *req); !r) {
    m.link_gone = true;
    return {false, -EIO};
  }
  m.pending = Pending{n, &e, req->id()};
  return {false, kAnswered};
}

void Supervisor::complete_forward(Member& m, const wire::SyscallReply& reply) {
  if (!m.pending || reply.id() != m.pending->request_id) {
    MOS_LOG_ERROR("supervisor: the deputy of {} sent a reply that is not ours", m.program_pid);
    m.link_gone = true;
    return;
  }
  const Pending p = *m.pending;
  m.pending.reset();
  ProcessMemory mem(m.host_pid);
  auto ret = apply_reply(*p.entry, p.notif.data.args, reply, mem);
  if (!ret) {
    respond(p.notif, {false, -ret.error()});
    return;
  }
  mirror_results(m, p.notif, *ret);
  if (*ret >= 0 && !guest() && p.notif.data.nr == SYS_recvmsg) {
    // Fds received in SCM_RIGHTS are new in the deputy: mirror them.
    for (const auto& out : reply.outputs()) {
      for (int fd : scm_rights_fds(out.msghdr().control())) {
        mirror_fd(m, p.notif, fd);
      }
    }
  }
  // close runs natively too: the body's mirror goes with the deputy's fd.
  // (A guest has a local copy only of files it mapped; close_range is
  // harmless on numbers it does not have.)
  if (p.notif.data.nr == SYS_close_range && *ret == 0) {
    const auto first = static_cast<unsigned>(p.notif.data.args[0]);
    const auto last = static_cast<unsigned>(p.notif.data.args[1]);
    std::erase_if(m.local_fds, [&](int fd) {
      return static_cast<unsigned>(fd) >= first && static_cast<unsigned>(fd) <= last;
    });
    respond(p.notif, {true, 0});
    return;
  }
  if (p.notif.data.nr == SYS_close && *ret == 0 &&
      (!guest() || m.local_fds.erase(static_cast<int>(p.notif.data.args[0])) > 0)) {
    respond(p.notif, {true, 0});
    return;
  }
  respond(p.notif, {false, *ret});
}

void Supervisor::settle_exec(Member& m) {
  if (!m.exec_pending) {
    return;
  }
  m.exec_pending = false;
  if (read_proc(fmt::format("/proc/{}/auxv", m.host_pid)) == m.exec_auxv) {
    return;  // the exec failed: the old image runs on
  }
  m.local_fds.clear();  // all installed close-on-exec
  wire::ExecDone done;
  done.set_path(m.exec_path);
  if (!m.link->send(MsgType::kExecDone, done)) {
    m.link_gone = true;
  }
}

Supervisor::Answer Supervisor::handle(Member& m, const seccomp_notif& n) {
  ++stats_.notifications;
  const int nr = n.data.nr;
  settle_exec(m);
  if (!m.bootstrapped) {
    // The body's first trapped call closes its copy of the listener; then
    // it runs its program (execve), natively.
    if (nr == SYS_close) {
      m.bootstrapped = true;
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
      if (auto view = proc_view(m, n)) {
        return *view;
      }
      return forward(m, *e, n);
    case Disposition::kSpecial:
      break;
  }
  switch (nr) {
    case SYS_execve:
    case SYS_execveat: {
      if (guest()) {
        return guest_exec(m, n);
      }
      // At home the program's files are the node's files: the body's kernel
      // runs the exec. Whether it succeeded shows at the body's next call
      // (a new image has a new auxiliary vector); then the deputy drops its
      // close-on-exec fds too (not before: a failed exec keeps them).
      ProcessMemory mem(m.host_pid);
      m.exec_path.clear();
      if (auto path = mem.read_string(n.data.args[nr == SYS_execveat ? 1 : 0], PATH_MAX)) {
        m.exec_path = *path;
      }
      m.exec_auxv = read_proc(fmt::format("/proc/{}/auxv", m.host_pid));
      m.exec_pending = true;
      return {true, 0};
    }
    case SYS_mmap:
      if (guest()) {
        return guest_mmap(m, n);
      }
      return {true, 0};
    case SYS_shmat:
      if (guest()) {
        // The segment is the home node's: it cannot be shared with a body
        // elsewhere (docs/forwarding.md, "Shared memory on other nodes").
        MOS_LOG_WARN("guest {}: shmat of a home SysV segment refused (EACCES)", m.program_pid);
        ++stats_.refused;
        return {false, -EACCES};
      }
      return {true, 0};
    case SYS_rt_sigaction:
      if (n.data.args[0] == SIGCHLD && n.data.args[1] != 0) {
        // struct kernel_sigaction: handler, flags, restorer, mask.
        std::uint64_t act[2];
        iovec local{act, sizeof act};
        iovec remote{reinterpret_cast<void*>(n.data.args[1]), sizeof act};
        if (::process_vm_readv(m.host_pid, &local, 1, &remote, 1, 0) == sizeof act) {
          wire::ChildReaping reaping;
          reaping.set_automatic(act[0] == reinterpret_cast<std::uint64_t>(SIG_IGN) ||
                                (act[1] & SA_NOCLDWAIT) != 0);
          if (!m.link_gone && !m.link->send(MsgType::kChildReaping, reaping)) {
            m.link_gone = true;
          }
        }
      }
      return {true, 0};
    case SYS_exit:
    case SYS_exit_group:
    case SYS_rt_sigreturn:
    case SYS_sigaltstack:
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
      // (The body's PID is its deputy's, so "ourselves" runs natively too.)
      if (n.data.args[0] == 0 || n.data.args[0] == static_cast<std::uint64_t>(m.program_pid)) {
        return {true, 0};
      }
      return e->args_known ? forward(m, *e, n) : Answer{false, -ENOSYS};
    case SYS_clone3:
      // glibc falls back to clone when clone3 is missing; clone's flags are
      // in a register, where the filter and we can see them.
      ++stats_.refused;
      return {false, -ENOSYS};
    case SYS_clone:
      if (n.data.args[0] & CLONE_THREAD) {
        if (guest()) {
          // Threads on another node: not yet. clone fails as for a
          // process at its thread limit: pthread_create returns EAGAIN.
          ++stats_.refused;
          notice(m, fmt::format("a thread of pid {} was refused: threads are not supported on "
                                "another node yet (run it at home: mosrun -h)",
                                m.process_pid));
          return {false, -EAGAIN};
        }
        if ((n.data.args[0] & CLONE_VM) == 0) {
          return {false, -EINVAL};  // as the kernel says
        }
        return thread_body(m, n);
      }
      return fork_body(m, n);
    case SYS_fork:
    case SYS_vfork:
      return fork_body(m, n);
    case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo: {
      // sigqueue to itself: the body gets the signal with the program's
      // siginfo (SI_QUEUE and its value), before the call returns.
      const auto& a = n.data.args;
      if (a[0] != static_cast<std::uint64_t>(m.process_pid)) {
        return forward(m, *e, n);
      }
      if (m.same_pid) {
        return {true, 0};
      }
      const int sig = static_cast<int>(a[nr == SYS_rt_tgsigqueueinfo ? 2 : 1]);
      siginfo_t info{};
      iovec local{&info, sizeof info};
      iovec remote{reinterpret_cast<void*>(a[nr == SYS_rt_tgsigqueueinfo ? 3 : 2]), sizeof info};
      if (::process_vm_readv(m.host_pid, &local, 1, &remote, 1, 0) != sizeof info) {
        return {false, -EFAULT};
      }
      if (sig <= 0 || sig >= 65 || info.si_code >= 0 || info.si_code == SI_TKILL) {
        return {false, -EPERM};  // what the kernel answers for such a siginfo
      }
      info.si_signo = sig;
      if (::syscall(SYS_pidfd_send_signal, m.pidfd.get(), sig, &info, 0) != 0) {
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
      const auto self = static_cast<std::uint64_t>(m.process_pid);
      // tkill names a thread: one of this process's (its TIDs are home's).
      bool own_tid = a[0] == static_cast<std::uint64_t>(m.program_pid);
      for (const auto& [hp, other] : members_) {
        own_tid = own_tid || (other.process_host_pid == m.process_host_pid &&
                              a[0] == static_cast<std::uint64_t>(other.program_pid));
      }
      const bool to_self = (nr == SYS_kill && a[0] == self) || (nr == SYS_tgkill && a[0] == self) ||
                           (nr == SYS_tkill && own_tid);
      if (!to_self) {
        // Stopping or continuing another program of this tree: its deputy
        // gets the signal at home (and cannot catch a stop), so its body is
        // stopped or continued here as well.
        const int sig = static_cast<int>(nr == SYS_tgkill ? a[2] : a[1]);
        if (sig == SIGSTOP || sig == SIGCONT || sig == SIGTSTP || sig == SIGTTIN ||
            sig == SIGTTOU) {
          for (auto& [hp, other] : members_) {
            if (static_cast<std::uint64_t>(other.program_pid) == a[0] && !other.exited) {
              ::syscall(SYS_pidfd_send_signal, other.pidfd.get(), sig, nullptr, 0);
            }
          }
        }
        return forward(m, *e, n);
      }
      const int sig = static_cast<int>(nr == SYS_tgkill ? a[2] : a[1]);
      // A stop the program gives itself (raise(SIGSTOP)) stops its deputy
      // too, once the body has stopped: its parent's wait sees it.
      report_stop(m, sig);
      if (m.same_pid) {
        // The body's PID in its namespace is the program's: the kernel
        // delivers to itself, with the siginfo Linux gives (SI_TKILL...).
        return {true, 0};
      }
      if (sig < 0 || sig >= 65) {
        return {false, -EINVAL};
      }
      if (sig != 0 && ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), sig, nullptr, 0) != 0) {
        return {false, -errno};
      }
      return {false, 0};
    }
    default:
      // The rest (itimers, rlimits, rusage, priorities, sigqueueinfo to
      // others, signalfd) belong to the program's identity: the deputy runs
      // them, when the table describes their arguments.
      if (e->args_known) {
        return forward(m, *e, n);
      }
      ++stats_.refused;
      return {false, -ENOSYS};
  }
}

bool Supervisor::serve_link_frame(Member& m, const common::Frame& f) {
  if (f.type == common::to_wire(MsgType::kSyscallReply)) {
    wire::SyscallReply reply;
    if (!common::parse_payload(f, reply)) {
      m.link_gone = true;
      return false;
    }
    complete_forward(m, reply);
    return true;
  }
  if (f.type == common::to_wire(MsgType::kSignalBody)) {
    wire::SignalBody sb;
    if (common::parse_payload(f, sb) && sb.signo() > 0 && sb.signo() < 65) {
      ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), sb.signo(), nullptr, 0);
      report_stop(m, sb.signo());
    }
    return true;
  }
  MOS_LOG_WARN("supervisor: unexpected message type {} from the deputy", f.type);
  return true;
}

// A body stopped by a signal its deputy did not get (a guest body is in no
// process group of its terminal, so the deputy passes job-control signals
// on; any body may stop itself with raise): once it has stopped, its deputy
// is told and stops too, so the shell or the parent's wait sees it stopped.
void Supervisor::report_stop(Member& m, int sig) {
  if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU || sig == SIGSTOP) {
    m.stop_signal = sig;
    m.stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }
}

// Called from the main loop: has a body that was sent a stop signal
// stopped yet? (Not inside report_stop: the body may be waiting for the
// answer to a call the signal interrupted, which the loop has yet to send.)
bool Supervisor::check_stops() {
  bool waiting = false;
  for (auto& [pid, m] : members_) {
    if (m.stop_signal == 0) {
      continue;
    }
    const std::string stat = read_proc(fmt::format("/proc/{}/stat", m.host_pid));
    const auto paren = stat.rfind(')');
    const char state = paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
    if (state == 'T' || state == 't') {
      wire::BodyStopped stopped;
      stopped.set_signo(m.stop_signal);
      if (!m.link_gone && !m.link->send(MsgType::kBodyStopped, stopped)) {
        m.link_gone = true;
      }
      m.stop_signal = 0;
    } else if (state == 0 || std::chrono::steady_clock::now() > m.stop_deadline) {
      m.stop_signal = 0;  // gone, or it caught or ignored the signal
    } else {
      waiting = true;
    }
  }
  return waiting;
}

// Puts a read-only copy of `f` into the body at `fd` (replacing whatever
// copy was there), for the body's own kernel to map or execute.
bool Supervisor::install_local_copy(Member& m, const seccomp_notif& n, const detail::CachedFile& f,
                                    int fd) {
  auto ro = detail::FileCache::read_only(f);
  if (!ro) {
    return false;
  }
  seccomp_notif_addfd add{};
  add.id = n.id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = static_cast<std::uint32_t>(ro->get());
  add.newfd = static_cast<std::uint32_t>(fd);
  add.newfd_flags = O_CLOEXEC;
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
    return false;
  }
  m.local_fds.insert(fd);
  return true;
}

// mmap of a file on a guest: the body's kernel maps a local copy of the
// home file. Private mappings then behave as at home (up to changes made to
// the file at home afterwards, which a private mapping may or may not see
// on Linux either); a shared writable mapping cannot be kept coherent with
// home and is refused with ENODEV (documented), as is shmat with EACCES.
Supervisor::Answer Supervisor::guest_mmap(Member& m, const seccomp_notif& n) {
  const auto& a = n.data.args;
  const int prot = static_cast<int>(a[2]);
  const int flags = static_cast<int>(a[3]);
  const int fd = static_cast<int>(a[4]);
  if ((flags & MAP_ANONYMOUS) != 0) {
    return {true, 0};
  }
  if (fd < 0 || std::find(m.hidden.begin(), m.hidden.end(), fd) != m.hidden.end()) {
    return {false, -EBADF};
  }
  if (m.link_gone) {
    return {false, -EIO};
  }
  const int type = flags & MAP_TYPE;
  if ((type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && (prot & PROT_WRITE) != 0) {
    // The kernel's own checks first (a bad fd, one not open read-write),
    // so only a mapping that would work at home gets the guest's ENODEV.
    wire::FileFetch what;
    what.set_fd(fd);
    auto info = files_->probe(*m.link, what, other_frames(m));
    if (!info) {
      return {false, -info.error()};
    }
    if (!info->readable() || !info->writable()) {
      return {false, -EACCES};
    }
    MOS_LOG_WARN(
        "guest {}: shared writable mmap of fd {} refused (ENODEV): the file is at home on {}",
        m.program_pid, fd, opts_.guest->home);
    ++stats_.refused;
    return {false, -ENODEV};
  }
  wire::FileFetch what;
  what.set_fd(fd);
  auto f = files_->fetch(*m.link, what, other_frames(m));
  if (!f) {
    if (f.error() == EIO) {
      m.link_gone = true;
    }
    return {false, -f.error()};
  }
  if (!(*f)->readable) {
    return {false, -EACCES};
  }
  if (!S_ISREG((*f)->mode)) {
    return {false, -ENODEV};
  }
  if (!install_local_copy(m, n, **f, fd)) {
    return {false, -ENOMEM};
  }
  return {true, 0};
}

// execve on a guest: the image and its interpreters are fetched from home
// into the staging root, at the path the body's kernel resolves, and then
// the body's own kernel runs the exec (its errors are home's: a file that
// is missing or not executable at home fails here with the same errno).
Supervisor::Answer Supervisor::guest_exec(Member& m, const seccomp_notif& n) {
  const int nr = n.data.nr;
  const auto& a = n.data.args;
  ProcessMemory mem(m.host_pid);
  auto path = mem.read_string(a[nr == SYS_execveat ? 1 : 0], PATH_MAX);
  if (!path) {
    return {false, -EFAULT};
  }
  if (m.link_gone) {
    return {false, -EIO};
  }
  std::expected<void, int> staged;
  if (nr == SYS_execveat && path->empty() && (a[4] & AT_EMPTY_PATH) != 0) {
    // fexecve: the image is a program fd; its interpreter is a path.
    const int fd = static_cast<int>(a[0]);
    wire::FileFetch what;
    what.set_fd(fd);
    what.set_exec(true);
    auto f = files_->fetch(*m.link, what, other_frames(m));
    if (!f) {
      return {false, -f.error()};
    }
    if (!install_local_copy(m, n, **f, fd)) {
      return {false, -ENOMEM};
    }
  } else if (nr == SYS_execveat && (*path)[0] != '/' && static_cast<int>(a[0]) != AT_FDCWD) {
    MOS_LOG_WARN("guest {}: execveat relative to a directory fd is not supported", m.program_pid);
    return {false, -ENOSYS};
  } else {
    staged = files_->stage_exec(*m.link, *path, other_frames(m));
  }
  if (!staged) {
    if (staged.error() == EIO) {
      m.link_gone = true;
    }
    return {false, -staged.error()};
  }
  m.exec_path = *path;
  m.exec_auxv = read_proc(fmt::format("/proc/{}/auxv", m.host_pid));
  m.exec_pending = true;
  return {true, 0};
}

// Sends `request` to the member's deputy and waits for its `reply_type`
// answer, serving whatever else comes meanwhile (a signal for the body).
// False when the link failed or the answer was malformed (the link is then
// marked gone).
bool Supervisor::ask_deputy(Member& m, MsgType type, const google::protobuf::MessageLite& request,
                            MsgType reply_type, google::protobuf::MessageLite& reply) {
  if (m.link_gone || !m.link->send(type, request)) {
    m.link_gone = true;
    return false;
  }
  for (;;) {
    auto f = m.link->receive();
    if (!f) {
      m.link_gone = true;
      return false;
    }
    if (f->type == common::to_wire(reply_type)) {
      if (!reply.ParseFromString(f->payload)) {
        m.link_gone = true;
        return false;
      }
      return true;
    }
    serve_link_frame(m, *f);
  }
}

// A guest body's paths as we see them carry the staging root; the program
// knows them without it (and memfd copies of home files by their names).
std::string Supervisor::unstage(std::string text) const {
  if (!guest()) {
    return text;
  }
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all(opts_.guest->staging_root + "/", "/");
  // "/memfd:mos:/usr/lib/libc.so.6 (deleted)" -> "/usr/lib/libc.so.6"
  for (std::size_t at = 0; (at = text.find("/memfd:mos:", at)) != std::string::npos;) {
    const std::size_t start = at + 11;
    const std::size_t end = text.find(" (deleted)", start);
    const std::size_t eol = text.find('\n', start);
    if (end == std::string::npos || (eol != std::string::npos && end > eol)) {
      at = start;
      continue;
    }
    text.erase(end, 10);
    text.erase(at, 11);
  }
  return text;
}

// open/openat/readlink of the program's own /proc files that describe its
// body (ProcView.h): answered from the body's /proc, not the deputy's.
std::optional<Supervisor::Answer> Supervisor::proc_view(Member& m, const seccomp_notif& n) {
  const int nr = n.data.nr;
  const auto& a = n.data.args;
  std::uint64_t path_arg = 0;
  switch (nr) {
    case SYS_open:
    case SYS_readlink:
      path_arg = a[0];
      break;
    case SYS_openat:
    case SYS_readlinkat:
      path_arg = a[1];
      break;
    default:
      return std::nullopt;
  }
  ProcessMemory mem(m.host_pid);
  auto path = mem.read_string(path_arg, PATH_MAX);
  if (!path || path->empty() || (*path)[0] != '/') {
    return std::nullopt;  // (forwarding answers EFAULT and friends)
  }
  auto entry = detail::body_proc_entry(*path, m.process_pid);
  if (!entry) {
    return std::nullopt;
  }
  const std::string source = fmt::format("/proc/{}/{}", m.host_pid, *entry);
  if (nr == SYS_readlink || nr == SYS_readlinkat) {
    if (*entry != "exe") {
      return std::nullopt;  // not a link: the deputy's EINVAL is right
    }
    char buf[PATH_MAX];
    const ssize_t len = ::readlink(source.c_str(), buf, sizeof buf);
    if (len < 0) {
      return Answer{false, -errno};
    }
    const std::string target = unstage(std::string(buf, static_cast<std::size_t>(len)));
    const std::uint64_t addr = a[nr == SYS_readlink ? 1 : 2];
    const auto size = static_cast<std::int64_t>(a[nr == SYS_readlink ? 2 : 3]);
    if (size <= 0) {
      return Answer{false, -EINVAL};
    }
    const std::size_t n_out = std::min<std::size_t>(target.size(), static_cast<std::size_t>(size));
    auto w = mem.write(addr, std::span(reinterpret_cast<const std::uint8_t*>(target.data()), n_out));
    if (!w) {
      return Answer{false, -w.error()};
    }
    return Answer{false, static_cast<std::int64_t>(n_out)};
  }
  const auto flags = static_cast<int>(a[nr == SYS_open ? 1 : 2]);
  if ((flags & O_ACCMODE) != O_RDONLY || *entry == "exe") {
    return std::nullopt;
  }
  auto data = common::read_text_file(source);
  if (!data) {
    return Answer{false, -EACCES};
  }
  wire::SnapshotFile snap;
  snap.set_name(*entry);
  snap.set_data(unstage(std::move(*data)));
  snap.set_cloexec((flags & O_CLOEXEC) != 0);
  wire::SnapshotDone done;
  if (!ask_deputy(m, MsgType::kSnapshotFile, snap, MsgType::kSnapshotDone, done)) {
    return Answer{false, -EIO};
  }
  if (done.fd() < 0) {
    return Answer{false, -(done.errno_code() > 0 ? done.errno_code() : EIO)};
  }
  if (!guest()) {
    mirror_fd(m, n, done.fd());
  }
  return Answer{false, done.fd()};
}

void Supervisor::notice(Member& m, const std::string& text) {
  MOS_LOG_WARN("supervisor: {}", text);
  wire::Notice msg;
  msg.set_text(text);
  if (!m.link_gone && !m.link->send(MsgType::kNotice, msg)) {
    m.link_gone = true;
  }
}

// A body thread is created: its deputy starts a deputy thread (whose TID
// the namespace hands out next), and the body's kernel runs the clone. The
// new thread's calls then go to its deputy thread over a link of its own,
// so one thread blocked in a forwarded call never stalls the others.
Supervisor::Answer Supervisor::thread_body(Member& m, const seccomp_notif& n) {
  wire::ThreadDone done;
  if (!ask_deputy(m, MsgType::kThreadDeputy, wire::ThreadDeputy{}, MsgType::kThreadDone, done)) {
    return {false, -EIO};
  }
  if (done.tid() <= 0) {
    return {false, -(done.errno_code() > 0 ? done.errno_code() : EAGAIN)};
  }
  common::UniqueFd link_end(
      static_cast<int>(::syscall(SYS_pidfd_getfd, m.deputy_pidfd.get(), done.link_fd(), 0)));
  (void)m.link->send(MsgType::kForkAck, wire::ForkAck{});
  if (!link_end) {
    // The deputy thread sees its link closed and ends.
    MOS_LOG_ERROR("supervisor: cannot take the link of deputy thread {}: {}", done.tid(),
                  std::strerror(errno));
    return {false, -EAGAIN};
  }
  if (auto r = ns_->set_next_pid(done.tid()); !r) {
    MOS_LOG_WARN("supervisor: body thread will not get TID {}: {}", done.tid(), r.error());
  }
  auto tasks = [&] {
    std::vector<pid_t> out;
    const std::string dir = fmt::format("/proc/{}/task", m.process_host_pid);
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') {
          out.push_back(std::atoi(e->d_name));
        }
      }
      ::closedir(d);
    }
    return out;
  };
  const auto before = tasks();
  respond(n, {true, 0});  // the clone runs now, in the body's kernel
  pid_t tid = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (tid < 0 && std::chrono::steady_clock::now() < deadline) {
    for (pid_t t : tasks()) {
      if (std::find(before.begin(), before.end(), t) == before.end() && find_member(t) == nullptr) {
        tid = t;
      }
    }
    if (tid < 0) {
      ::sched_yield();
    }
  }
  if (tid < 0) {
    MOS_LOG_WARN("supervisor: no body thread appeared for deputy thread {}", done.tid());
    return {false, kAnswered};  // link_end closes: the deputy thread ends
  }
  Member t;
  t.host_pid = tid;
  t.program_pid = done.tid();
  t.process_pid = m.process_pid;
  t.process_host_pid = m.process_host_pid;
  t.is_thread = true;
  t.link = std::make_unique<common::FramedChannel>(std::move(link_end));
  t.deputy_pidfd.reset(::dup(m.deputy_pidfd.get()));
  t.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, tid, kPidfdThread)));
  t.same_pid = innermost_pid(tid) == t.program_pid;
  // The deputy thread's own end is one more deputy fd no thread may name.
  for (auto& [hp, other] : members_) {
    if (other.process_host_pid == m.process_host_pid) {
      other.hidden.push_back(done.thread_link());
    }
  }
  t.hidden = m.hidden;
  t.thread_link = done.thread_link();
  members_.emplace(tid, std::move(t));
  return {false, kAnswered};
}

Member* Supervisor::find_member(pid_t host_pid) {
  auto it = members_.find(host_pid);
  return it == members_.end() ? nullptr : &it->second;
}

// A body of the tree forks: its deputy forks a child deputy, the namespace
// hands out that deputy's PID next, and the body's own kernel runs the fork.
Supervisor::Answer Supervisor::fork_body(Member& m, const seccomp_notif& n) {
  wire::ForkDone done;
  if (!ask_deputy(m, MsgType::kForkDeputy, wire::ForkDeputy{}, MsgType::kForkDone, done)) {
    return {false, -EIO};
  }
  if (done.child_pid() <= 0) {
    return {false, -(done.errno_code() > 0 ? done.errno_code() : EAGAIN)};
  }
  std::unique_ptr<common::FramedChannel> child_link;
  common::UniqueFd child_deputy;
  if (guest()) {
    // The child deputy dials us at home's end; its proof names its PID.
    auto acc = common::accept_deputy(opts_.guest->listener.get(), opts_.guest->token,
                                     common::tuning::kSessionHandshake);
    (void)m.link->send(MsgType::kForkAck, wire::ForkAck{});
    if (!acc || acc->hello.pid() != done.child_pid() || acc->hello.first()) {
      MOS_LOG_ERROR("supervisor: the child deputy {} did not connect: {}", done.child_pid(),
                    acc ? std::string("wrong pid") : acc.error());
      return {false, -EAGAIN};  // its link never came: it ends as killed
    }
    child_link = std::move(acc->link);
  } else {
    common::UniqueFd link_end(
        static_cast<int>(::syscall(SYS_pidfd_getfd, m.deputy_pidfd.get(), done.link_fd(), 0)));
    (void)m.link->send(MsgType::kForkAck, wire::ForkAck{});
    child_deputy.reset(static_cast<int>(::syscall(SYS_pidfd_open, done.child_pid(), 0)));
    if (!link_end || !child_deputy) {
      MOS_LOG_ERROR("supervisor: cannot reach the child deputy {}: {}", done.child_pid(),
                    std::strerror(errno));
      ::kill(done.child_pid(), SIGKILL);
      return {false, -EAGAIN};
    }
    child_link = std::make_unique<common::FramedChannel>(std::move(link_end));
  }
  if (auto r = ns_->set_next_pid(done.child_pid()); !r) {
    MOS_LOG_WARN("supervisor: child body will not get PID {}: {}", done.child_pid(), r.error());
  }
  // Children of the body before the fork, to recognise the new one.
  auto children = [&] {
    std::istringstream in(read_proc(fmt::format("/proc/{}/task/{}/children", m.host_pid, n.pid)));
    std::vector<pid_t> out;
    pid_t p;
    while (in >> p) {
      out.push_back(p);
    }
    return out;
  };
  const auto before = children();
  respond(n, {true, 0});  // the fork runs now, in the body's kernel
  pid_t child = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (child < 0 && std::chrono::steady_clock::now() < deadline) {
    for (pid_t p : children()) {
      if (std::find(before.begin(), before.end(), p) == before.end() && find_member(p) == nullptr) {
        child = p;
      }
    }
    if (child < 0) {
      ::sched_yield();
    }
  }
  Member c;
  c.program_pid = done.child_pid();
  c.deputy_pidfd = std::move(child_deputy);
  c.link = std::move(child_link);
  c.hidden.assign(done.hidden().begin(), done.hidden().end());
  c.process_pid = c.program_pid;
  c.local_fds = m.local_fds;  // the child's table is a copy of the parent's
  if (child < 0) {
    // The fork failed in the body's kernel (or the child died at once): the
    // child deputy has no body; it ends as killed.
    MOS_LOG_WARN("supervisor: no child body appeared for deputy {}", done.child_pid());
    wire::BodyExited ex;
    ex.set_wait_status(SIGKILL);
    (void)c.link->send(MsgType::kBodyExited, ex);
    return {false, kAnswered};
  }
  c.host_pid = child;
  c.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  c.same_pid = innermost_pid(child) == c.program_pid;
  c.process_host_pid = child;
  if (!c.same_pid) {
    MOS_LOG_WARN("supervisor: child body has PID {} in its namespace, not {}", innermost_pid(child),
                 c.program_pid);
  }
  members_.emplace(child, std::move(c));
  return {false, kAnswered};
}

void Supervisor::body_exited(Member& m, int status) {
  if (m.exited) {
    return;
  }
  m.exited = true;
  wire::BodyExited ex;
  ex.set_wait_status(status);
  if (!m.link_gone) {
    (void)m.link->send(MsgType::kBodyExited, ex);
  }
}

// Bodies that died: their status goes to their deputies, and we wait (a
// little) until those deputies have exited, so a parent's wait finds them.
void Supervisor::reap_dead_bodies() {
  // Drain the init's reports first, so its socket never stays readable.
  while (auto e = ns_->take_exit()) {
    orphan_exits_[e->first] = e->second;
  }
  std::vector<Member*> told;
  for (auto& [pid, m] : members_) {
    if (m.exited || !m.pidfd) {
      continue;
    }
    pollfd p{m.pidfd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) {
      continue;
    }
    if (m.is_thread) {
      // A body thread ended: its deputy thread ends when its link closes.
      // The process itself ends by its leader's status.
      m.exited = true;
      m.link_gone = true;
      m.link.reset();
      for (auto& [hp, other] : members_) {
        if (other.process_host_pid == m.process_host_pid) {
          std::erase(other.hidden, m.thread_link);
        }
      }
      continue;
    }
    int status = 0;
    if (m.our_child) {
      while (::waitpid(m.host_pid, &status, 0) < 0 && errno == EINTR) {
      }
      first_status_ = status;
    } else {
      // A zombie child of another body (which never reaps natively: its
      // waits run at its deputy); its status is in /proc until it goes.
      const std::string stat = read_proc(fmt::format("/proc/{}/stat", m.host_pid));
      auto paren = stat.rfind(')');
      std::istringstream fields(paren == std::string::npos ? "" : stat.substr(paren + 2));
      std::string field;
      for (int i = 3; i <= 52 && fields >> field; ++i) {
        if (i == 52) {
          status = std::atoi(field.c_str());
        }
      }
      // Reaped by the init (an orphan, or the first body of a user without
      // privileges, which is the init's child) before we read /proc: its
      // report has the status, if not now then in a moment.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (stat.empty() && !orphan_exits_.contains(m.program_pid) &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd r{ns_->fd(), POLLIN, 0};
        (void)::poll(&r, 1, 20);
        while (auto e = ns_->take_exit()) {
          orphan_exits_[e->first] = e->second;
        }
      }
      if (auto it = orphan_exits_.find(m.program_pid); it != orphan_exits_.end()) {
        status = it->second;
        orphan_exits_.erase(it);
      }
    }
    body_exited(m, status);
    told.push_back(&m);
  }
  for (Member* m : told) {
    if (m->our_child || m->link_gone) {
      continue;
    }
    // The deputy exits as soon as it reads it: its pidfd (at home) or its
    // link (a guest's deputy is elsewhere) tells us when.
    pollfd p{m->deputy_pidfd ? m->deputy_pidfd.get() : m->link->fd(), POLLIN, 0};
    (void)::poll(&p, 1, 1000);
  }
}

int Supervisor::run() {
  Member first;
  first.program_pid = opts_.deputy_pid;
  first.link = std::move(opts_.link);
  first.hidden = opts_.hidden_fds;
  first.process_pid = opts_.deputy_pid;
  first.our_child = true;
  first.bootstrapped = false;
  auto fail = [&](const std::string& why) {
    wire::BodyFailed failed;
    failed.set_reason(why);
    (void)first.link->send(MsgType::kBodyFailed, failed);
    return -1;
  };
  if (guest()) {
    files_.emplace(opts_.guest->staging_root);
  } else {
    first.deputy_pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, opts_.deputy_pid, 0)));
    if (!first.deputy_pidfd) {
      return fail(fmt::format("cannot open the deputy: {}", std::strerror(errno)));
    }
  }
  auto ns = BodyNamespace::create(&opts_.body);
  if (!ns) {
    return fail(ns.error());
  }
  ns_ = std::move(*ns);
  if (auto r = ns_->set_next_pid(opts_.deputy_pid); !r) {
    MOS_LOG_WARN("supervisor: the body will not get PID {}: {}", opts_.deputy_pid, r.error());
  }
  // Without privileges the namespace's init forks the first body.
  members_.clear();
  first.our_child = !ns_->via_init();
  auto body = spawn_body(opts_.body, &*ns_);
  if (!body) {
    return fail(body.error());
  }
  listener_ = std::move(body->listener);
  first.host_pid = body->pid;
  first.same_pid = innermost_pid(body->pid) == first.program_pid;
  first.process_host_pid = body->pid;
  first.pidfd = std::move(body->pidfd);
  wire::BodyStarted started;
  started.set_pid(body->pid);
  (void)first.link->send(MsgType::kBodyStarted, started);
  members_.emplace(first.host_pid, std::move(first));

  bool stops_pending = false;
  while (!members_.empty()) {
    std::vector<pollfd> fds;
    std::vector<Member*> owners;
    fds.push_back({listener_.get(), POLLIN, 0});
    owners.push_back(nullptr);
    fds.push_back({ns_->fd(), POLLIN, 0});
    owners.push_back(nullptr);
    for (auto& [pid, m] : members_) {
      if (m.link_gone && !m.exited) {
        kill_body(m);  // no deputy, no program: the body must not outlive it
      }
      if (!m.link_gone) {
        fds.push_back({m.link->fd(), POLLIN, 0});
        owners.push_back(&m);
      }
      if (!m.exited && m.pidfd) {
        fds.push_back({m.pidfd.get(), POLLIN, 0});
        owners.push_back(nullptr);
      }
    }
    if (::poll(fds.data(), fds.size(), stops_pending ? 5 : 1000) < 0 && errno != EINTR) {
      MOS_LOG_ERROR("supervisor: poll: {}", std::strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      seccomp_notif n{};
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
        // Threads are refused, so a task is a body: its pid is its member's.
        Member* m = find_member(static_cast<pid_t>(n.pid));
        if (m == nullptr) {
          respond(n, {false, -ENOSYS});
        } else {
          Answer a = handle(*m, n);
          if (a.value != kAnswered || a.cont) {
            respond(n, a);
          }
        }
      }
    }
    // Only a body's exit (its pidfd, or the init's report) needs the scan
    // of reap_dead_bodies; a forwarded call's reply must not pay for it.
    bool body_event = (fds[1].revents & POLLIN) != 0;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (owners[i] == nullptr && (fds[i].revents & POLLIN)) {
        body_event = true;
      }
      if (owners[i] != nullptr && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        Member& m = *owners[i];
        auto f = m.link->receive();
        if (!f) {
          m.link_gone = true;  // the deputy exited (or died)
          continue;
        }
        serve_link_frame(m, *f);
        // Frames that came in the same read (a signal and then the reply)
        // are served now: poll will not report them again.
        common::Frame more;
        while (!m.link_gone && m.link->buffered(more) == common::FrameStatus::kOk) {
          serve_link_frame(m, more);
        }
      }
    }
    if (body_event) {
      reap_dead_bodies();
    }
    stops_pending = check_stops();
    // A member is done when its body is gone and its deputy has hung up.
    std::erase_if(members_, [](const auto& kv) { return kv.second.exited && kv.second.link_gone; });
  }
  MOS_LOG_DEBUG(
      "supervisor: {} notifications, {} forwarded, {} run natively, {} refused, {} unknown",
      stats_.notifications, stats_.forwarded, stats_.continued, stats_.refused, stats_.unknown);
  if (files_) {
    MOS_LOG_DEBUG("supervisor: {} bytes of home files fetched, {} cache hits",
                  files_->fetched_bytes(), files_->hits());
  }
  return first_status_;
}

}  // namespace

int run_supervisor(SupervisorOptions options) {
  return Supervisor(std::move(options)).run();
}

}  // namespace mos::remote
