#pragma once
// Control groups, v1 and v2. A cgroup is named by its path inside a hierarchy
// ("/mosix/node1"); cgroup_dir() turns that into a directory under the
// hierarchy's mount point. On a v1 (or hybrid) system each controller has its
// own hierarchy (or shares one, e.g. "cpu,cpuacct"); on a v2-only system the
// single unified hierarchy carries every controller.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mos::common {

enum class CgroupVersion { kV1, kV2 };

struct CgroupHierarchy {
  CgroupVersion version = CgroupVersion::kV1;
  // v1: the controllers named in the mount options (plus "name=..." for a
  // named hierarchy); v2: empty, see cgroup.controllers.
  std::vector<std::string> controllers;
  std::filesystem::path mount_point;
  std::string mount_root;  // the cgroup path the mount shows at mount_point

  bool has(std::string_view controller) const;
};

// Every mounted cgroup hierarchy, from /proc/self/mountinfo.
std::vector<CgroupHierarchy> list_cgroup_hierarchies();
// True when the only hierarchy is v2 mounted at /sys/fs/cgroup (no v1 ones).
bool cgroup_unified_only();
// The hierarchy that carries `controller` ("cpu", "cpuacct", "memory"): its
// v1 hierarchy if mounted, else the unified one if that is the only kind.
std::optional<CgroupHierarchy> find_cgroup_hierarchy(std::string_view controller);

// The cgroup path of `pid` (0 = ourselves) in `h`, from /proc/PID/cgroup.
std::expected<std::string, std::string> cgroup_path_of(pid_t pid, const CgroupHierarchy& h);
// The directory of cgroup `path` in `h`.
std::filesystem::path cgroup_dir(const CgroupHierarchy& h, std::string_view path);
// The directory of every cgroup `pid` is in, one per mounted hierarchy.
std::vector<std::filesystem::path> cgroup_dirs_of(pid_t pid);

// mkdir -p; an existing directory is fine.
std::expected<void, std::string> cgroup_create(const std::filesystem::path& dir);
std::expected<void, std::string> cgroup_write(const std::filesystem::path& dir,
                                              std::string_view file, std::string_view value);
// Moves `pid` (0 = the caller) into the cgroup. Children forked later inherit it.
std::expected<void, std::string> cgroup_join(const std::filesystem::path& dir, pid_t pid = 0);
// Joins every directory in `dirs` in order; the first failure is returned.
std::expected<void, std::string> cgroup_join_all(const std::vector<std::filesystem::path>& dirs);
std::vector<pid_t> cgroup_pids(const std::filesystem::path& dir);

// Limits CPU time to `cpus` CPUs' worth (0.5 = half of one CPU) with period
// `period_us`: cpu.cfs_quota_us/cfs_period_us on v1, cpu.max on v2.
std::expected<void, std::string> cgroup_set_cpu_limit(CgroupVersion v,
                                                      const std::filesystem::path& dir, double cpus,
                                                      long period_us = 100000);
// memory.limit_in_bytes on v1, memory.max on v2.
std::expected<void, std::string> cgroup_set_memory_limit(CgroupVersion v,
                                                         const std::filesystem::path& dir,
                                                         unsigned long long bytes);
// v2: lets the children of `dir` use `controllers` (writes "+cpu +memory" to
// cgroup.subtree_control). A controller the kernel lacks is an error.
std::expected<void, std::string> cgroup_enable_controllers(
    const std::filesystem::path& dir, const std::vector<std::string>& controllers);

// Removes `dir` and every cgroup below it, deepest first. Processes still
// inside are SIGKILLed and the removal retried until `timeout`. A missing
// directory is success.
std::expected<void, std::string> cgroup_remove_tree(const std::filesystem::path& dir,
                                                    std::chrono::milliseconds timeout);

}  // namespace mos::common
