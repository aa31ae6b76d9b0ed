// moscluster: builds a real cluster of N nodes on this machine, for tests and
// benchmarks, and takes it down again. What a node is and where its state
// lives is described in common/LocalCluster.h.
//
// `up` refuses to run while anything of a cluster exists ("cluster already
// up"): run `down` first. `down` finds leftovers by name, not only through
// the state files, so it also cleans up after a crash or a half-finished
// `up`; a failing `up` rolls back by running the same teardown.

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/Cgroup.h"
#include "common/Files.h"
#include "common/LocalCluster.h"
#include "common/Log.h"
#include "common/Namespaces.h"
#include "common/Process.h"
#include "common/Text.h"
#include "common/UniqueFd.h"
#include "common/VirtualNet.h"

namespace {

namespace fs = std::filesystem;
using namespace mos::common;
using namespace mos::common::local_cluster;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
template <typename T = void>
using Result = std::expected<T, std::string>;

#define MOS_TRY(expr)                     \
  do {                                    \
    if (auto&& r_ = (expr); !r_) {        \
      return std::unexpected(r_.error()); \
    }                                     \
  } while (0)

// ---- names and places ------------------------------------------------------
constexpr long kCpuPeriodUs = 100000;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotEnter = 125;  // exec: the node could not be entered

volatile sig_atomic_t g_interrupted = 0;

fs::path self_exe() {
  return fs::read_symlink("/proc/self/exe");
}

void print_error(std::string_view msg) {
  fmt::print(stderr, "moscluster: {}\n", msg);
}

[[noreturn]] void usage_error(std::string_view msg) {
  fmt::print(stderr,
             "moscluster: {}\n"
             "usage: moscluster up --nodes N [--speeds S1,S2,..] [--mem M1,M2,..] [--mosixd PATH]\n"
             "                     [--mosctl PATH] [--timeout SECONDS] [--log-level LEVEL]\n"
             "                     [--gossip-period SECONDS] [--down-after SECONDS]\n"
             "                     [--clock-offsets S1,S2,..] [--policy] [--policy-period S]\n"
             "       moscluster exec NODE [--] COMMAND [ARG...]\n"
             "       moscluster restart NODE [--mosixd PATH] | stop NODE | status | down\n"
             "Try 'moscluster --help'.\n",
             msg);
  std::exit(kExitUsage);
}

void print_help() {
  fmt::print(
      "usage: moscluster COMMAND ...\n\n"
      "Builds a real cluster of N nodes on this machine (needs root). Node K is named\n"
      "nodeK and has address {}K: its own network, mount, PID, UTS and IPC namespaces,\n"
      "cgroup mosix/nodeK with a CPU quota of its speed, and its own mosixd.\n\n"
      "  up --nodes N         create node1..nodeN, start their daemons and wait until\n"
      "                       every node sees all N up ('cluster already up' if one is)\n"
      "     --speeds LIST     CPU share per node, e.g. 1,1,0.5,0.25 (one value = all)\n"
      "     --mem LIST        memory limit per node, e.g. 2G,512M (one value = all)\n"
      "     --clock-offsets L seconds each node's daemons' CLOCK_MONOTONIC and\n"
      "                       CLOCK_BOOTTIME run ahead, e.g. 0,1000,2000 (a time\n"
      "                       namespace: clocks that differ as other machines' do)\n"
      "     --policy          the daemons move bodies by themselves ([policy]\n"
      "                       automatic = true, docs/policy.md)\n"
      "     --policy-period S  the same, deciding every S seconds (default 1)\n"
      "     --mosixd PATH     daemon binary (default: $MOSIXD, else next to moscluster)\n"
      "     --mosctl PATH     control tool (default: $MOSCTL, else next to moscluster)\n"
      "     --timeout SEC     how long to wait for the nodes to see each other\n"
      "                       (default 30; 0 = do not wait)\n"
      "     --log-level L     daemons' log level (default info)\n"
      "     --gossip-period S gossip period of every node (default 1)\n"
      "     --down-after S    board age after which a node is presumed down\n"
      "                       (default: derived from the cluster size)\n"
      "  exec NODE -- CMD     run CMD inside NODE; exits with CMD's status (128+N if\n"
      "                       killed by signal N, 125 if NODE cannot be entered)\n"
      "  restart NODE         (re)start NODE's mosixd (--mosixd PATH: another binary;\n"
      "                       default: $MOSIXD, else the one `up` started)\n"
      "  stop NODE            stop NODE's mosixd (SIGTERM, SIGKILL after 10 s)\n"
      "  status               one line per node\n"
      "  down                 remove everything a cluster made, also after a crash\n\n"
      "State: {} (secret, nodeK/mosixd.toml, nodeK/mosixd.log, nodeK/init.pid).\n"
      "Nodes share the host's files except /tmp, /run/mosix and /dev/shm, which each\n"
      "node has of its own: binaries must live elsewhere.\n",
      kSubnetPrefix, kStateDir.string());
}

// ---- small parsers ---------------------------------------------------------
// "2G", "512M", "64MiB", "1048576": binary multiples.
std::optional<unsigned long long> parse_size(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) != 0)) {
    ++digits;
  }
  auto n = parse_number<long>(s.substr(0, digits));
  if (!n || *n <= 0) {
    return std::nullopt;
  }
  std::string suffix(s.substr(digits));
  for (auto& c : suffix) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  static const std::map<std::string, int> kShift = {
      {"", 0},     {"B", 0},  {"K", 10},  {"KB", 10},  {"KIB", 10}, {"M", 20},  {"MB", 20},
      {"MIB", 20}, {"G", 30}, {"GB", 30}, {"GIB", 30}, {"T", 40},   {"TB", 40}, {"TIB", 40}};
  auto it = kShift.find(suffix);
  if (it == kShift.end()) {
    return std::nullopt;
  }
  return static_cast<unsigned long long>(*n) << it->second;
}

