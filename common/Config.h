#pragma once
// The node daemon's configuration: one TOML file (see docs/config.md).
//
// load_config() refuses a bad file with a message that names the file, the
// line and the key ("mosixd.toml:12: cluster.peer_port: 70000 is not a port
// (1..65535)"). It never throws and never exits.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mos::common {

struct NodeEntry {
  std::string name;     // unique within its cluster: [A-Za-z0-9._-]{1,63}
  std::string address;  // IPv4 or IPv6 literal (no host names: no DNS at run time)
  // (stored as inet_ntop spells it: "FD00:0::2" in the file is "fd00::2" here)
  std::uint16_t peer_port = 0;  // defaults to cluster.peer_port
  // Optional relative speed hint (1.0 = reference); 0 = measure at start.
  double speed = 0.0;
};

struct PartnerCluster {
  std::string name;
  int priority = 0;              // smaller = more important; 0 is the local cluster's own
  bool may_come_in = true;       // their guests may run here
  bool may_go_out = true;        // our bodies may run there
  std::uint32_t max_guests = 0;  // 0 = no limit
  std::vector<NodeEntry> nodes;
};

struct GossipConfig {
  double period_s = 1.0;      // one gossip round per period
  std::uint32_t window = 20;  // youngest entries sent per message
  double down_after_s = 0.0;  // age bound after which a node is down; 0 = derived
};

// [policy] (docs/policy.md)
struct PolicyConfig {
  bool automatic = false;  // the daemon moves its programs' bodies by itself
  double period_s = 1.0;   // one decision round per period
};

struct Config {
  std::filesystem::path source;  // the file this was loaded from

  // [daemon]
  std::string node_name;  // this node; must be one of cluster nodes
  std::filesystem::path control_socket = "/run/mosix/mosixd.sock";
  std::string log_level = "info";

  // [cluster]
  std::string cluster_name;
  std::filesystem::path secret_file;
  std::string secret;  // the file's contents, trailing newline stripped
  std::uint16_t peer_port = 4660;
  std::uint16_t gossip_port = 4661;
  std::uint16_t metrics_port = 0;  // 0 = no metrics HTTP server
  std::vector<NodeEntry> nodes;    // [[cluster.node]]

  // [gossip]
  GossipConfig gossip;

  // [[partner]]
  std::vector<PartnerCluster> partners;

  // [policy]
  PolicyConfig policy;

  // This node's own entry in `nodes` (load_config guarantees it exists).
  const NodeEntry& self() const;
  const NodeEntry* find_node(std::string_view name) const;
};

// Parses and validates `path`. The error string is one line, ready to print.
std::expected<Config, std::string> load_config(const std::filesystem::path& path);

// Same, from text already in memory. `source_name` names the file in messages,
// and a relative secret_file is taken relative to its directory. The secret
// file is still read from disk.
std::expected<Config, std::string> parse_config(std::string_view text,
                                                const std::filesystem::path& source_name);

// Reads a shared-secret file: must be a regular file, not readable or
// writable by "other", at least kMinSecretBytes long after stripping one
// trailing newline.
inline constexpr std::size_t kMinSecretBytes = 16;
// Longer files are refused: a secret is a line of random text, and anything
// bigger is almost certainly the wrong file.
inline constexpr std::size_t kMaxSecretBytes = 64 * 1024;
std::expected<std::string, std::string> load_secret(const std::filesystem::path& path);

}  // namespace mos::common
