#include "home/Deputy.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/forward.pb.h"
#include "common/session.pb.h"
#include "home/Executor.h"
#include "home/detail/DeputyControl.h"
#include "home/detail/DeputyImpl.h"

namespace mos::home {
namespace detail {

using common::MsgType;

// The kernel's restart code: a forwarded call cut short by a signal we have
// passed on to the body. The body's kernel then restarts the call or fails
// it with EINTR by its handler's SA_RESTART flag, exactly as Linux would.

int g_signal_pipe = -1;  // write end, for the handler
// Set by the handler: some signal arrived (passed on or not) since the last
// forwarded call started.
volatile sig_atomic_t g_interrupted = 0;
// Set by the SIGCHLD handler: a child deputy ended or stopped since the
// last forwarded call started (it interrupted the call, if it was blocked).
volatile sig_atomic_t g_child_signal = 0;
// Set by the handler: the control thread kicked us (a migration waits; see
// detail/DeputyControl.h).
volatile sig_atomic_t g_kicked = 0;

void on_sigchld(int) {
  g_child_signal = 1;
}

// SIGCHLD is caught (to interrupt a blocked forwarded call, see
// SyscallReply.child_interrupt) and never passed on; `automatic` reaps the
// children as SIG_IGN would (SA_NOCLDWAIT), mirroring the body's choice.
void catch_sigchld(bool automatic) {
  struct sigaction sa {};
  sa.sa_handler = on_sigchld;
  sa.sa_flags = automatic ? SA_NOCLDWAIT : 0;  // no SA_RESTART: calls see EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGCHLD, &sa, nullptr);
}
// The body runs on another node: it is in no process group here, so the
// terminal's signals (and job control) reach only us and must be passed on.
bool g_body_remote = false;

void on_signal(int sig, siginfo_t* info, void*) {
  if (detail::is_kick(sig, info) || detail::is_link_signal(sig, info)) {
    g_kicked = 1;
    return;
  }
  // Signals the terminal sends to the foreground process group reached the
  // body directly (same group): passing them on would deliver them twice.
  // Everything else sent to our PID is the program's: kill(2) from others,
  // and the kernel's own for the calls we run for it (SIGALRM of alarm and
  // setitimer, SIGPIPE of a write to a closed pipe, SIGIO, ...).
  g_interrupted = 1;
  const bool from_terminal = !g_body_remote && info->si_code == SI_KERNEL &&
                             (sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH || sig == SIGHUP);
  if (from_terminal) {
    return;
  }
  const int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  (void)!::write(g_signal_pipe, &b, 1);
  errno = saved;
}

// Job control for a body off our process group: its stops and continues
// come from us.
void pass_job_control_signals() {
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT}) {
    ::sigaction(sig, &sa, nullptr);
  }
}

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "mosrun: %s: %s\n", what, std::strerror(errno));
  ::_exit(126);
}

// Moves `fd` to the highest free number below the soft fd limit, so the
// program's own numbering (lowest free first) never meets it.
int hide_fd(int fd) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  const long top =
      rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 1024 : static_cast<long>(rl.rlim_cur);
  for (long n = top - 1; n > 2; --n) {
    if (::fcntl(static_cast<int>(n), F_GETFD) < 0 && errno == EBADF) {
      if (::dup3(fd, static_cast<int>(n), O_CLOEXEC) == n) {
        ::close(fd);
        return static_cast<int>(n);
      }
    }
  }
  return fd;
}

// Room for a whole forwarded buffer in flight, so a large read or write
// crosses in one go instead of in many socket-buffer-sized wake-ups.
void size_link_buffers(const int (&sv)[2]) {
  for (int fd : sv) {
    const int size = 8 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  }
}

std::vector<int> open_fds() {
  std::vector<int> out;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') {
        const int fd = std::atoi(e->d_name);
        if (fd != ::dirfd(d)) {
          out.push_back(fd);
        }
      }
    }
    ::closedir(d);
  }
  return out;
}

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