std::vector<std::string> split_on(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string item;
  while (std::getline(in, item, sep)) {
    out.push_back(item);
  }
  return out;
}
std::vector<std::string> split_list(std::string_view s) {
  return split_on(s, ',');
}
std::vector<std::string> split_list_colon(std::string_view s) {
  return split_on(s, ':');
}

// ---- tools -----------------------------------------------------------------
bool is_within(const fs::path& path, const fs::path& dir) {
  auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

// Host directories under /tmp that every node sees at the same path, bound
// over its private /tmp: the build tree this moscluster belongs to (so a
// checkout under /tmp works), and $MOS_EXPOSE (colon-separated).
std::vector<fs::path> exposed_dirs() {
  std::vector<fs::path> out;
  auto add = [&](fs::path p) {
    p = fs::weakly_canonical(p);
    if (is_within(p, "/tmp") && std::find(out.begin(), out.end(), p) == out.end()) {
      out.push_back(p);
    }
  };
  add(self_exe().parent_path().parent_path());
  if (const char* env = std::getenv("MOS_EXPOSE")) {
    for (const auto& p : split_list_colon(env)) {
      if (!p.empty()) {
        add(p);
      }
    }
  }
  return out;
}

// Nodes see the host's files except their private /tmp, /run/mosix and
// /dev/shm (and the exposed directories): a binary elsewhere there would not
// be found (or be another one) inside.
Result<> check_visible_in_nodes(const fs::path& path) {
  for (const fs::path& dir : exposed_dirs()) {
    if (is_within(path, dir)) {
      return {};
    }
  }
  for (const fs::path& hidden : {fs::path("/tmp"), kNodeRunDir, fs::path("/dev/shm")}) {
    if (is_within(path, hidden)) {
      return std::unexpected(
          fmt::format("{} is under {}, which every node replaces with its own: put it elsewhere",
                      path.string(), hidden.string()));
    }
  }
  return {};
}

Result<fs::path> find_tool(std::string_view flag_value, const char* env, std::string_view name) {
  std::string chosen(flag_value);
  if (chosen.empty() && std::getenv(env) != nullptr) {
    chosen = std::getenv(env);
  }
  fs::path path = chosen.empty() ? self_exe().parent_path() / name : fs::path(chosen);
  if (chosen.find('/') == std::string::npos && !chosen.empty()) {
    auto found = find_executable(chosen);
    if (!found) {
      return std::unexpected(fmt::format("{}: not found in PATH", chosen));
    }
    path = *found;
  }
  path = fs::absolute(path);
  if (auto r = check_visible_in_nodes(path); !r) {
    return std::unexpected(r.error());
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return std::unexpected(
        fmt::format("{} is not an executable ({}); build it or point --{} / ${} at it",
                    path.string(), std::strerror(errno), name, env));
  }
  return path;
}

// ---- node init (hidden mode) -----------------------------------------------
// PID 1 of a node: holds the node's namespaces and reaps; its argument, the
// node name, is there for ps(1). `down` kills it, which ends the whole node.
int run_node_init() {
  if (::getpid() != 1) {
    print_error(fmt::format("{} is internal: it runs as PID 1 of a node", kInitMode));
    return kExitUsage;
  }
  run_as_reaper_init(3s);
}

// ---- the network -----------------------------------------------------------
Result<> create_network(const std::vector<std::string>& nodes) {
  MOS_TRY(create_bridge(kBridge));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto ns = netns_of(nodes[i]);
    MOS_TRY(create_named_netns(ns));
    MOS_TRY(add_bridge_port_netns(kBridge, veth_of(static_cast<int>(i) + 1), ns, "eth0",
                                  node_address(static_cast<int>(i) + 1) + "/24"));
  }
  return {};
}

