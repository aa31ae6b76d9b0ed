#include "common/Cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fmt/format.h>
#include <linux/magic.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/Files.h"

namespace mos::common {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) {
      return out;
    }
    start = pos + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (std::size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        ok = ok && c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

bool CgroupHierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::vector<CgroupHierarchy> list_cgroup_hierarchies() {
  std::vector<CgroupHierarchy> out;
  auto text = read_text_file("/proc/self/mountinfo");
  if (!text) {
    return out;
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    auto left = split(std::string_view(line).substr(0, dash), ' ');
    auto right = split(std::string_view(line).substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) {
      continue;
    }
    CgroupHierarchy h;
    if (right[0] == "cgroup2") {
      h.version = CgroupVersion::kV2;
    } else if (right[0] == "cgroup") {
      h.version = CgroupVersion::kV1;
      h.controllers = split(right[2], ',');
    } else {
      continue;
    }
    h.mount_root = unescape_mountinfo(left[3]);
    h.mount_point = unescape_mountinfo(left[4]);
    out.push_back(std::move(h));
  }
  return out;
}

bool cgroup_unified_only() {
  struct statfs fs;
  return ::statfs("/sys/fs/cgroup", &fs) == 0 &&
         static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC;
}

std::optional<CgroupHierarchy> find_cgroup_hierarchy(std::string_view controller) {
  auto all = list_cgroup_hierarchies();
  for (auto& h : all) {
    if (h.version == CgroupVersion::kV1 && h.has(controller)) {
      return h;
    }
  }
  if (cgroup_unified_only()) {
    for (auto& h : all) {
      if (h.version == CgroupVersion::kV2 && h.mount_point == "/sys/fs/cgroup") {
        return h;
      }
    }
  }
  return std::nullopt;
}

std::expected<std::string, std::string> cgroup_path_of(pid_t pid, const CgroupHierarchy& h) {
  auto file = pid == 0 ? std::string("/proc/self/cgroup") : fmt::format("/proc/{}/cgroup", pid);
  auto text = read_text_file(file);
  if (!text) {
    return std::unexpected(text.error());
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    std::string_view ctrls = std::string_view(line).substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (h.version == CgroupVersion::kV2) {
      if (line.starts_with("0:") && ctrls.empty()) {
        return path;
      }
      continue;
    }
    for (const auto& c : split(ctrls, ',')) {
      if (!c.empty() && h.has(c)) {
        return path;
      }
    }
  }
  return std::unexpected(
      fmt::format("{}: no entry for the cgroup hierarchy at {}", file, h.mount_point.string()));
}

std::filesystem::path cgroup_dir(const CgroupHierarchy& h, std::string_view path) {
  std::string_view rel = path;
  if (h.mount_root != "/" && rel.starts_with(h.mount_root)) {
    rel.remove_prefix(h.mount_root.size());
  }
  while (rel.starts_with('/')) {
    rel.remove_prefix(1);
  }
  return rel.empty() ? h.mount_point : h.mount_point / rel;
}

std::vector<std::filesystem::path> cgroup_dirs_of(pid_t pid) {
  std::vector<std::filesystem::path> out;
  for (const auto& h : list_cgroup_hierarchies()) {
    if (auto p = cgroup_path_of(pid, h)) {
      out.push_back(cgroup_dir(h, *p));
    }
  }
  return out;
}

std::expected<void, std::string> cgroup_create(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return std::unexpected(fmt::format("create cgroup {}: {}", dir.string(), ec.message()));
  }
  return {};
}

std::expected<void, std::string> cgroup_write(const std::filesystem::path& dir,
                                              std::string_view file, std::string_view value) {
  return write_special_file(dir / file, value);
}

std::expected<void, std::string> cgroup_join(const std::filesystem::path& dir, pid_t pid) {
  return cgroup_write(dir, "cgroup.procs", fmt::format("{}", pid));
}

std::vector<pid_t> cgroup_pids(const std::filesystem::path& dir) {
  std::vector<pid_t> out;
  auto text = read_text_file(dir / "cgroup.procs");
  if (!text) {
    return out;
  }
  std::istringstream in(*text);
  pid_t p;
  while (in >> p) {
    out.push_back(p);
  }
  return out;
}

std::expected<void, std::string> cgroup_set_cpu_limit(CgroupVersion v,
                                                      const std::filesystem::path& dir, double cpus,
                                                      long period_us) {
  long quota = std::lround(cpus * static_cast<double>(period_us));
  if (v == CgroupVersion::kV2) {
    return cgroup_write(dir, "cpu.max", fmt::format("{} {}", quota, period_us));
  }
  if (auto r = cgroup_write(dir, "cpu.cfs_period_us", fmt::format("{}", period_us)); !r) {
    return r;
  }
  return cgroup_write(dir, "cpu.cfs_quota_us", fmt::format("{}", quota));
}

std::expected<void, std::string> cgroup_set_memory_limit(CgroupVersion v,
                                                         const std::filesystem::path& dir,
                                                         unsigned long long bytes) {
  return cgroup_write(dir, v == CgroupVersion::kV2 ? "memory.max" : "memory.limit_in_bytes",
                      fmt::format("{}", bytes));
}

std::expected<void, std::string> cgroup_enable_controllers(
    const std::filesystem::path& dir, const std::vector<std::string>& controllers) {
  std::string line;
  for (const auto& c : controllers) {
    line += fmt::format("{}+{}", line.empty() ? "" : " ", c);
  }
  return cgroup_write(dir, "cgroup.subtree_control", line);
}

std::expected<void, std::string> cgroup_remove_tree(const std::filesystem::path& dir,
                                                    std::chrono::milliseconds timeout) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return {};
  }
  std::vector<std::filesystem::path> dirs{dir};
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      dirs.push_back(it->path());
    }
  }
  // Deepest first: a v1 or v2 cgroup with children cannot be removed.
  std::stable_sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) {
    return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& d : dirs) {
    for (;;) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) {
        break;
      }
      int err = errno;
      if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) {
        auto left = cgroup_pids(d);
        return std::unexpected(
            fmt::format("remove cgroup {}: {}{}", d.string(), std::strerror(err),
                        left.empty() ? "" : fmt::format(" ({} processes left)", left.size())));
      }
      for (pid_t p : cgroup_pids(d)) {
        ::kill(p, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return {};
}

std::expected<void, std::string> cgroup_join_all(const std::vector<std::filesystem::path>& dirs) {
  for (const auto& dir : dirs) {
    if (auto r = cgroup_join(dir); !r) {
      return r;
    }
  }
  return {};
}

}  // namespace mos::common
