#pragma once
// What a node says about itself in its LoadRecord: runnable processes,
// memory, cores and speed, read from /proc and the node's cgroups.
//
// On a moscluster node the daemon runs in the node's own PID namespace (with
// its own /proc) and cgroup, so it sees exactly the node's processes and the
// node's memory limit, as a daemon on a real machine sees the machine's.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace mos::gossip {

struct NodeSample {
  std::uint32_t runnable_local = 0;  // runnable threads, ours excluded
  std::uint32_t runnable_guest = 0;  // of those, threads of guest bodies
  std::uint64_t mem_total = 0;       // bytes: the cgroup limit if lower than RAM
  std::uint64_t mem_free = 0;        // bytes available to new work
  std::uint32_t cores = 0;           // CPUs this daemon may run on
};

class NodeSampler {
 public:
  // `is_guest(pid)` tells guest bodies from local processes (none yet: the
  // remote supervisor will provide it).
  explicit NodeSampler(std::filesystem::path proc = "/proc",
                       std::filesystem::path cgroup_root = "/sys/fs/cgroup");

  void set_guest_classifier(std::function<bool(pid_t)> is_guest) {
    is_guest_ = std::move(is_guest);
  }
  // Never fails: a file that cannot be read (a process that exited mid-scan,
  // a missing cgroup) contributes nothing.
  NodeSample sample() const;

 private:
  std::filesystem::path proc_;
  std::filesystem::path cgroup_root_;
  std::function<bool(pid_t)> is_guest_;
};

// Relative CPU speed of this node as the cluster sees it: runs a fixed
// integer workload for `duration` (longer than a CFS period, so a cgroup
// quota shows) and divides the achieved rate by kReferenceRate.
inline constexpr double kReferenceRate = 4.0e8;  // iterations/s of one reference core
double calibrate_speed(std::chrono::milliseconds duration = std::chrono::milliseconds(300));

}  // namespace mos::gossip