// UDP from node1 to every other node: bridged traffic can be eaten by the
// host's firewall when br_netfilter passes it through iptables.
Result<> probe_network(const std::vector<std::string>& nodes) {
  if (nodes.size() < 2) {
    return {};
  }
  std::vector<UniqueFd> netns;
  for (const auto& n : nodes) {
    auto fd = open_named_netns(netns_of(n));
    MOS_TRY(fd);
    netns.push_back(std::move(*fd));
  }
  std::vector<UdpProbeTarget> targets;
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    UdpProbeTarget t{nodes[i], &netns[i]};
    ::inet_pton(AF_INET, node_address(static_cast<int>(i) + 1).c_str(), &t.address);
    targets.push_back(t);
  }
  if (auto r = probe_udp(netns[0], targets, 3s); !r) {
    return std::unexpected(fmt::format("bridge {}: from {}: {}", kBridge, nodes[0], r.error()));
  }
  return {};
}

std::string read_sysctl(std::string_view file) {
  auto v = read_text_file(file);
  return v ? v->substr(0, v->find('\n')) : "";
}

// ---- daemons ---------------------------------------------------------------
Result<pid_t> start_daemon(std::string_view node, const fs::path& mosixd) {
  auto handle = open_node(node);
  MOS_TRY(handle);
  auto log_path = node_dir(node) / "mosixd.log";
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log) {
    return std::unexpected(errno_message(fmt::format("open {}", log_path.string()), errno));
  }
  DaemonSpec spec;
  spec.argv = {mosixd.string(), "--config", (node_dir(node) / "mosixd.toml").string()};
  spec.stdout_fd = log.get();
  spec.stderr_fd = log.get();
  spec.cgroups = handle->cgroups;
  spec.namespaces = &handle->namespaces;
  auto pid = spawn_daemon(spec);
  if (!pid) {
    return std::unexpected(fmt::format("start mosixd on {}: {}", node, pid.error()));
  }
  if (auto r = write_text_file(node_dir(node) / "mosixd.pid", fmt::format("{}\n", *pid)); !r) {
    return std::unexpected(r.error());
  }
  return *pid;
}

std::string log_tail(std::string_view node, std::size_t lines) {
  auto text = read_text_file(node_dir(node) / "mosixd.log").value_or("");
  std::size_t pos = text.size();
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
    pos = text.size();
  }
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

// True if `text` has the phrase "<n> nodes configured, <n> up" on its own.
bool reports_all_up(std::string_view text, int n) {
  auto want = fmt::format("{} nodes configured, {} up", n, n);
  for (std::size_t pos = text.find(want); pos != std::string_view::npos;
       pos = text.find(want, pos + 1)) {
    bool left_ok = pos == 0 || std::isdigit(static_cast<unsigned char>(text[pos - 1])) == 0;
    std::size_t end = pos + want.size();
    bool right_ok = end == text.size() || std::isalnum(static_cast<unsigned char>(text[end])) == 0;
    if (left_ok && right_ok) {
      return true;
    }
  }
  return false;
}

// ---- down ------------------------------------------------------------------
int cmd_down() {
  auto result = remove_cluster();
  for (const auto& p : result.problems) {
    print_error(p);
  }
  if (!result.problems.empty()) {
    return kExitFailure;
  }
  fmt::print(stderr, "moscluster: {}\n",
             result.found ? "cluster is down" : "no cluster to tear down");
  return 0;
}

// ---- up --------------------------------------------------------------------
struct UpOptions {
  int nodes = 0;
  std::vector<double> speeds;
  std::vector<std::optional<unsigned long long>> memory;
  std::vector<std::int64_t> clock_offsets;  // seconds, per node (empty: the host's clocks)
  std::string mosixd;
  std::string mosctl;
  std::chrono::seconds timeout = 30s;
  std::string log_level = "info";
  GossipSettings gossip;
  double policy_period_s = 0.0;  // > 0: automatic migration on every node
};

