// The deputy's tree work: a child deputy for a body's fork, a deputy thread
// for a body thread, and the home files and /proc snapshots a supervisor
// asks for. See home/detail/DeputyImpl.h.

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "home/Executor.h"
#include "home/detail/DeputyImpl.h"

namespace mos::home::detail {

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

}  // namespace mos::home::detail
