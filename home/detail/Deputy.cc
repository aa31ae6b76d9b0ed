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

namespace mos::home {
namespace {

using common::MsgType;

// The kernel's restart code: a forwarded call cut short by a signal we have
// passed on to the body. The body's kernel then restarts the call or fails
// it with EINTR by its handler's SA_RESTART flag, exactly as Linux would.
constexpr std::int64_t kErestartSys = 512;

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
  if (detail::is_kick(sig, info)) {
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

void become_child_process();

bool is_thread_link(int fd) {
  std::lock_guard lock(g_thread_links_mu);
  return contains(g_thread_links, fd);
}

class Deputy {
 public:
  explicit Deputy(const DeputySetup& s) : link_(common::UniqueFd(s.link_fd)), setup_(s) {}
  [[noreturn]] void serve();
  // A deputy thread: serves its body thread's calls on `link` until the
  // supervisor closes it (the body thread is gone). Signals are the main
  // thread's business; they are blocked here.
  static void serve_thread(int link, DeputySetup setup);

 private:
  bool pass_signals();  // true if a signal was passed on
  void drop_cloexec_fds();
  [[noreturn]] void body_lost(const std::string& why);

  void fork_child();
  // Live migration: the main thread's part (see detail/DeputyControl.h).
  void begin_migration(const detail::MigrateOrder& o);
  void finish_migration(const wire::MigrateDone& done);
  void flush_exiled();
  bool exile_ = false;  // the body is in flight: signals wait, calls restart
  std::vector<int> exiled_signals_;
  std::optional<detail::MigrateOrder> moving_;
  std::chrono::steady_clock::time_point moving_since_;
  void start_thread();
  void await_ack();
  bool hidden(int fd) const { return contains(setup_.hidden, fd) || is_thread_link(fd); }
  bool worker_ = false;  // a deputy thread: no signal pipe, no exit of its own
  void serve_file_fetch(const wire::FileFetch& what);
  void serve_snapshot(const wire::SnapshotFile& snap);
  wire::SyscallReply close_range_around_hidden(const wire::SyscallRequest& req);

  common::FramedChannel link_;
  DeputySetup setup_;  // a child deputy replaces its link and signal pipe
};

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

// Makes the child's link and a fresh signal pipe, moves them out of the
// program's way, forks the child deputy, tells the supervisor, and waits for
// its ack. The body is blocked in its fork meanwhile, so nothing else
// arrives. The link is a socketpair whose other end the supervisor takes
// (at home), or, for a guest, a socket the child connects to the guest
// supervisor itself: made here, so its number is known to both sides.
void Deputy::fork_child() {
  wire::ForkDone done;
  std::vector<int> made;  // ours to close, once handed over or on failure
  auto fail = [&](int e) {
    for (int fd : made) {
      ::close(fd);
    }
    done.set_errno_code(e);
    done.set_error(std::strerror(e));
    (void)link_.send(MsgType::kForkDone, done);
  };
  int child_link = -1;
  int supervisor_end = -1;
  if (setup_.remote) {
    auto sock = common::session_socket(setup_.target.address);
    if (!sock) {
      return fail(sock.error());
    }
    child_link = hide_fd(sock->release());
    made = {child_link};
  } else {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return fail(errno);
    }
    size_link_buffers(sv);
    child_link = hide_fd(sv[0]);
    supervisor_end = hide_fd(sv[1]);
    made = {child_link, supervisor_end};
  }
  int pp[2];
  if (::pipe2(pp, O_CLOEXEC | O_NONBLOCK) != 0) {
    return fail(errno);
  }
  const int sig_read = hide_fd(pp[0]);
  const int sig_write = hide_fd(pp[1]);
  made.push_back(sig_read);
  made.push_back(sig_write);
  int child_control = detail::control_socket();
  if (child_control >= 0) {
    child_control = hide_fd(child_control);
    made.push_back(child_control);
  }
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    return fail(errno);
  }
  if (child == 0) {
    // The child deputy: the parent's link, signal pipe and threads' links
    // are not ours; we are its main thread even if a thread forked.
    become_child_process();
    worker_ = false;
    if (supervisor_end >= 0) {
      ::close(supervisor_end);
    }
    ::close(setup_.signal_read);
    ::close(setup_.signal_write);
    link_ = common::FramedChannel(common::UniqueFd(child_link));
    setup_.link_fd = child_link;
    setup_.signal_read = sig_read;
    setup_.signal_write = sig_write;
    setup_.hidden = {child_link, sig_read, sig_write};
    detail::control_reset_after_fork(setup_.control_fd);
    setup_.control_fd = child_control;
    if (child_control >= 0) {
      setup_.hidden.push_back(child_control);
    }
    g_signal_pipe = sig_write;
    if (setup_.remote) {
      auto r = common::connect_session(child_link, setup_.target.address, setup_.target.port,
                                       std::chrono::seconds(5));
      if (r) {
        r = common::prove_session(link_, setup_.target.token, ::getpid(), false);
      }
      if (!r) {
        body_lost("child deputy: " + r.error());
      }
    }
    detail::control_start(child_control, setup_.remote ? setup_.target.node : "home",
                          setup_.remote);
    return;
  }
  done.set_child_pid(child);
  done.set_link_fd(supervisor_end);  // -1 for a guest: the child dials
  for (int fd : {child_link, sig_read, sig_write, child_control}) {
    if (fd >= 0) {
      done.add_hidden(fd);
    }
  }
  if (auto r = link_.send(MsgType::kForkDone, done); !r) {
    body_lost(r.error());
  }
  await_ack();
  for (int fd : made) {
    ::close(fd);
  }
}

// The body's own kernel needs a home file (exec, mmap): its metadata, then
// its content if the supervisor has no copy of it yet.
void Deputy::serve_file_fetch(const wire::FileFetch& what) {
  wire::FileInfo info;
  common::UniqueFd own;
  int fd = -1;
  auto refuse = [&](int e) {
    info.set_errno_code(e);
    if (auto r = link_.send(MsgType::kFileInfo, info); !r) {
      body_lost(r.error());
    }
  };
  if (what.fd() >= 0) {
    fd = what.fd();
    const int fl = hidden(fd) ? -1 : ::fcntl(fd, F_GETFL);
    if (fl < 0) {
      return refuse(EBADF);
    }
    info.set_readable((fl & O_ACCMODE) != O_WRONLY && (fl & O_PATH) == 0);
    info.set_writable((fl & O_ACCMODE) != O_RDONLY && (fl & O_PATH) == 0);
    if (what.exec() && ::faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) != 0) {
      return refuse(errno);
    }
  } else {
    if (what.path().empty() || what.path().size() >= PATH_MAX) {
      return refuse(what.path().empty() ? ENOENT : ENAMETOOLONG);
    }
    if (what.exec() && ::faccessat(AT_FDCWD, what.path().c_str(), X_OK, AT_EACCESS) != 0) {
      return refuse(errno);
    }
    own.reset(::open(what.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!own) {
      return refuse(errno);
    }
    fd = own.get();
    info.set_readable(true);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return refuse(errno);
  }
  if (what.exec() && !S_ISREG(st.st_mode)) {
    return refuse(EACCES);
  }
  info.set_dev(st.st_dev);
  info.set_ino(st.st_ino);
  info.set_size(S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0);
  info.set_mtime_ns(static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  info.set_mode(st.st_mode);
  char where[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  if (const ssize_t n = ::readlink(link.c_str(), where, sizeof where); n > 0) {
    info.set_path(std::string(where, static_cast<std::size_t>(n)));
  }
  if (auto r = link_.send(MsgType::kFileInfo, info); !r) {
    body_lost(r.error());
  }
  auto f = link_.receive();
  if (!f) {
    body_lost(f.error());
  }
  wire::FileSend send;
  if (f->type != common::to_wire(MsgType::kFileSend) || !common::parse_payload(*f, send)) {
    body_lost("the supervisor broke off a file transfer");
  }
  if (!send.want()) {
    return;
  }
  constexpr std::size_t kChunk = 1 << 20;
  std::string buf;
  for (std::uint64_t off = 0; off < info.size();) {
    buf.resize(std::min<std::uint64_t>(kChunk, info.size() - off));
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    wire::FileChunk chunk;
    if (n <= 0) {
      chunk.set_errno_code(n < 0 ? errno : EIO);  // shrank or failed: end early
      off = info.size();
    } else {
      buf.resize(static_cast<std::size_t>(n));
      chunk.set_data(buf);
      off += static_cast<std::uint64_t>(n);
    }
    if (auto r = link_.send(MsgType::kFileChunk, chunk); !r) {
      body_lost(r.error());
    }
  }
}

// After a fork, in the child deputy: only the forking thread exists; the
// other threads' links are dead weight, and signals must reach us again.
void become_child_process() {
  {
    std::lock_guard lock(g_thread_links_mu);
    for (int fd : g_thread_links) {
      ::close(fd);
    }
    g_thread_links.clear();
  }
  sigset_t none;
  sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

// Waits for the supervisor to take its end of a new link (ForkAck); bounded
// by the link: if the supervisor dies, receive fails and so do we.
void Deputy::await_ack() {
  for (;;) {
    auto f = link_.receive();
    if (!f) {
      body_lost(f.error());
    }
    if (f->type == common::to_wire(MsgType::kForkAck)) {
      return;
    }
    MOS_LOG_WARN("mosrun: unexpected message type {} while a new link is handed over", f->type);
  }
}

void Deputy::start_thread() {
  wire::ThreadDone done;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    done.set_errno_code(errno);
    (void)link_.send(MsgType::kThreadDone, done);
    return;
  }
  size_link_buffers(sv);
  const int thread_link = hide_fd(sv[0]);
  const int supervisor_end = hide_fd(sv[1]);
  {
    std::lock_guard lock(g_thread_links_mu);
    g_thread_links.push_back(thread_link);
    g_thread_links.push_back(supervisor_end);
  }
  std::promise<pid_t> tid;
  auto got = tid.get_future();
  try {
    std::thread([thread_link, setup = setup_, &tid] {
      sigset_t all;
      sigfillset(&all);
      ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
      tid.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
      serve_thread(thread_link, setup);
    }).detach();
  } catch (const std::system_error& e) {
    done.set_errno_code(e.code().value() != 0 ? e.code().value() : EAGAIN);
    (void)link_.send(MsgType::kThreadDone, done);
    return;
  }
  done.set_tid(got.get());
  done.set_link_fd(supervisor_end);
  done.set_thread_link(thread_link);
  if (auto r = link_.send(MsgType::kThreadDone, done); !r) {
    body_lost(r.error());
  }
  await_ack();
  std::lock_guard lock(g_thread_links_mu);
  std::erase(g_thread_links, supervisor_end);
  ::close(supervisor_end);
}

void Deputy::serve_thread(int link, DeputySetup setup) {
  setup.link_fd = link;
  Deputy d(setup);
  d.worker_ = true;
  d.serve();
}

// A read-only file holding what the supervisor read from the body's /proc,
// at the lowest free fd as open would give it.
void Deputy::serve_snapshot(const wire::SnapshotFile& snap) {
  wire::SnapshotDone done;
  done.set_fd(-1);
  const std::string name = "mos-proc-" + snap.name();
  const int mfd = static_cast<int>(::syscall(SYS_memfd_create, name.c_str(), 0));
  if (mfd < 0) {
    done.set_errno_code(errno);
  } else {
    const std::string& d = snap.data();
    bool ok = true;
    for (std::size_t off = 0; ok && off < d.size();) {
      const ssize_t w = ::write(mfd, d.data() + off, d.size() - off);
      ok = w > 0;
      off += ok ? static_cast<std::size_t>(w) : 0;
    }
    const std::string self = "/proc/self/fd/" + std::to_string(mfd);
    const int ro = ok ? ::open(self.c_str(), O_RDONLY) : -1;
    if (ro < 0 || ::dup3(ro, mfd, snap.cloexec() ? O_CLOEXEC : 0) < 0) {
      done.set_errno_code(errno != 0 ? errno : EIO);
      ::close(mfd);
    } else {
      done.set_fd(mfd);
    }
    if (ro >= 0) {
      ::close(ro);
    }
  }
  if (auto r = link_.send(MsgType::kSnapshotDone, done); !r) {
    body_lost(r.error());
  }
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

// The main thread's part of a migration: Migrate goes to the supervisor
// of the body (which freezes it and sends it to the order's target); from
// here until the body runs again the program is in exile: signals wait in
// order, calls the body had already sent are answered with the restart.
void Deputy::begin_migration(const detail::MigrateOrder& o) {
  wire::Migrate m;
  m.set_node(o.node);
  m.set_address(o.address);
  m.set_port(o.port);
  m.set_token(o.token);
  moving_ = o;
  moving_since_ = std::chrono::steady_clock::now();
  exile_ = true;
  if (auto r = link_.send(MsgType::kMigrate, m); !r) {
    body_lost(r.error());
  }
}

void Deputy::flush_exiled() {
  exile_ = false;
  for (int sig : exiled_signals_) {
    wire::SignalBody s;
    s.set_signo(sig);
    (void)link_.send(MsgType::kSignalBody, s);
  }
  exiled_signals_.clear();
}

// The supervisor's answer: the body could not move (it runs on there), or
// it waits at the target, where we dial it and let it run; the source
// drops its copy only then (MigrateCommit), and resumes it if we cannot.
void Deputy::finish_migration(const wire::MigrateDone& done) {
  wire::MigrateReply reply;
  reply.set_from(setup_.remote ? setup_.target.node : "home");
  if (!moving_) {
    MOS_LOG_WARN("mosrun: a migration answer nobody asked for");
    return;
  }
  const detail::MigrateOrder o = *moving_;
  moving_.reset();
  reply.set_to(o.node);
  if (!done.error().empty()) {
    flush_exiled();
    reply.set_errno_code(done.retry() ? EAGAIN : ENOEXEC);
    reply.set_error(done.error());
    detail::control_finish(reply);
    return;
  }
  std::string why;
  std::unique_ptr<common::FramedChannel> next;
  std::vector<int> hidden;
  if (auto fd = common::dial_session(o.address, o.port, std::chrono::seconds(5)); !fd) {
    why = fd.error();
  } else {
    const int nfd = hide_fd(fd->release());
    next = std::make_unique<common::FramedChannel>(common::UniqueFd(nfd));
    hidden = {nfd, setup_.signal_read, setup_.signal_write};
    if (setup_.control_fd >= 0) {
      hidden.push_back(setup_.control_fd);
    }
    wire::BodyResume resume;
    for (int h : hidden) {
      resume.add_hidden(h);
    }
    auto r = common::prove_session(*next, o.token, ::getpid(), true);
    if (r) {
      r = next->send(MsgType::kBodyResume, resume);
    }
    if (r) {
      auto f = next->receive_for(std::chrono::seconds(10));
      wire::BodyResumed resumed;
      if (!f) {
        r = std::unexpected(f.error());
      } else if (f->type != common::to_wire(MsgType::kBodyResumed) ||
                 !common::parse_payload(*f, resumed) || !resumed.error().empty()) {
        r = std::unexpected(std::string("the target did not resume the body"));
      }
    }
    if (!r) {
      why = r.error();
    }
  }
  wire::MigrateCommit commit;
  commit.set_resume_here(!why.empty());
  (void)link_.send(MsgType::kMigrateCommit, commit);
  if (!why.empty()) {
    flush_exiled();  // on the old link: the body runs on where it was
    reply.set_errno_code(EHOSTUNREACH);
    reply.set_error(fmt::format("{} could not take the body: {}", o.node, why));
    detail::control_finish(reply);
    return;
  }
  link_ = std::move(*next);
  setup_.link_fd = link_.fd();
  setup_.hidden = hidden;
  if (!setup_.remote) {
    // Off the terminal's process group now: its signals reach only us.
    setup_.remote = true;
    g_body_remote = true;
    pass_job_control_signals();
  }
  setup_.target = RemoteTarget{o.node, o.address, o.port, o.token};
  detail::control_set_where(o.node, true);
  flush_exiled();
  reply.set_frozen_us(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - moving_since_)
                                     .count()));
  reply.set_bytes(done.image_bytes());
  detail::control_finish(reply);
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

void Deputy::serve() {
  for (;;) {
    if (!worker_ && !exile_) {
      if (auto o = detail::control_take()) {
        begin_migration(*o);
      }
    }
    common::Frame f;
    if (link_.buffered(f) != common::FrameStatus::kOk) {
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
              reply = execute(req);
            }
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

}  // namespace

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
