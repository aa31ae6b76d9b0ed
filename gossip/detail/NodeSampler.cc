#include "gossip/NodeSampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace mos::gossip {
namespace {

bool is_number(const char* s) {
  if (*s == '\0') {
    return false;
  }
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') {
      return false;
    }
  }
  return true;
}

// The state letter of /proc/PID/task/TID/stat: the field after the last ')'
// (a process may put ')' in its own name).
char read_state(int dirfd, const char* path) {
  int fd = ::openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return '?';
  }
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) {
    return '?';
  }
  buf[n] = '\0';
  const char* paren = std::strrchr(buf, ')');
  if (paren == nullptr || paren[1] != ' ' || paren[2] == '\0') {
    return '?';
  }
  return paren[2];
}

std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::uint64_t v = 0;
  if (in >> v) {
    return v;
  }
  return std::nullopt;
}

// The cgroup (v1) path of this process for `controller`, e.g. "/mosix/node2".
std::optional<std::string> cgroup_of(const std::filesystem::path& proc,
                                     std::string_view controller) {
  std::ifstream in(proc / "self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // "ID:controllers:path"
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      continue;
    }
    std::string_view ctrls(line.data() + a + 1, b - a - 1);
    for (std::size_t pos = 0; pos <= ctrls.size();) {
      auto end = ctrls.find(',', pos);
      if (end == std::string_view::npos) {
        end = ctrls.size();
      }
      if (ctrls.substr(pos, end - pos) == controller) {
        return line.substr(b + 1);
      }
      pos = end + 1;
    }
  }
  return std::nullopt;
}

}  // namespace

NodeSampler::NodeSampler(std::filesystem::path proc, std::filesystem::path cgroup_root)
    : proc_(std::move(proc)), cgroup_root_(std::move(cgroup_root)) {}

NodeSample NodeSampler::sample() const {
  NodeSample s;
  const pid_t self = ::getpid();

  if (DIR* d = ::opendir(proc_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (!is_number(e->d_name)) {
        continue;
      }
      pid_t pid = 0;
      std::from_chars(e->d_name, e->d_name + std::strlen(e->d_name), pid);
      if (pid == self) {
        continue;  // sampling is our own work, not load
      }
      std::string task_dir = std::string(e->d_name) + "/task";
      int tfd = ::openat(::dirfd(d), task_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (tfd < 0) {
        continue;  // exited meanwhile
      }
      DIR* td = ::fdopendir(tfd);
      if (td == nullptr) {
        ::close(tfd);
        continue;
      }
      std::uint32_t running = 0;
      while (dirent* t = ::readdir(td)) {
        if (!is_number(t->d_name)) {
          continue;
        }
        std::string stat = std::string(t->d_name) + "/stat";
        if (read_state(::dirfd(td), stat.c_str()) == 'R') {
          ++running;
        }
      }
      ::closedir(td);
      if (running == 0) {
        continue;
      }
      s.runnable_local += running;
      if (is_guest_ && is_guest_(pid)) {
        s.runnable_guest += running;
      }
    }
    ::closedir(d);
  }
  s.runnable_local -= s.runnable_guest;

  // Memory: the machine's, narrowed by our memory cgroup's limit.
  std::ifstream mi(proc_ / "meminfo");
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (mi >> key >> value) {
    std::getline(mi, unit);
    if (key == "MemTotal:") {
      s.mem_total = value * 1024;
    } else if (key == "MemAvailable:") {
      s.mem_free = value * 1024;
    }
  }
  if (auto cg = cgroup_of(proc_, "memory")) {
    auto dir = cgroup_root_ / "memory" / std::filesystem::path(*cg).relative_path();
    auto limit = read_u64(dir / "memory.limit_in_bytes");
    auto usage = read_u64(dir / "memory.usage_in_bytes");
    if (limit && usage && *limit < s.mem_total) {
      s.mem_total = *limit;
      const std::uint64_t room = *limit > *usage ? *limit - *usage : 0;
      s.mem_free = std::min(s.mem_free, room);
    }
  }

  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    s.cores = static_cast<std::uint32_t>(CPU_COUNT(&set));
  } else {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    s.cores = n > 0 ? static_cast<std::uint32_t>(n) : 1;
  }
  // A CFS quota (cgroup v1 cpu) narrows the CPUs to what it allows, rounded
  // up: a node limited to 1.5 CPUs has 2 cores (at its speed).
  if (auto cg = cgroup_of(proc_, "cpu")) {
    auto dir = cgroup_root_ / "cpu" / std::filesystem::path(*cg).relative_path();
    for (;;) {
      auto quota = read_u64(dir / "cpu.cfs_quota_us");  // -1 (no quota) does not parse
      auto period = read_u64(dir / "cpu.cfs_period_us");
      if (quota && period && *period > 0) {
        const auto allowed = static_cast<std::uint32_t>((*quota + *period - 1) / *period);
        s.cores = std::max<std::uint32_t>(1, std::min(s.cores, allowed));
      }
      if (dir == cgroup_root_ / "cpu" || !dir.has_parent_path() || dir.parent_path() == dir) {
        break;
      }
      dir = dir.parent_path();
    }
  }
  return s;
}

double calibrate_speed(std::chrono::milliseconds duration) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + duration;
  std::uint64_t x = 88172645463325252ull;
  std::uint64_t iterations = 0;
  while (Clock::now() < end) {
    // A xorshift chain: integer work the compiler cannot fold away.
    for (int i = 0; i < 4096; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    iterations += 4096;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  // Keep x alive so the loop is not removed.
  asm volatile("" : : "r"(x));
  return secs > 0 ? (static_cast<double>(iterations) / secs) / kReferenceRate : 1.0;
}

}  // namespace mos::gossip
