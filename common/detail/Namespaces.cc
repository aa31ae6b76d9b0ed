#include "common/Namespaces.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>

#include "common/Assert.h"
#include "common/Cgroup.h"
#include "common/Files.h"
#include "common/detail/SpawnReport.h"

namespace mos::common {

std::string_view ns_proc_name(Ns kind) {
  switch (kind) {
    case Ns::kUser:
      return "user";
    case Ns::kMount:
      return "mnt";
    case Ns::kUts:
      return "uts";
    case Ns::kIpc:
      return "ipc";
    case Ns::kNet:
      return "net";
    case Ns::kPid:
      return "pid";
    case Ns::kCgroup:
      return "cgroup";
    case Ns::kTime:
      return "time";
  }
  return "?";
}

int ns_clone_flag(Ns kind) {
  switch (kind) {
    case Ns::kUser:
      return CLONE_NEWUSER;
    case Ns::kMount:
      return CLONE_NEWNS;
    case Ns::kUts:
      return CLONE_NEWUTS;
    case Ns::kIpc:
      return CLONE_NEWIPC;
    case Ns::kNet:
      return CLONE_NEWNET;
    case Ns::kPid:
      return CLONE_NEWPID;
    case Ns::kCgroup:
      return CLONE_NEWCGROUP;
    case Ns::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

std::optional<NsId> ns_id_of(const std::filesystem::path& nsfs_file) {
  struct stat st;
  if (::stat(nsfs_file.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return NsId{st.st_dev, st.st_ino};
}

std::optional<NsId> ns_id_of(pid_t pid, Ns kind) {
  return ns_id_of(fmt::format("/proc/{}/ns/{}", pid, ns_proc_name(kind)));
}

std::vector<pid_t> pids_in_namespace(const NsId& id, Ns kind) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') {
      continue;
    }
    if (ns_id_of(static_cast<pid_t>(pid), kind) == id) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return out;
}

std::expected<void, std::string> new_time_namespace_for_children(std::int64_t monotonic_ns,
                                                                 std::int64_t boottime_ns) {
  if (::unshare(CLONE_NEWTIME) != 0) {
    return std::unexpected(errno_message("unshare(CLONE_NEWTIME)", errno));
  }
  // Seconds rounded down, nanoseconds 0..999999999, as the file wants.
  auto line = [](const char* clock, std::int64_t ns) {
    std::int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
    if (nsec < 0) {
      nsec += 1000000000;
      --sec;
    }
    return fmt::format("{} {} {}\n", clock, sec, nsec);
  };
  const std::string text = line("monotonic", monotonic_ns) + line("boottime", boottime_ns);
  UniqueFd fd(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return std::unexpected(errno_message("writing /proc/self/timens_offsets", errno));
  }
  return {};
}

std::expected<NamespaceSet, std::string> NamespaceSet::open_of(pid_t pid,
                                                               std::initializer_list<Ns> kinds) {
  NamespaceSet set;
  for (Ns kind : kinds) {
    auto path = fmt::format("/proc/{}/ns/{}", pid, ns_proc_name(kind));
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return std::unexpected(errno_message(fmt::format("open {}", path), errno));
    }
    set.add(kind, std::move(fd));
  }
  return set;
}

void NamespaceSet::add(Ns kind, UniqueFd fd) {
  fds_.emplace_back(kind, std::move(fd));
}

std::expected<void, std::string> NamespaceSet::enter() const {
  // Lower rank enters first.
  auto rank = [](Ns k) {
    switch (k) {
      case Ns::kUser:
        return 0;
      case Ns::kMount:
        return 9;
      default:
        return 5;
    }
  };
  std::vector<const std::pair<Ns, UniqueFd>*> order;
  for (const auto& p : fds_) {
    order.push_back(&p);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](auto* a, auto* b) { return rank(a->first) < rank(b->first); });
  for (const auto* p : order) {
    if (::setns(p->second.get(), ns_clone_flag(p->first)) != 0) {
      return std::unexpected(
          errno_message(fmt::format("setns {} namespace", ns_proc_name(p->first)), errno));
    }
  }
  return {};
}

std::filesystem::path named_netns_path(std::string_view name) {
  return std::filesystem::path("/run/netns") / name;
}

std::expected<UniqueFd, std::string> open_named_netns(std::string_view name) {
  auto path = named_netns_path(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(errno_message(fmt::format("open {}", path.string()), errno));
  }
  return fd;
}

std::vector<std::string> list_named_netns(std::string_view prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    auto name = e.path().filename().string();
    if (name.starts_with(prefix)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::expected<UniqueFd, std::string> socket_in_netns(const UniqueFd& netns, int domain, int type) {
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own) {
    return std::unexpected(errno_message("open /proc/thread-self/ns/net", errno));
  }
  if (::setns(netns.get(), CLONE_NEWNET) != 0) {
    return std::unexpected(errno_message("setns network namespace", errno));
  }
  UniqueFd sock(::socket(domain, type | SOCK_CLOEXEC, 0));
  int err = errno;
  // Staying in the wrong network namespace would silently misdirect every
  // later socket of this process: that is not recoverable.
  MOS_ASSERT(::setns(own.get(), CLONE_NEWNET) == 0, "cannot return to own network namespace");
  if (!sock) {
    return std::unexpected(errno_message("socket", err));
  }
  return sock;
}

std::expected<void, std::string> make_mounts_private() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::unexpected(errno_message("make / private (mount MS_REC|MS_PRIVATE)", errno));
  }
  return {};
}