Result<> check_interrupted() {
  if (g_interrupted != 0) {
    return std::unexpected("interrupted");
  }
  return {};
}

Result<> wait_until_all_up(const std::vector<NodeSpec>& nodes, const fs::path& mosctl,
                           std::chrono::seconds bound) {
  const int n = static_cast<int>(nodes.size());
  const auto deadline = Clock::now() + bound;
  std::map<std::string, std::string> last;  // node -> last mosctl output
  std::vector<bool> ready(nodes.size(), false);
  for (;;) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (ready[i]) {
        continue;
      }
      const auto& node = nodes[i].name;
      if (!node_daemon(node)) {
        return std::unexpected(fmt::format("mosixd on {} exited; end of {}:\n{}", node,
                                           (node_dir(node) / "mosixd.log").string(),
                                           log_tail(node, 10)));
      }
      auto r =
          run_command({self_exe().string(), "exec", node, "--", mosctl.string(), "status"}, 5s);
      last[node] = r ? r->output : r.error();
      ready[i] = r && r->exit_code == 0 && reports_all_up(r->output, n);
    }
    if (std::all_of(ready.begin(), ready.end(), [](bool b) { return b; })) {
      return {};
    }
    MOS_TRY(check_interrupted());
    if (Clock::now() >= deadline) {
      std::string why;
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!ready[i]) {
          auto out = last[nodes[i].name];
          while (!out.empty() && out.back() == '\n') {
            out.pop_back();
          }
          why += fmt::format("\n  {}: `mosctl status` said: {}", nodes[i].name,
                             out.empty() ? "(nothing)" : out);
        }
      }
      return std::unexpected(fmt::format(
          "timed out after {} s waiting for every node to report \"{} nodes configured, {} up\"; "
          "logs are in {}/nodeK/mosixd.log{}",
          bound.count(), n, n, kStateDir.string(), why));
    }
    std::this_thread::sleep_for(250ms);
  }
}

using NodeCgroups = std::map<std::string, std::vector<fs::path>>;

