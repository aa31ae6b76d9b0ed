#pragma once
// The layout of the cluster that `moscluster` builds on one machine, and how
// to find and enter its nodes. moscluster creates and removes it; tests,
// benchmarks and tools that need "node 2 of the local cluster" look it up
// here rather than hard-coding paths.
//
// Node K is called "nodeK" and has
//   - network namespace mos-nodeK (/run/netns/mos-nodeK): eth0 with
//     10.77.0.K/24, lo; its veth peer mosvethK is a port of bridge mosbr0,
//     which (like the host) has no address;
//   - an init (PID 1 of its PID namespace) that also holds its mount, UTS
//     and IPC namespaces: private /tmp (bind of /var/tmp/moscluster/nodeK/tmp),
//     /run/mosix (tmpfs, holds mosixd.sock and scratch/), /dev/shm and /proc;
//   - cgroup mosix/nodeK in the cpu and cpuacct hierarchies (and memory when
//     limited), below the cgroup of whoever ran `moscluster up` (at the root
//     of a v2-only hierarchy);
//   - state in /run/moscluster/nodeK: init.pid, mosixd.pid, mosixd.toml,
//     mosixd.log, node (key=value). Cluster-wide: /run/moscluster/secret,
//     cluster, cgroups.

#include <sys/types.h>

#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Cgroup.h"
#include "common/Namespaces.h"

namespace mos::common::local_cluster {

inline const std::filesystem::path kStateDir = "/run/moscluster";
inline const std::filesystem::path kScratchRoot = "/var/tmp/moscluster";
inline const std::filesystem::path kNodeRunDir = "/run/mosix";
inline constexpr std::string_view kBridge = "mosbr0";
inline constexpr std::string_view kNetnsPrefix = "mos-";    // + node name
inline constexpr std::string_view kNetnsGlob = "mos-node";  // every node's netns
inline constexpr std::string_view kVethPrefix = "mosveth";  // + node number
inline constexpr std::string_view kSubnetPrefix = "10.77.0.";
inline constexpr std::string_view kCgroupParent = "mosix";
inline constexpr int kMaxNodes = 254;
// argv[1] of a node's init (`moscluster __node-init nodeK`).
inline constexpr std::string_view kInitMode = "__node-init";
inline constexpr std::string_view kIptablesComment = "moscluster";

std::string node_name(int k);
std::string node_address(int k);
std::string netns_of(std::string_view node);
std::string veth_of(int k);
std::filesystem::path node_dir(std::string_view node);

// Nodes that have a state directory or a network namespace, node2 before node10.
std::vector<std::string> known_nodes();
// The bridge and the host-side veth ends that exist now.
std::vector<std::string> cluster_links();

// The node's init pid, if it runs and really is that node's init (its
// network namespace is the node's, so a recycled pid is not taken for it).
std::optional<pid_t> node_init(std::string_view node);
// The node's mosixd pid, if the recorded one runs as a child of the init.
std::optional<pid_t> node_daemon(std::string_view node);
// The cgroup directories of the node, read off its init.
std::vector<std::filesystem::path> node_cgroups(pid_t init, std::string_view node);

// What it takes to run something inside a node. The namespace handles stay
// valid even if the node dies meanwhile (entering a dead node's PID
// namespace then fails at fork).
struct NodeHandle {
  pid_t init = 0;
  NamespaceSet namespaces;  // net, uts, ipc, pid, mnt of the init
  std::vector<std::filesystem::path> cgroups;
};
std::expected<NodeHandle, std::string> open_node(std::string_view node);

// Where "mosix" goes in each cgroup hierarchy a node needs.
struct CgroupSlot {
  CgroupHierarchy hierarchy;
  std::string parent_path;  // e.g. "/mosix"
  bool cpu = false;         // carries the cpu controller: set the quota here
  bool memory = false;      // carries the memory controller: set the limit here
};
std::expected<std::vector<CgroupSlot>, std::string> plan_cgroups(bool want_memory);
// Every "mosix" cgroup directory a cluster may have made: the recorded ones
// and the places plan_cgroups() would put them.
std::vector<std::filesystem::path> candidate_cgroup_parents();

// /run/moscluster/cluster: what `down` must know beyond names.
struct ClusterState {
  int nodes = 0;
  std::filesystem::path mosixd;
  bool created_run_mosix = false;  // /run/mosix did not exist before `up`
  bool created_run_netns = true;   // /run/netns did not exist before `up`
  bool iptables_rule = false;      // `up` allowed forwarding on the bridge

  static ClusterState load();
  std::expected<void, std::string> save() const;
};

struct NodeSpec {
  std::string name;
  std::string address;
  double speed = 1.0;
  std::optional<unsigned long long> memory;
};
// mosixd.toml for node `self` of a cluster made of `all`.
// Gossip settings written into every node's [gossip] table; 0 = the
// daemon's default (down_after: derived from the cluster size).
struct GossipSettings {
  double period_s = 1.0;
  double down_after_s = 0.0;
};
// `policy_period_s` > 0: [policy] automatic = true with that period (the
// daemons move bodies); 0: no automatic migration.
std::string daemon_config(const NodeSpec& self, const std::vector<NodeSpec>& all,
                          std::string_view log_level, const GossipSettings& gossip = {},
                          double policy_period_s = 0.0);

// Runs as PID 1 of a node's fresh mount namespace: the node's private mounts
// and its hostname.
// `expose`: host directories under /tmp that the node sees at the same path,
// bound over its private /tmp (the build tree of a checkout under /tmp).
std::expected<void, std::string> prepare_node_mounts(
    const std::string& node, const std::vector<std::filesystem::path>& expose = {});

// The iptables rule (op "-I" or "-D") that lets bridged traffic between
// nodes pass a host firewall that br_netfilter would otherwise apply to it.
std::vector<std::string> iptables_forward_rule(std::string_view op);

// Removes every trace of a cluster that can be found, by name as well as
// through the state files: daemons (SIGTERM, SIGKILL after 10 s), node inits
// and anything else in a node's network namespace (SIGKILL), cgroups,
// network namespaces, links, the iptables rule, /run/netns if `up` made it,
// state and scratch directories. Safe to run any number of times.
struct RemoveResult {
  bool found = false;                 // was anything there at all
  std::vector<std::string> problems;  // what could not be removed
};
RemoveResult remove_cluster();

std::optional<pid_t> read_pid_file(const std::filesystem::path& file);

// nodeK/node: name, address, speed, memory (bytes, empty = no limit), cgroup.
std::expected<void, std::string> write_node_info(const NodeSpec& node, std::string_view cgroup);
std::map<std::string, std::string> read_node_info(std::string_view node);

}  // namespace mos::common::local_cluster