std::expected<void, std::string> bind_mount(const std::filesystem::path& source,
                                            const std::filesystem::path& target) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return std::unexpected(
        errno_message(fmt::format("bind mount {} on {}", source.string(), target.string()), errno));
  }
  return {};
}

std::expected<void, std::string> mount_tmpfs(const std::filesystem::path& target,
                                             std::string_view options) {
  std::string opts(options);
  if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    return std::unexpected(errno_message(fmt::format("mount tmpfs on {}", target.string()), errno));
  }
  return {};
}

std::expected<void, std::string> mount_proc(const std::filesystem::path& target) {
  if (::mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return std::unexpected(errno_message(fmt::format("mount proc on {}", target.string()), errno));
  }
  return {};
}

void detach_mount(const std::filesystem::path& target) {
  ::umount2(target.c_str(), MNT_DETACH);
}

std::expected<pid_t, std::string> spawn_namespace_init(NamespaceInitSpec spec) {
  MOS_ASSERT(std::find(spec.create.begin(), spec.create.end(), Ns::kPid) != spec.create.end(),
             "a namespace init needs a new PID namespace");
  MOS_ASSERT(!spec.argv.empty(), "empty argv");
  auto report = detail::SpawnReport::create();
  if (!report) {
    return std::unexpected(report.error());
  }
  std::vector<char*> argv;
  for (auto& a : spec.argv) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int flags = 0;
  for (Ns k : spec.create) {
    flags |= ns_clone_flag(k);
  }

  pid_t outer = ::fork();
  if (outer < 0) {
    return std::unexpected(errno_message("fork", errno));
  }
  if (outer == 0) {
    // Still in the caller's PID namespace: join, unshare, then fork PID 1.
    if (auto r = cgroup_join_all(spec.cgroups); !r) {
      report->report_error(r.error());
      ::_exit(127);
    }
    for (const auto& [kind, fd] : spec.join) {
      if (::setns(fd.get(), ns_clone_flag(kind)) != 0) {
        report->fail(fmt::format("setns {} namespace", ns_proc_name(kind)), errno);
      }
    }
    if (::unshare(flags) != 0) {
      report->fail("unshare", errno);
    }
    if (spec.clock_offset_s) {
      const std::int64_t ns = *spec.clock_offset_s * 1000000000;
      if (auto r = new_time_namespace_for_children(ns, ns); !r) {
        report->report_error(r.error());
        ::_exit(127);
      }
    }
    pid_t init = ::fork();
    if (init < 0) {
      report->fail("fork PID 1", errno);
    }
    if (init > 0) {
      ::_exit(0);
    }
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {
      report->fail("open /dev/null", errno);
    }
    for (int i = 0; i < 3; ++i) {
      ::dup2(null, i);
    }
    if (::chdir("/") != 0) {
      report->fail("chdir /", errno);
    }
    if (spec.setup) {
      if (auto r = spec.setup(); !r) {
        report->report_error(r.error());
        ::_exit(127);
      }
    }
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    report->report_started();
    ::execv(argv[0], argv.data());
    report->fail(fmt::format("execv {}", argv[0]), errno);
  }
  report->close_writer();
  int status = 0;
  while (::waitpid(outer, &status, 0) < 0 && errno == EINTR) {
  }
  return report->collect(spec.timeout);
}

}  // namespace mos::common
