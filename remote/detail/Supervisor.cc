#include "remote/detail/SupervisorImpl.h"

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
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "common/Files.h"
#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/forward.pb.h"
#include "common/session.pb.h"
#include "remote/Marshal.h"
#include "remote/SyscallTable.h"
#include "remote/detail/FileCache.h"
#include "remote/detail/ProcView.h"

namespace mos::remote::detail {

// Does the body have a SIGCHLD pending that will interrupt its blocked
// call: pending, caught by a handler and not blocked (its /proc status)?
// (Only then may it be answered -ERESTARTSYS: with no signal to deliver, the
// kernel would hand the code to the program.)
bool Supervisor::sigchld_interrupts(const Member& m) const {
  std::istringstream in(read_proc(fmt::format("/proc/{}/status", m.host_pid)));
  std::string key, value;
  std::uint64_t caught = 0, blocked = 0, pending = 0;
  while (in >> key >> value) {
    const std::uint64_t v = std::strtoull(value.c_str(), nullptr, 16);
    if (key == "SigCgt:") {
      caught = v;
    } else if (key == "SigBlk:") {
      blocked = v;
    } else if (key == "SigPnd:" || key == "ShdPnd:") {
      pending |= v;
    }
  }
  const std::uint64_t bit = 1ull << (SIGCHLD - 1);
  return (pending & caught & bit) != 0 && (blocked & bit) == 0;
}

// A wait for fds that installs a signal mask for its duration.
bool Supervisor::waits_with_sigmask(const seccomp_notif& n) {
  const auto& a = n.data.args;
  switch (n.data.nr) {
    case SYS_pselect6:
      return a[5] != 0;  // { const sigset_t*, size_t }
    case SYS_ppoll:
      return a[3] != 0;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      return a[4] != 0;
    default:
      return false;
  }
}

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
  if (reply.child_interrupt()) {
    // A child deputy's SIGCHLD cut the call short at home. The body got its
    // own SIGCHLD from its kernel: what Linux would do with the call
    // depends on the body's handling of it.
    if (waits_with_sigmask(p.notif)) {
      // (A guest: at home these run natively.) The wait's own mask is not
      // the body's now; EINTR is what such a wait returns for the signal,
      // which the body then gets once its mask lets it.
      respond(p.notif, {false, -EINTR});
      return;
    }
    if (sigchld_interrupts(m)) {
      respond(p.notif, {false, -kErestartSys});  // handler runs, SA_RESTART decides
      return;
    }
    // Not a signal the body would be interrupted by: the call goes on.
    if (auto again = forward(m, *p.entry, p.notif); again.value != kAnswered) {
      respond(p.notif, again);
    }
    return;
  }
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
      if (!guest() && waits_with_sigmask(n)) {
        // At home the body's fds are the deputy's very files (mirrors), so
        // it can wait natively, and must: the mask it gives applies to its
        // own signals, such as the SIGCHLD its kernel sends when a child
        // body ends (make's pselect waits for exactly that).
        ++stats_.continued;
        return {true, 0};
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
  if (f.type == common::to_wire(MsgType::kMigrate)) {
    wire::Migrate req;
    if (!common::parse_payload(f, req)) {
      m.link_gone = true;
      return false;
    }
    migrate_out(m, req);
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

Member* Supervisor::find_member(pid_t host_pid) {
  auto it = members_.find(host_pid);
  return it == members_.end() ? nullptr : &it->second;
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
  if (opts_.restore) {
    if (!guest() || !start_restored(first)) {
      return -1;
    }
    opts_.restore.reset();  // the image and the source's link are done with
    members_.emplace(first.host_pid, std::move(first));
  } else {
    auto ns = BodyNamespace::create(&opts_.body);
    if (!ns) {
      return fail(ns.error());
    }
    ns_ = std::move(*ns);
    if (auto r = ns_->set_next_pid(opts_.deputy_pid); !r) {
      MOS_LOG_WARN("supervisor: the body will not get PID {}: {}", opts_.deputy_pid, r.error());
    }
    // Without privileges the namespace's init forks the first body.
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
  }
  bool stops_pending = false;
  bool listener_hung_up = false;
  while (!members_.empty()) {
    // Calls that came while a body was being frozen or restored.
    while (!deferred_.empty()) {
      const seccomp_notif n = deferred_.front();
      deferred_.pop_front();
      if (hold_for_pager(n)) {
        continue;
      }
      if (Member* m = find_member(static_cast<pid_t>(n.pid))) {
        if (Answer a = handle(*m, n); a.value != kAnswered || a.cont) {
          respond(n, a);
        }
      } else {
        respond(n, {false, -ENOSYS});
      }
    }
    report_usage();
    std::vector<pollfd> fds;
    std::vector<Member*> owners;
    // (A listener no task uses any more reads as hung up: no more calls.)
    fds.push_back({listener_hung_up ? -1 : listener_.get(), POLLIN, 0});
    owners.push_back(nullptr);
    fds.push_back({ns_->fd(), POLLIN, 0});
    owners.push_back(nullptr);
    fds.push_back({pager_ ? pager_->done_fd() : -1, POLLIN, 0});
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
    if ((fds[0].revents & (POLLHUP | POLLERR)) && !(fds[0].revents & POLLIN)) {
      listener_hung_up = true;
    }
    if (fds[0].revents & POLLIN) {
      seccomp_notif n{};
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
        // Threads are refused, so a task is a body: its pid is its member's.
        Member* m = find_member(static_cast<pid_t>(n.pid));
        if (hold_for_pager(n)) {
          // (answered once its pages are all in)
        } else if (m == nullptr) {
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
    if (fds[2].revents & POLLIN) {
      pager_finished();
    }
    for (std::size_t i = 3; i < fds.size(); ++i) {
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
      if (pager_ && std::all_of(members_.begin(), members_.end(),
                                [](const auto& kv) { return kv.second.exited; })) {
        pager_->stop();  // no body left to fill
      }
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

}  // namespace mos::remote::detail

namespace mos::remote {

int run_supervisor(SupervisorOptions options) {
  return detail::Supervisor(std::move(options)).run();
}

}  // namespace mos::remote