// The state directory, the secret and each node's directories. Written
// first, so that a failure from here on is rolled back by name.
Result<> create_state(const std::vector<NodeSpec>& nodes, ClusterState& state,
                      const std::vector<CgroupSlot>& slots) {
  std::error_code ec;
  fs::create_directories(kStateDir, ec);
  if (ec) {
    return std::unexpected(fmt::format("create {}: {}", kStateDir.string(), ec.message()));
  }
  state.created_run_netns = !fs::exists("/run/netns");
  state.created_run_mosix = !fs::exists(kNodeRunDir);
  MOS_TRY(state.save());
  std::string cgroup_list;
  for (const auto& s : slots) {
    cgroup_list += cgroup_dir(s.hierarchy, s.parent_path).string() + "\n";
  }
  MOS_TRY(write_text_file(kStateDir / "cgroups", cgroup_list));
  auto secret = random_hex(32);
  MOS_TRY(secret);
  MOS_TRY(write_text_file(kStateDir / "secret", *secret + "\n", 0600));
  // Mount point of each node's own /run/mosix tmpfs.
  if (state.created_run_mosix && ::mkdir(kNodeRunDir.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(errno_message(fmt::format("mkdir {}", kNodeRunDir.string()), errno));
  }
  for (const auto& n : nodes) {
    fs::create_directories(node_dir(n.name), ec);
    auto tmp = kScratchRoot / n.name / "tmp";
    fs::create_directories(tmp, ec);
    if (ec || ::chmod(tmp.c_str(), 01777) != 0) {
      return std::unexpected(
          fmt::format("create {}: {}", tmp.string(), ec ? ec.message() : std::strerror(errno)));
    }
    MOS_TRY(write_node_info(n, fmt::format("{}/{}", slots.front().parent_path, n.name)));
  }
  return {};
}

Result<NodeCgroups> create_cgroups(const std::vector<NodeSpec>& nodes,
                                   const std::vector<CgroupSlot>& slots) {
  NodeCgroups out;
  for (const auto& s : slots) {
    auto parent = cgroup_dir(s.hierarchy, s.parent_path);
    MOS_TRY(cgroup_create(parent));
    if (s.hierarchy.version == CgroupVersion::kV2) {
      std::vector<std::string> ctl = {"cpu"};
      if (s.memory) {
        ctl.push_back("memory");
      }
      MOS_TRY(cgroup_enable_controllers(s.hierarchy.mount_point, ctl));
      MOS_TRY(cgroup_enable_controllers(parent, ctl));
    }
    for (const auto& n : nodes) {
      auto dir = parent / n.name;
      MOS_TRY(cgroup_create(dir));
      if (s.cpu) {
        MOS_TRY(cgroup_set_cpu_limit(s.hierarchy.version, dir, n.speed, kCpuPeriodUs));
      }
      if (s.memory && n.memory) {
        MOS_TRY(cgroup_set_memory_limit(s.hierarchy.version, dir, *n.memory));
      }
      out[n.name].push_back(dir);
    }
  }
  return out;
}

// The bridge and the nodes' network namespaces, checked to carry traffic. If
// br_netfilter hands bridged frames to a host firewall that drops them, one
// ACCEPT rule for the bridge is added (and recorded for `down`).
Result<> create_checked_network(const std::vector<std::string>& names, ClusterState& state) {
  MOS_TRY(create_network(names));
  auto probe = probe_network(names);
  if (probe) {
    return {};
  }
  bool br_nf = read_sysctl("/proc/sys/net/bridge/bridge-nf-call-iptables") == "1";
  if (!br_nf || !find_executable("iptables")) {
    return std::unexpected(fmt::format(
        "{}{}", probe.error(),
        br_nf ? " (br_netfilter sends bridged traffic through the host's iptables, which drop "
                "it; allow forwarding on mosbr0 or set net.bridge.bridge-nf-call-iptables=0)"
              : ""));
  }
  MOS_LOG_INFO("{}: br_netfilter is on, allowing forwarding on {} in iptables", probe.error(),
               kBridge);
  state.iptables_rule = true;
  MOS_TRY(state.save());
  MOS_TRY(run_checked(iptables_forward_rule("-I")));
  return probe_network(names);
}

Result<> start_node_inits(const std::vector<NodeSpec>& nodes, NodeCgroups& cgroups,
                          const std::vector<std::int64_t>& clock_offsets) {
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const auto& n = nodes[k];
    auto netns = open_named_netns(netns_of(n.name));
    MOS_TRY(netns);
    NamespaceInitSpec spec;
    spec.join.emplace_back(Ns::kNet, std::move(*netns));
    spec.cgroups = cgroups[n.name];
    spec.create = {Ns::kMount, Ns::kPid, Ns::kUts, Ns::kIpc};
    if (k < clock_offsets.size() && clock_offsets[k] != 0) {
      spec.clock_offset_s = clock_offsets[k];
    }
    spec.setup = [name = n.name, expose = exposed_dirs()] {
      return prepare_node_mounts(name, expose);
    };
    spec.argv = {self_exe().string(), std::string(kInitMode), n.name};
    auto init = spawn_namespace_init(std::move(spec));
    if (!init) {
      return std::unexpected(fmt::format("start the init of {}: {}", n.name, init.error()));
    }
    MOS_TRY(write_text_file(node_dir(n.name) / "init.pid", fmt::format("{}\n", *init)));
  }
  return {};
}

Result<> bring_up(const UpOptions& o) {
  std::vector<NodeSpec> nodes;
  std::vector<std::string> names;
  for (int k = 1; k <= o.nodes; ++k) {
    nodes.push_back({node_name(k), node_address(k), o.speeds.empty() ? 1.0 : o.speeds[k - 1],
                     o.memory.empty() ? std::nullopt : o.memory[k - 1]});
    names.push_back(node_name(k));
  }
  MOS_TRY(check_visible_in_nodes(self_exe()));
  if (!find_executable("ip")) {
    return std::unexpected("the ip command (iproute2) is not installed");
  }
  auto mosixd = find_tool(o.mosixd, "MOSIXD", "mosixd");
  MOS_TRY(mosixd);
  fs::path mosctl;
  if (o.timeout.count() > 0) {
    auto t = find_tool(o.mosctl, "MOSCTL", "mosctl");
    MOS_TRY(t);
    mosctl = *t;
  }
  bool any_memory = std::any_of(nodes.begin(), nodes.end(), [](auto& n) { return n.memory; });
  auto slots = plan_cgroups(any_memory);
  MOS_TRY(slots);

  ClusterState state;
  state.nodes = o.nodes;
  state.mosixd = *mosixd;
  MOS_TRY(create_state(nodes, state, *slots));
  MOS_LOG_INFO("cgroups: {} per node", slots->size());
  auto cgroups = create_cgroups(nodes, *slots);
  MOS_TRY(cgroups);
  MOS_TRY(check_interrupted());
  MOS_LOG_INFO("network: bridge {}, {} namespaces", kBridge, nodes.size());
  MOS_TRY(create_checked_network(names, state));
  MOS_TRY(check_interrupted());
  MOS_LOG_INFO("starting {} node inits", nodes.size());
  MOS_TRY(start_node_inits(nodes, *cgroups, o.clock_offsets));
  for (const auto& n : nodes) {
    MOS_TRY(write_text_file(node_dir(n.name) / "mosixd.toml",
                            daemon_config(n, nodes, o.log_level, o.gossip, o.policy_period_s)));
  }
  MOS_LOG_INFO("starting {} on every node", mosixd->string());
  for (const auto& n : nodes) {
    MOS_TRY(start_daemon(n.name, *mosixd));
  }
  if (o.timeout.count() > 0) {
    MOS_LOG_INFO("waiting up to {} s for every node to see {} nodes up", o.timeout.count(),
                 nodes.size());
    MOS_TRY(wait_until_all_up(nodes, mosctl, o.timeout));
  }
  return {};
}

