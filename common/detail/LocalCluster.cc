#include "common/LocalCluster.h"
#include "common/Text.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>
#include <sstream>

#include "common/Files.h"
#include "common/Log.h"
#include "common/Process.h"
#include "common/UniqueFd.h"
#include "common/VirtualNet.h"

namespace mos::common::local_cluster {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
template <typename T = void>
using Result = std::expected<T, std::string>;

namespace {

// TOML needs a '.' for a float: 1 -> "1.0".
std::string toml_float(double v) {
  auto s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) {
    s += ".0";
  }
  return s;
}

// key=value lines.
std::map<std::string, std::string> read_kv(const fs::path& file) {
  std::map<std::string, std::string> out;
  auto text = read_text_file(file);
  if (!text) {
    return out;
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      out.emplace(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  return out;
}

std::string kv_get(const std::map<std::string, std::string>& kv, const std::string& key,
                   std::string fallback = "") {
  auto it = kv.find(key);
  return it == kv.end() ? fallback : it->second;
}

}  // namespace

std::optional<pid_t> read_pid_file(const fs::path& file) {
  auto text = read_text_file(file);
  if (!text) {
    return std::nullopt;
  }
  auto v = parse_number<long>(std::string_view(*text).substr(0, text->find_first_of(" \n")));
  if (!v || *v <= 0) {
    return std::nullopt;
  }
  return static_cast<pid_t>(*v);
}

std::string node_name(int k) {
  return fmt::format("node{}", k);
}

std::string node_address(int k) {
  return fmt::format("{}{}", kSubnetPrefix, k);
}

std::string netns_of(std::string_view node) {
  return fmt::format("{}{}", kNetnsPrefix, node);
}

std::string veth_of(int k) {
  return fmt::format("{}{}", kVethPrefix, k);
}

fs::path node_dir(std::string_view node) {
  return kStateDir / node;
}

std::vector<std::string> known_nodes() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kStateDir, ec)) {
    auto name = e.path().filename().string();
    if (e.is_directory() && name.starts_with("node")) {
      out.push_back(name);
    }
  }
  for (const auto& ns : list_named_netns(kNetnsGlob)) {
    auto name = ns.substr(kNetnsPrefix.size());
    if (name.starts_with("node") && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(name);
    }
  }
  // node2 before node10.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

std::vector<std::string> cluster_links() {
  return list_links(kBridge, kVethPrefix);
}

Result<std::vector<CgroupSlot>> plan_cgroups(bool want_memory) {
  std::vector<CgroupSlot> slots;
  if (cgroup_unified_only()) {
    auto h = find_cgroup_hierarchy("cpu");
    if (!h) {
      return std::unexpected("cgroup v2 is not mounted at /sys/fs/cgroup");
    }
    slots.push_back({*h, fmt::format("/{}", kCgroupParent), true, want_memory});
    return slots;
  }
  std::vector<std::string> controllers = {"cpu", "cpuacct"};
  if (want_memory) {
    controllers.push_back("memory");
  }
  for (const auto& c : controllers) {
    auto h = find_cgroup_hierarchy(c);
    if (!h) {
      if (c == "cpuacct") {
        MOS_LOG_WARN("no cpuacct cgroup hierarchy is mounted; nodes get none");
        continue;
      }
      return std::unexpected(fmt::format("no cgroup hierarchy with the {} controller", c));
    }
    auto same = std::find_if(slots.begin(), slots.end(), [&](const CgroupSlot& s) {
      return s.hierarchy.mount_point == h->mount_point;
    });
    if (same == slots.end()) {
      auto own = cgroup_path_of(0, *h);
      if (!own) {
        return std::unexpected(own.error());
      }
      std::string base = *own == "/" ? "" : *own;
      slots.push_back({*h, fmt::format("{}/{}", base, kCgroupParent), false, false});
      same = slots.end() - 1;
    }
    same->cpu = same->cpu || c == "cpu";
    same->memory = same->memory || c == "memory";
  }
  return slots;
}