[[noreturn]] void exit_like(int status) {
  detail::control_stop();
  std::fflush(nullptr);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    // Die of the same signal, without a core of our own (the body dumped its).
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(sig);
    ::_exit(128 + sig);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

// The links of the deputy's threads (one per body thread besides the
// first): fds of ours the program must never see, shared by all threads.
std::mutex g_thread_links_mu;
std::vector<int> g_thread_links;

bool is_thread_link(int fd) {
  std::lock_guard lock(g_thread_links_mu);
  return contains(g_thread_links, fd);
}

// class Deputy: home/detail/DeputyImpl.h

// close_range over the program's fds only: our own fds (link, signal pipe)
// sit inside any wide range and must survive it.
wire::SyscallReply Deputy::close_range_around_hidden(const wire::SyscallRequest& req) {
  wire::SyscallReply reply;
  reply.set_id(req.id());
  if (req.args_size() < 3) {
    reply.set_ret(-EINVAL);
    return reply;
  }
  const unsigned first = static_cast<unsigned>(req.args(0));
  const unsigned last = static_cast<unsigned>(req.args(1));
  const unsigned flags = static_cast<unsigned>(req.args(2));
  std::vector<int> hidden = setup_.hidden;
  {
    std::lock_guard lock(g_thread_links_mu);
    hidden.insert(hidden.end(), g_thread_links.begin(), g_thread_links.end());
  }
  std::sort(hidden.begin(), hidden.end());
  unsigned from = first;
  long ret = 0;
  for (int h : hidden) {
    const unsigned hu = static_cast<unsigned>(h);
    if (hu < from || hu > last) {
      continue;
    }
    if (hu > from && ::syscall(SYS_close_range, from, hu - 1, flags) != 0) {
      ret = -errno;
    }
    from = hu + 1;
  }
  if (ret == 0 && from <= last && from != 0 && ::syscall(SYS_close_range, from, last, flags) != 0) {
    ret = -errno;
  }
  if (first > last) {
    ret = -EINVAL;
  }
  reply.set_ret(ret);
  return reply;
}

void Deputy::body_lost(const std::string& why) {
  if (worker_) {
    // The body thread is gone (its supervisor closed our link); the
    // process ends by the main thread's link, not here.
    {
      std::lock_guard lock(g_thread_links_mu);
      std::erase(g_thread_links, link_.fd());
    }
    link_ = common::FramedChannel(common::UniqueFd());
    ::pthread_exit(nullptr);
  }
  MOS_LOG_ERROR("mosrun: lost the program's body: {}", why);
  exit_like(SIGKILL);  // the documented status: killed by SIGKILL
}

bool Deputy::pass_signals() {
  bool any = false;
  unsigned char sigs[64];
  ssize_t n;
  while ((n = ::read(setup_.signal_read, sigs, sizeof sigs)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (exile_) {
        exiled_signals_.push_back(sigs[i]);  // delivered, in order, after the move
        any = true;
        continue;
      }
      wire::SignalBody s;
      s.set_signo(sigs[i]);
      (void)link_.send(MsgType::kSignalBody, s);
      any = true;
    }
  }
  return any;
}

void Deputy::drop_cloexec_fds() {
  for (int fd : open_fds()) {
    if (hidden(fd)) {
      continue;
    }
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC)) {
      ::close(fd);
    }
  }
}

// Frames that came while a call ran: the body's end and stops now, the
// rest after the reply, in their order.
void Deputy::serve_during_call() {
  for (;;) {
    common::Frame f;
    if (link_.buffered(f) != common::FrameStatus::kOk) {
      pollfd p{link_.fd(), POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) <= 0) {
        return;
      }
      auto r = link_.receive();
      if (!r) {
        body_lost(r.error());
      }
      f = std::move(*r);
    }
    switch (static_cast<MsgType>(f.type)) {
      case MsgType::kBodyExited: {
        wire::BodyExited exited;
        (void)common::parse_payload(f, exited);
        exit_like(exited.wait_status());
      }
      case MsgType::kBodyStopped:
        ::kill(::getpid(), SIGSTOP);
        break;
      default:
        early_.push_back(std::move(f));
        break;
    }
  }
}