int cmd_status();

int cmd_up(const UpOptions& o) {
  std::vector<std::string> leftovers;
  if (fs::exists(kStateDir)) {
    leftovers.push_back(kStateDir.string());
  }
  for (const auto& ns : list_named_netns(kNetnsGlob)) {
    leftovers.push_back("netns " + ns);
  }
  for (const auto& l : cluster_links()) {
    leftovers.push_back("link " + l);
  }
  if (fs::exists(kScratchRoot)) {
    leftovers.push_back(kScratchRoot.string());
  }
  for (const auto& dir : candidate_cgroup_parents()) {
    if (fs::exists(dir)) {
      leftovers.push_back("cgroup " + dir.string());
    }
  }
  if (!leftovers.empty()) {
    std::string list;
    for (const auto& l : leftovers) {
      list += fmt::format("{}{}", list.empty() ? "" : ", ", l);
    }
    print_error(fmt::format("cluster already up (found {}); run 'moscluster down' first", list));
    return kExitFailure;
  }
  struct sigaction sa {};
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = [](int) { g_interrupted = 1; };
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::sigaction(sig, &sa, nullptr);
  }
  if (auto r = bring_up(o); !r) {
    print_error(fmt::format("up failed: {}", r.error()));
    MOS_LOG_INFO("rolling back");
    for (const auto& p : remove_cluster().problems) {
      print_error(fmt::format("rollback: {}", p));
    }
    return kExitFailure;
  }
  return cmd_status();
}

// ---- status, stop, restart, exec -------------------------------------------
int cmd_status() {
  auto nodes = known_nodes();
  if (nodes.empty()) {
    fmt::print("no cluster is up\n");
    return kExitFailure;
  }
  fmt::print("{:<8} {:<12} {:<8} {:<18} {:<6} {}\n", "NODE", "ADDRESS", "INIT", "MOSIXD", "SPEED",
             "CGROUP");
  for (const auto& n : nodes) {
    auto info = read_node_info(n);
    auto get = [&](const std::string& key) { return info.contains(key) ? info[key] : "?"; };
    auto init = node_init(n);
    auto daemon = node_daemon(n);
    fmt::print("{:<8} {:<12} {:<8} {:<18} {:<6} {}\n", n, get("address"),
               init ? fmt::format("{}", *init) : "dead",
               daemon ? fmt::format("running ({})", *daemon) : "stopped", get("speed"),
               get("cgroup"));
  }
  return 0;
}

Result<std::string> existing_node(std::string_view node) {
  auto nodes = known_nodes();
  if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) {
    return std::unexpected(fmt::format(
        "no node named {} ({})", node,
        nodes.empty() ? "no cluster is up" : fmt::format("nodes: {}", fmt::join(nodes, " "))));
  }
  return std::string(node);
}

int cmd_stop(std::string_view node) {
  if (auto r = existing_node(node); !r) {
    print_error(r.error());
    return kExitFailure;
  }
  auto pid = node_daemon(node);
  if (!pid) {
    fmt::print(stderr, "moscluster: {}: mosixd is not running\n", node);
    return 0;
  }
  auto outcome = stop_process(*pid, 10s);
  std::error_code ec;
  fs::remove(node_dir(node) / "mosixd.pid", ec);
  switch (outcome) {
    case StopOutcome::kNotRunning:
    case StopOutcome::kExited:
      fmt::print(stderr, "moscluster: {}: mosixd stopped\n", node);
      break;
    case StopOutcome::kKilled:
      fmt::print(stderr, "moscluster: {}: mosixd ignored SIGTERM for 10 s, killed\n", node);
      break;
    case StopOutcome::kStuck:
      print_error(fmt::format("{}: mosixd (pid {}) survived SIGKILL", node, *pid));
      return kExitFailure;
  }
  return 0;
}

