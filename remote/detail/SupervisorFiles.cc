// Fds and files: mirrors at home; a guest's exec, mmap and /proc views
// (see SupervisorImpl.h).
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
    // exec of /proc/self/exe (a program running itself again): the image
    // is the body's own, known at home by the path it was staged from.
    std::string image = *path;
    if (detail::body_proc_entry(*path, m.process_pid) == "exe") {
      image = program_exe(m);
      if (image.empty()) {
        return {false, -ENOENT};
      }
    }
    staged = files_->stage_exec(*m.link, image, other_frames(m), image == *path ? "" : *path);
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
  m.exe.clear();  // the new image is a staged file: its own link tells
  return {true, 0};
}

// A guest body's paths as we see them carry the staging root; the program
// knows them without it (and memfd copies of home files by their names).
std::string Supervisor::program_exe(const Member& m) const {
  if (!m.exe.empty()) {
    return m.exe;
  }
  char buf[PATH_MAX];
  const ssize_t len = ::readlink(fmt::format("/proc/{}/exe", m.host_pid).c_str(), buf, sizeof buf);
  return len > 0 ? unstage(std::string(buf, static_cast<std::size_t>(len))) : std::string();
}

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
    auto w =
        mem.write(addr, std::span(reinterpret_cast<const std::uint8_t*>(target.data()), n_out));
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

}  // namespace mos::remote::detail