void Deputy::serve() {
  for (;;) {
    if (!worker_ && !exile_) {
      if (auto o = detail::control_take()) {
        begin_migration(*o);
      }
    }
    common::Frame f;
    if (!early_.empty()) {
      f = std::move(early_.front());
      early_.pop_front();
    } else if (link_.buffered(f) != common::FrameStatus::kOk) {
      pollfd fds[2] = {{link_.fd(), POLLIN, 0}, {setup_.signal_read, POLLIN, 0}};
      if (::poll(fds, worker_ ? 1 : 2, -1) < 0) {
        continue;  // EINTR: the signal is in the pipe
      }
      if (!worker_ && (fds[1].revents & POLLIN)) {
        pass_signals();
      }
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      auto r = link_.receive();
      if (!r) {
        body_lost(r.error());
      }
      f = std::move(*r);
    }
    switch (static_cast<MsgType>(f.type)) {
      case MsgType::kSyscallRequest: {
        wire::SyscallRequest req;
        wire::SyscallReply reply;
        if (!worker_) {
          g_interrupted = 0;
          g_child_signal = 0;
        }
        if (!common::parse_payload(f, req)) {
          reply.set_ret(-EINVAL);
        } else if (exile_) {
          // Sent before the body froze: it issues the call again where it
          // lands (its supervisor answers it with the restart).
          reply.set_id(req.id());
          reply.set_ret(-kErestartSys);
          if (auto s = link_.send(MsgType::kSyscallReply, reply); !s) {
            body_lost(s.error());
          }
          break;
        } else {
          detail::control_count_syscall();
          g_kicked = 0;
          if (!worker_) {
            serve_during_call();  // what came before it (a dead body ends us now)
            detail::watch_calls_begin(link_.fd());
          }
          reply = req.nr() == SYS_close_range ? close_range_around_hidden(req) : execute(req);
          if (!worker_) {
            // A kick for a migration cut the call short: the migration goes
            // first (Migrate before this reply), the call restarts at the
            // target. A kick with no migration behind it: run the call again.
            if (auto o = detail::control_take()) {
              begin_migration(*o);
            }
            while (g_kicked && reply.ret() == -EINTR && !exile_ && !g_interrupted) {
              g_kicked = 0;
              serve_during_call();  // what came meanwhile (a dead body ends us here)
              reply = execute(req);
            }
            detail::watch_calls_end(link_.fd());
            if (g_kicked && exile_ && reply.ret() == -EINTR) {
              reply.set_ret(-kErestartSys);
            }
          }
        }
        if (worker_) {
          if (auto s = link_.send(MsgType::kSyscallReply, reply); !s) {
            body_lost(s.error());
          }
          break;
        }
        // A signal that came during the call goes to the body before the
        // reply (so its kernel sees it pending when the call returns). One
        // that came before the call started is still in the pipe if the
        // flag was cleared after it: the next poll passes it on.
        if (g_interrupted) {
          pass_signals();
        }
        // Cut short by a signal the body has too (passed on just now, or
        // sent by the terminal to both): its kernel restarts the call or
        // fails it with EINTR by the handler's SA_RESTART, as Linux does.
        if (!g_interrupted && g_child_signal && reply.ret() == -EINTR) {
          reply.set_child_interrupt(true);
        } else if (g_interrupted && reply.ret() == -EINTR) {
          reply.set_ret(-kErestartSys);
        }
        if (auto s = link_.send(MsgType::kSyscallReply, reply); !s) {
          body_lost(s.error());
        }
        break;
      }
      case MsgType::kExecDone: {
        drop_cloexec_fds();
        // ps and /proc/PID/status show the program's name, as after exec.
        wire::ExecDone done;
        if (common::parse_payload(f, done) && !done.path().empty()) {
          const auto slash = done.path().rfind('/');
          const std::string base =
              slash == std::string::npos ? done.path() : done.path().substr(slash + 1);
          ::prctl(PR_SET_NAME, base.substr(0, 15).c_str());
        }
        break;
      }
      case MsgType::kBodyStarted:
        break;
      case MsgType::kMigrateDone: {
        wire::MigrateDone done;
        if (!common::parse_payload(f, done)) {
          done.set_error("malformed answer from the supervisor");
        }
        finish_migration(done);
        break;
      }
      case MsgType::kBodyUsage: {
        wire::BodyUsage u;
        if (common::parse_payload(f, u)) {
          detail::control_usage(u);
        }
        break;
      }
      case MsgType::kForkDeputy:
        fork_child();
        break;
      case MsgType::kChildReaping: {
        // SIGCHLD's reaping here is the body's choice.
        wire::ChildReaping reaping;
        if (common::parse_payload(f, reaping)) {
          catch_sigchld(reaping.automatic());
        }
        break;
      }
      case MsgType::kSnapshotFile: {
        wire::SnapshotFile snap;
        if (!common::parse_payload(f, snap)) {
          body_lost("malformed snapshot request");
        }
        serve_snapshot(snap);
        break;
      }
      case MsgType::kThreadDeputy:
        start_thread();
        break;
      case MsgType::kNotice: {
        wire::Notice notice;
        if (common::parse_payload(f, notice)) {
          std::fprintf(stderr, "mosrun: %s\n", notice.text().c_str());
        }
        break;
      }
      case MsgType::kFileFetch: {
        wire::FileFetch what;
        if (!common::parse_payload(f, what)) {
          body_lost("malformed file request");
        }
        serve_file_fetch(what);
        break;
      }
      case MsgType::kBodyStopped:
        // The remote body stopped (job control): so do we, until SIGCONT,
        // which our handler passes on to continue the body too.
        ::kill(::getpid(), SIGSTOP);
        break;
      case MsgType::kBodyFailed: {
        wire::BodyFailed failed;
        (void)common::parse_payload(f, failed);
        std::fprintf(stderr, "mosrun: cannot start the program: %s\n", failed.reason().c_str());
        detail::control_stop();
        ::_exit(127);
      }
      case MsgType::kBodyExited: {
        wire::BodyExited exited;
        (void)common::parse_payload(f, exited);
        exit_like(exited.wait_status());
      }
      default:
        MOS_LOG_WARN("mosrun: unexpected message type {} from the supervisor", f.type);
        break;
    }
  }
}