int cmd_restart(std::string_view node, std::string_view mosixd_flag) {
  if (auto r = existing_node(node); !r) {
    print_error(r.error());
    return kExitFailure;
  }
  if (auto pid = node_daemon(node)) {
    if (stop_process(*pid, 10s) == StopOutcome::kStuck) {
      print_error(fmt::format("{}: mosixd (pid {}) survived SIGKILL", node, *pid));
      return kExitFailure;
    }
  }
  // --mosixd, else $MOSIXD, else the binary `up` used, else the default.
  std::string chosen(mosixd_flag);
  if (chosen.empty() && std::getenv("MOSIXD") == nullptr) {
    chosen = ClusterState::load().mosixd.string();
  }
  auto mosixd = find_tool(chosen, "MOSIXD", "mosixd");
  if (!mosixd) {
    print_error(mosixd.error());
    return kExitFailure;
  }
  auto pid = start_daemon(node, *mosixd);
  if (!pid) {
    print_error(pid.error());
    return kExitFailure;
  }
  fmt::print(stderr, "moscluster: {}: mosixd started (pid {})\n", node, *pid);
  return 0;
}

int cmd_exec(std::string_view node, std::vector<std::string> argv) {
  if (auto r = existing_node(node); !r) {
    print_error(fmt::format("exec: {}", r.error()));
    return kExitCannotEnter;
  }
  auto handle = open_node(node);
  if (!handle) {
    print_error(fmt::format("exec: {}", handle.error()));
    return kExitCannotEnter;
  }
  auto code = run_inside(handle->namespaces, handle->cgroups, std::move(argv));
  if (!code) {
    print_error(fmt::format("exec: enter {}: {}", node, code.error()));
    return kExitCannotEnter;
  }
  return *code;
}

// ---- arguments -------------------------------------------------------------
// `--name value` or `--name=value`; advances i past what it consumed.
std::optional<std::string> take_option(const std::vector<std::string>& args, std::size_t& i,
                                       std::string_view name) {
  const auto& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) {
      usage_error(fmt::format("{} needs a value", name));
    }
    i += 2;
    return args[i - 1];
  }
  if (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=') {
    i += 1;
    return a.substr(name.size() + 1);
  }
  return std::nullopt;
}