std::vector<fs::path> candidate_cgroup_parents() {
  std::vector<fs::path> out;
  auto text = read_text_file(kStateDir / "cgroups");
  if (text) {
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) {
        out.emplace_back(line);
      }
    }
  }
  for (auto c : {"cpu", "cpuacct", "memory"}) {
    auto h = find_cgroup_hierarchy(c);
    if (!h) {
      continue;
    }
    out.push_back(cgroup_dir(*h, fmt::format("/{}", kCgroupParent)));
    if (auto own = cgroup_path_of(0, *h); own && *own != "/") {
      out.push_back(cgroup_dir(*h, fmt::format("{}/{}", *own, kCgroupParent)));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<pid_t> node_init(std::string_view node) {
  auto pid = read_pid_file(node_dir(node) / "init.pid");
  auto want = ns_id_of(named_netns_path(netns_of(node)));
  if (!pid || !want || !process_alive(*pid) || ns_id_of(*pid, Ns::kNet) != want) {
    return std::nullopt;
  }
  return pid;
}

std::optional<pid_t> node_daemon(std::string_view node) {
  auto init = node_init(node);
  auto pid = read_pid_file(node_dir(node) / "mosixd.pid");
  if (!init || !pid) {
    return std::nullopt;
  }
  auto st = read_process_stat(*pid);
  if (!st || st->state == 'Z' || st->ppid != *init) {
    return std::nullopt;
  }
  return pid;
}

std::vector<fs::path> node_cgroups(pid_t init, std::string_view node) {
  std::vector<fs::path> out;
  for (auto& dir : cgroup_dirs_of(init)) {
    if (dir.filename() == node && dir.parent_path().filename() == kCgroupParent) {
      out.push_back(dir);
    }
  }
  return out;
}

Result<NodeHandle> open_node(std::string_view node) {
  auto init = node_init(node);
  if (!init) {
    return std::unexpected(fmt::format("{} is not running (its init is gone)", node));
  }
  // (The time namespace too: a node may have clocks of its own.)
  auto ns =
      NamespaceSet::open_of(*init, {Ns::kNet, Ns::kUts, Ns::kIpc, Ns::kPid, Ns::kTime, Ns::kMount});
  if (!ns) {
    return std::unexpected(ns.error());
  }
  return NodeHandle{*init, std::move(*ns), node_cgroups(*init, node)};
}

ClusterState ClusterState::load() {
  auto kv = read_kv(kStateDir / "cluster");
  ClusterState s;
  s.nodes = static_cast<int>(parse_number<long>(kv_get(kv, "nodes", "0")).value_or(0));
  s.mosixd = kv_get(kv, "mosixd");
  s.created_run_mosix = kv_get(kv, "created_run_mosix") == "yes";
  s.created_run_netns = kv_get(kv, "created_run_netns", "yes") == "yes";
  s.iptables_rule = kv_get(kv, "iptables_rule") == "yes";
  return s;
}

Result<> ClusterState::save() const {
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  return write_text_file(kStateDir / "cluster",
                         fmt::format("nodes={}\nmosixd={}\ncreated_run_mosix={}\n"
                                     "created_run_netns={}\niptables_rule={}\n",
                                     nodes, mosixd.string(), yn(created_run_mosix),
                                     yn(created_run_netns), yn(iptables_rule)));
}

std::string daemon_config(const NodeSpec& self, const std::vector<NodeSpec>& all,
                          std::string_view log_level, const GossipSettings& gossip,
                          double policy_period_s) {
  std::string out = fmt::format(
      "# Written by moscluster up; removed by moscluster down.\n"
      "[daemon]\nnode = \"{}\"\ncontrol_socket = \"{}/mosixd.sock\"\nlog_level = \"{}\"\n\n"
      "[cluster]\nname = \"mos\"\nsecret_file = \"{}/secret\"\npeer_port = 4660\n"
      "gossip_port = 4661\nmetrics_port = 9460\n",
      self.name, kNodeRunDir.string(), log_level, kStateDir.string());
  out += fmt::format("\n[gossip]\nperiod = {}\ndown_after = {}\n", toml_float(gossip.period_s),
                     toml_float(gossip.down_after_s));
  if (policy_period_s > 0) {
    out += fmt::format("\n[policy]\nautomatic = true\nperiod = {}\n", toml_float(policy_period_s));
  }
  for (const auto& n : all) {
    out += fmt::format("\n[[cluster.node]]\nname = \"{}\"\naddress = \"{}\"\nspeed = {}\n", n.name,
                       n.address, toml_float(n.speed));
  }
  return out;
}

Result<> prepare_node_mounts(const std::string& node, const std::vector<fs::path>& expose) {
  if (auto r = make_mounts_private(); !r) {
    return r;
  }
  // Hold the exposed host directories before the private /tmp hides them.
  std::vector<std::pair<fs::path, UniqueFd>> held;
  for (const auto& dir : expose) {
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      return std::unexpected(errno_message(fmt::format("open {}", dir.string()), errno));
    }
    held.emplace_back(dir, std::move(fd));
  }
  // Other nodes' netns bind mounts were copied into this mount namespace;
  // dropping them keeps every node's network namespace owned by its own node.
  // An empty /run/netns over them: a node has no named namespaces of its own.
  detach_mount("/run/netns");
  if (auto r = mount_tmpfs("/run/netns", "mode=0755,size=64k"); !r) {
    return r;
  }
  if (auto r = bind_mount(kScratchRoot / node / "tmp", "/tmp"); !r) {
    return r;
  }
  if (auto r = mount_tmpfs(kNodeRunDir, "mode=0755"); !r) {
    return r;
  }
  auto scratch = kNodeRunDir / "scratch";
  if (::mkdir(scratch.c_str(), 01777) != 0 || ::chmod(scratch.c_str(), 01777) != 0) {
    return std::unexpected(errno_message(fmt::format("mkdir {}", scratch.string()), errno));
  }
  if (auto r = mount_tmpfs("/dev/shm", "mode=1777"); !r) {
    return r;
  }
  for (auto& [dir, fd] : held) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return std::unexpected(fmt::format("mkdir {}: {}", dir.string(), ec.message()));
    }
    if (auto r = bind_mount(fmt::format("/proc/self/fd/{}", fd.get()), dir); !r) {
      return r;
    }
  }
  if (auto r = mount_proc("/proc"); !r) {
    return r;
  }
  if (::sethostname(node.data(), node.size()) != 0) {
    return std::unexpected(errno_message("sethostname", errno));
  }
  return {};
}