void install_signal_handlers(const DeputySetup& s) {
  g_signal_pipe = s.signal_write;
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;  // no SA_RESTART: a forwarded call must see EINTR
  sigemptyset(&sa.sa_mask);
  catch_sigchld(false);
  for (int sig = 1; sig < NSIG; ++sig) {  // real-time signals included
    switch (sig) {
      case SIGKILL:
      case SIGSTOP:
      case SIGCHLD:
        continue;
      case SIGTSTP:
      case SIGTTIN:
      case SIGTTOU:
      case SIGCONT:
        // At home job control stops and continues the deputy with the body
        // (same process group). A remote body gets them from us.
        if (s.remote) {
          ::sigaction(sig, &sa, nullptr);
        }
        continue;
      default:
        ::sigaction(sig, &sa, nullptr);  // fails harmlessly for glibc's 32, 33
    }
  }
}

}  // namespace detail

using namespace detail;

DeputySetup prepare() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    fatal("socketpair");
  }
  size_link_buffers(sv);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
    fatal("pipe");
  }
  DeputySetup s;
  s.link_fd = hide_fd(sv[0]);
  s.supervisor_fd = hide_fd(sv[1]);
  s.signal_read = hide_fd(pipefd[0]);
  s.signal_write = hide_fd(pipefd[1]);
  s.hidden = {s.link_fd, s.supervisor_fd, s.signal_read, s.signal_write};
  if (const int c = detail::control_socket(); c >= 0) {
    s.control_fd = hide_fd(c);
    s.hidden.push_back(s.control_fd);
  }
  for (int fd : open_fds()) {
    if (!contains(s.hidden, fd)) {
      s.program_fds.push_back(fd);
    }
  }
  install_signal_handlers(s);
  return s;
}

DeputySetup prepare_remote(const RemoteTarget& target, wire::BodyStart start, int exit_code) {
  auto fd = common::dial_session(target.address, target.port, std::chrono::seconds(5));
  if (!fd) {
    std::fprintf(stderr, "mosrun: %s: cannot reach the guest supervisor: %s\n", target.node.c_str(),
                 fd.error().c_str());
    ::_exit(exit_code);
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
    fatal("pipe");
  }
  DeputySetup s;
  s.remote = true;
  s.target = target;
  s.link_fd = hide_fd(fd->release());
  s.signal_read = hide_fd(pipefd[0]);
  s.signal_write = hide_fd(pipefd[1]);
  s.hidden = {s.link_fd, s.signal_read, s.signal_write};
  if (const int c = detail::control_socket(); c >= 0) {
    s.control_fd = hide_fd(c);
    s.hidden.push_back(s.control_fd);
  }
  {
    common::FramedChannel link{common::UniqueFd(::dup(s.link_fd))};
    auto r = common::prove_session(link, target.token, ::getpid(), true);
    for (int h : s.hidden) {
      start.add_hidden(h);
    }
    if (r) {
      r = link.send(MsgType::kBodyStart, start);
    }
    if (!r) {
      std::fprintf(stderr, "mosrun: %s: session refused: %s\n", target.node.c_str(),
                   r.error().c_str());
      ::_exit(exit_code);
    }
  }
  g_body_remote = true;
  install_signal_handlers(s);
  return s;
}

void serve(const DeputySetup& setup) {
  detail::control_start(setup.control_fd, setup.remote ? setup.target.node : "home", setup.remote);
  Deputy(setup).serve();
}

void migrate_soon(const std::string& node) {
  detail::control_request(node);
}

}  // namespace mos::home