UpOptions parse_up(const std::vector<std::string>& args) {
  UpOptions o;
  std::string speeds;
  std::string memory;
  std::string clocks;
  for (std::size_t i = 0; i < args.size();) {
    if (auto v = take_option(args, i, "--nodes")) {
      auto n = parse_number<long>(*v);
      if (!n || *n < 1 || *n > kMaxNodes) {
        usage_error(fmt::format("--nodes: '{}' is not a node count (1..{})", *v, kMaxNodes));
      }
      o.nodes = static_cast<int>(*n);
    } else if (auto v = take_option(args, i, "--speeds")) {
      speeds = *v;
    } else if (auto v = take_option(args, i, "--mem")) {
      memory = *v;
    } else if (auto v = take_option(args, i, "--clock-offsets")) {
      clocks = *v;
    } else if (auto v = take_option(args, i, "--mosixd")) {
      o.mosixd = *v;
    } else if (auto v = take_option(args, i, "--mosctl")) {
      o.mosctl = *v;
    } else if (auto v = take_option(args, i, "--timeout")) {
      auto t = parse_number<long>(*v);
      if (!t || *t < 0) {
        usage_error(fmt::format("--timeout: '{}' is not a number of seconds", *v));
      }
      o.timeout = std::chrono::seconds(*t);
    } else if (auto v = take_option(args, i, "--gossip-period")) {
      auto t = parse_number<double>(*v);
      if (!t || !(*t >= 0.05 && *t <= 60)) {
        usage_error(fmt::format("--gossip-period: '{}' is not 0.05..60 seconds", *v));
      }
      o.gossip.period_s = *t;
    } else if (auto v = take_option(args, i, "--down-after")) {
      auto t = parse_number<double>(*v);
      if (!t || !(*t >= 0 && *t <= 86400)) {
        usage_error(fmt::format("--down-after: '{}' is not a number of seconds", *v));
      }
      o.gossip.down_after_s = *t;
    } else if (args[i] == "--policy") {
      if (o.policy_period_s == 0) {
        o.policy_period_s = 1.0;
      }
      ++i;
    } else if (auto v = take_option(args, i, "--policy-period")) {
      auto t = parse_number<double>(*v);
      if (!t || !(*t >= 0.2 && *t <= 60)) {
        usage_error(fmt::format("--policy-period: '{}' is not 0.2..60 seconds", *v));
      }
      o.policy_period_s = *t;
    } else if (auto v = take_option(args, i, "--log-level")) {
      if (!parse_log_level(*v)) {
        usage_error(fmt::format("--log-level: '{}' is not error, warn, info, debug or trace", *v));
      }
      o.log_level = *v;
    } else {
      usage_error(fmt::format("up: unknown argument '{}'", args[i]));
    }
  }
  if (o.nodes == 0) {
    usage_error("up: --nodes N is required");
  }
  auto per_node = [&](std::string_view flag, const std::string& list) {
    auto items = split_list(list);
    if (items.size() != 1 && items.size() != static_cast<std::size_t>(o.nodes)) {
      usage_error(fmt::format("{}: {} values for {} nodes (give one, or one per node)", flag,
                              items.size(), o.nodes));
    }
    if (items.size() == 1) {
      items.assign(static_cast<std::size_t>(o.nodes), items[0]);
    }
    return items;
  };
  if (!speeds.empty()) {
    for (const auto& s : per_node("--speeds", speeds)) {
      auto v = parse_number<double>(s);
      // A CFS quota below 1 ms per 100 ms period is refused by the kernel.
      if (!v || !(*v >= 0.01 && *v <= 1024)) {
        usage_error(fmt::format("--speeds: '{}' is not a speed (0.01..1024 CPUs)", s));
      }
      o.speeds.push_back(*v);
    }
  }
  if (!clocks.empty()) {
    for (const auto& s : per_node("--clock-offsets", clocks)) {
      auto v = parse_number<long>(s);
      if (!v || *v < 0 || *v > 100000000) {
        usage_error(fmt::format("--clock-offsets: '{}' is not 0..100000000 seconds", s));
      }
      o.clock_offsets.push_back(*v);
    }
  }
  if (!memory.empty()) {
    for (const auto& s : per_node("--mem", memory)) {
      auto v = parse_size(s);
      if (!v || *v < (4ULL << 20)) {
        usage_error(
            fmt::format("--mem: '{}' is not a memory size of at least 4M (e.g. 512M, 2G)", s));
      }
      o.memory.push_back(*v);
    }
  }
  return o;
}

int run(std::vector<std::string> args) {
  if (args.empty()) {
    usage_error("missing command");
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    print_help();
    return 0;
  }
  if (cmd == kInitMode) {
    return run_node_init();
  }
  // Arguments first, so a usage error never touches anything.
  UpOptions up;
  std::string node;
  std::string mosixd_flag;
  if (cmd == "up") {
    up = parse_up(args);
  } else if (cmd == "exec") {
    if (args.empty()) {
      usage_error("exec: missing NODE");
    }
    node = args[0];
    args.erase(args.begin());
    if (!args.empty() && args[0] == "--") {
      args.erase(args.begin());
    }
    if (args.empty()) {
      usage_error("exec: missing COMMAND");
    }
  } else if (cmd == "restart" || cmd == "stop") {
    if (args.empty()) {
      usage_error(fmt::format("{}: missing NODE", cmd));
    }
    node = args[0];
    for (std::size_t i = 1; i < args.size();) {
      auto v = cmd == "restart" ? take_option(args, i, "--mosixd") : std::nullopt;
      if (!v) {
        usage_error(fmt::format("{}: unknown argument '{}'", cmd, args[i]));
      }
      mosixd_flag = *v;
    }
  } else if (cmd == "status" || cmd == "down") {
    if (!args.empty()) {
      usage_error(fmt::format("{}: unexpected argument '{}'", cmd, args[0]));
    }
  } else {
    usage_error(fmt::format("unknown command '{}'", cmd));
  }
  if (::geteuid() != 0) {
    print_error("must run as root (it creates namespaces, links and cgroups)");
    return kExitUsage;
  }
  if (cmd == "up") {
    return cmd_up(up);
  }
  if (cmd == "exec") {
    return cmd_exec(node, args);
  }
  if (cmd == "restart") {
    return cmd_restart(node, mosixd_flag);
  }
  if (cmd == "stop") {
    return cmd_stop(node);
  }
  if (cmd == "status") {
    return cmd_status();
  }
  return cmd_down();
}

}  // namespace

int main(int argc, char** argv) {
  set_log_tag("moscluster");
  init_log_from_env();
  return run(std::vector<std::string>(argv + 1, argv + argc));
}
