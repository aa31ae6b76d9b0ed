// The members of a body tree: forks, threads, stops (see SupervisorImpl.h).
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

void Supervisor::notice(Member& m, const std::string& text) {
  MOS_LOG_WARN("supervisor: {}", text);
  wire::Notice msg;
  msg.set_text(text);
  if (!m.link_gone && !m.link->send(MsgType::kNotice, msg)) {
    m.link_gone = true;
  }
}

// Lets the body's kernel run the fork or clone of `n`, then finds the task
// it made: the one `list` shows now that it did not before and that is no
// member yet (bounded: -1 if none appears within 5 s, the call failed).
pid_t Supervisor::continue_and_find_new(const seccomp_notif& n,
                                        const std::function<std::vector<pid_t>()>& list) {
  const auto before = list();
  respond(n, {true, 0});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    for (pid_t p : list()) {
      if (std::find(before.begin(), before.end(), p) == before.end() && find_member(p) == nullptr) {
        return p;
      }
    }
    ::sched_yield();
  }
  return -1;
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
  const pid_t tid = continue_and_find_new(n, tasks);  // the clone runs in the body's kernel
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
  const pid_t child = continue_and_find_new(n, children);  // the fork runs in the body's kernel
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

}  // namespace mos::remote::detail