Result<> write_node_info(const NodeSpec& node, std::string_view cgroup) {
  return write_text_file(
      node_dir(node.name) / "node",
      fmt::format("name={}\naddress={}\nspeed={}\nmemory={}\ncgroup={}\n", node.name, node.address,
                  node.speed, node.memory ? fmt::format("{}", *node.memory) : "", cgroup));
}

std::map<std::string, std::string> read_node_info(std::string_view node) {
  return read_kv(node_dir(node) / "node");
}

std::vector<std::string> iptables_forward_rule(std::string_view op) {
  std::vector<std::string> argv;
  std::istringstream words(
      fmt::format("iptables {} FORWARD -i {} -o {} -m comment --comment {} -j ACCEPT", op, kBridge,
                  kBridge, kIptablesComment));
  for (std::string w; words >> w;) {
    argv.push_back(w);
  }
  return argv;
}

RemoveResult remove_cluster() {
  RemoveResult result;
  auto& problems = result.problems;
  auto state = ClusterState::load();
  auto nodes = known_nodes();
  auto cgroups = candidate_cgroup_parents();
  result.found = !nodes.empty() || fs::exists(kStateDir) || fs::exists(kScratchRoot) ||
                 !cluster_links().empty() ||
                 std::any_of(cgroups.begin(), cgroups.end(), [](auto& d) { return fs::exists(d); });

  // 1. Daemons get a chance to exit cleanly, all at once.
  std::vector<pid_t> daemons;
  for (const auto& n : nodes) {
    if (auto pid = node_daemon(n)) {
      ::kill(*pid, SIGTERM);
      daemons.push_back(*pid);
    }
  }
  auto deadline = Clock::now() + 10s;
  for (pid_t pid : daemons) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!wait_for_exit(pid, std::max(left, 0ms))) {
      MOS_LOG_WARN("mosixd pid {} ignored SIGTERM for 10 s: killing it", pid);
      ::kill(pid, SIGKILL);
    }
  }

  // 2. Node inits: killing PID 1 of a PID namespace kills all inside it.
  // Anything else still in a node's network namespace goes too.
  std::vector<pid_t> victims;
  for (const auto& n : nodes) {
    if (auto init = read_pid_file(node_dir(n) / "init.pid"); init && node_init(n)) {
      victims.push_back(*init);
    }
    if (auto id = ns_id_of(named_netns_path(netns_of(n)))) {
      for (pid_t p : pids_in_namespace(*id, Ns::kNet)) {
        victims.push_back(p);
      }
    }
  }
  for (pid_t p : list_pids()) {
    auto argv = read_cmdline(p);
    if (argv.size() >= 2 && argv[1] == kInitMode && fs::path(argv[0]).filename() == "moscluster") {
      victims.push_back(p);
    }
  }
  std::erase(victims, ::getpid());
  for (pid_t p : victims) {
    ::kill(p, SIGKILL);
  }
  for (pid_t p : victims) {
    if (!wait_for_exit(p, 5s)) {
      problems.push_back(fmt::format("process {} survived SIGKILL", p));
    }
  }

  // 3. Cgroups (stragglers inside are killed by cgroup_remove_tree).
  for (const auto& dir : cgroups) {
    if (auto r = cgroup_remove_tree(dir, 5s); !r) {
      problems.push_back(r.error());
    }
  }

  // 4. Network: namespaces, then links (deleting one end of a veth deletes both).
  for (const auto& ns : list_named_netns(kNetnsGlob)) {
    if (auto r = delete_named_netns(ns); !r) {
      problems.push_back(r.error());
    }
  }
  for (const auto& link : cluster_links()) {
    if (auto r = delete_link(link); !r) {
      problems.push_back(r.error());
    }
  }
  if (state.iptables_rule && find_executable("iptables")) {
    for (int i = 0;
         i < 16 &&
         run_command(iptables_forward_rule("-D"), 10s).value_or(CommandResult{1, ""}).exit_code ==
             0;
         ++i) {
    }
  }
  // `ip netns add` made /run/netns a mount point; undo that if we made it.
  std::error_code ec;
  if (state.created_run_netns && fs::is_directory("/run/netns", ec) &&
      fs::is_empty("/run/netns", ec)) {
    for (int i = 0; i < 4 && ::umount2("/run/netns", MNT_DETACH) == 0; ++i) {
    }
    ::rmdir("/run/netns");
  }

  // 5. Files.
  if (state.created_run_mosix) {
    ::rmdir(kNodeRunDir.c_str());
  }
  for (const auto& dir : {kScratchRoot, kStateDir}) {
    fs::remove_all(dir, ec);
    if (ec) {
      problems.push_back(fmt::format("remove {}: {}", dir.string(), ec.message()));
    }
  }
  return result;
}

}  // namespace mos::common::local_cluster
