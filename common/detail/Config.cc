#include "common/Config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <map>
#include <new>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/Assert.h"
#include "common/UniqueFd.h"

namespace mos::common {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLogLevels[] = {"error", "warn", "info", "debug", "trace"};

// The config file is a few hundred bytes; the cap only keeps a mistaken path
// (a log file, a disk image) from being read whole into memory.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

// Messages are one line, whatever the file holds: control bytes in keys,
// values or the file name are shown as \xNN, and long values are cut.
std::string printable(std::string_view s, bool escape_quotes, std::size_t max = 120) {
  std::string out;
  for (const char ch : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (escape_quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;  // toml++ has already checked the text is valid UTF-8
    }
  }
  return out;
}

std::string in_quotes(std::string_view s) {
  return "\"" + printable(s, true) + "\"";
}

bool is_bare_key(std::string_view k) {
  return !k.empty() && std::ranges::all_of(k, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// "cluster" + "peer_port" -> "cluster.peer_port"; odd keys are quoted as TOML
// would write them.
std::string join(std::string_view path, std::string_view key) {
  std::string k = is_bare_key(key) ? std::string(key) : in_quotes(key);
  return path.empty() ? k : fmt::format("{}.{}", path, k);
}

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

std::uint32_t line_of(const toml::node& n) {
  return n.source().begin.line;
}

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 63 && std::ranges::all_of(s, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

constexpr std::string_view kNameRule = "1 to 63 of A-Z a-z 0-9 . _ -";

// One network address in a form that compares equal however it was spelled:
// "::1" and "0:0:0:0:0:0:0:1" are the same node, and so are "10.0.0.1" and
// "::ffff:10.0.0.1".
struct IpKey {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  auto operator<=>(const IpKey&) const = default;
};

struct ParsedIp {
  IpKey key;
  std::string canonical;  // inet_ntop's spelling
};

// inet_pton only, never a resolver: the daemon must not depend on DNS.
std::optional<ParsedIp> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != text.npos) {
    return std::nullopt;
  }
  const std::string z(text);
  char buf[INET6_ADDRSTRLEN] = {};
  ParsedIp out;
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, z.c_str(), &v4) == 1) {
    out.key.family = AF_INET;
    std::memcpy(out.key.bytes.data(), &v4, sizeof v4);
    out.canonical = ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
    return out;
  }
  if (::inet_pton(AF_INET6, z.c_str(), &v6) == 1) {
    out.canonical = ::inet_ntop(AF_INET6, &v6, buf, sizeof buf);
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      out.key.family = AF_INET;
      std::memcpy(out.key.bytes.data(), &v6.s6_addr[12], 4);
    } else {
      out.key.family = AF_INET6;
      std::memcpy(out.key.bytes.data(), &v6, sizeof v6);
    }
    return out;
  }
  return std::nullopt;
}

bool is_unspecified(const IpKey& k) {
  const std::size_t n = k.family == AF_INET ? 4 : 16;
  return std::all_of(k.bytes.begin(), k.bytes.begin() + n, [](unsigned char b) { return b == 0; });
}

bool is_multicast(const IpKey& k) {
  return k.family == AF_INET ? (k.bytes[0] & 0xf0) == 0xe0 : k.bytes[0] == 0xff;
}

std::string host_port(const std::string& canonical, std::uint16_t port) {
  return canonical.find(':') == std::string::npos ? fmt::format("{}:{}", canonical, port)
                                                  : fmt::format("[{}]:{}", canonical, port);
}

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

template <typename T>
struct Field {
  T value;
  std::uint32_t line;
  std::string key;  // full dotted path, for messages
};

enum class Need { kOptional, kRequired };

// Typed access to the parsed tree that records the first problem it meets.
// Later reads carry on with defaults so the code reads straight through; only
// the first message is ever shown, and nothing it depends on can have failed
// silently before it.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool ok() const { return !error_.has_value(); }
  std::string take_error() { return std::move(*error_); }

  void fail(std::uint32_t line, std::string_view key, std::string_view what) {
    if (!error_) {
      error_ = fmt::format("{}:{}: {}: {}", file_, std::max<std::uint32_t>(line, 1), key, what);
    }
  }
  template <typename T>
  void fail(const Field<T>& f, std::string_view what) {
    fail(f.line, f.key, what);
  }

  void refuse_unknown_keys(const toml::table& t, std::string_view path,
                           std::initializer_list<std::string_view> known) {
    for (auto&& [k, v] : t) {
      if (std::ranges::find(known, k.str()) == known.end()) {
        const std::uint32_t line = k.source().begin.line ? k.source().begin.line : line_of(v);
        fail(line, join(path, k.str()), "unknown key");
        return;
      }
    }
  }

  std::optional<Field<std::string>> string(const toml::table& t, std::string_view path,
                                           std::string_view key, Need need) {
    return exact<std::string>(t, path, key, need, "a string");
  }
  std::optional<Field<std::int64_t>> integer(const toml::table& t, std::string_view path,
                                             std::string_view key, Need need) {
    return exact<std::int64_t>(t, path, key, need, "an integer");
  }
  std::optional<Field<bool>> boolean(const toml::table& t, std::string_view path,
                                     std::string_view key, Need need) {
    return exact<bool>(t, path, key, need, "a boolean");
  }

  // A float; an integer is accepted too, since "period = 2" means 2.0.
  std::optional<Field<double>> number(const toml::table& t, std::string_view path,
                                      std::string_view key, Need need) {
    const toml::node* n = lookup(t, path, key, need);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (const auto* f = n->as_floating_point()) {
      return Field<double>{f->get(), line_of(*n), join(path, key)};
    }
    if (const auto* i = n->as_integer()) {
      return Field<double>{static_cast<double>(i->get()), line_of(*n), join(path, key)};
    }
    wrong_type(*n, join(path, key), "a number");
    return std::nullopt;
  }

  // An integer within [lo, hi]; `range` is shown when it is not.
  std::optional<Field<std::int64_t>> integer_in(const toml::table& t, std::string_view path,
                                                std::string_view key, Need need, std::int64_t lo,
                                                std::int64_t hi, std::string_view range) {
    auto f = integer(t, path, key, need);
    if (f && (f->value < lo || f->value > hi)) {
      fail(*f, fmt::format("{} is out of range ({})", f->value, range));
      return std::nullopt;
    }
    return f;
  }

  std::optional<std::uint16_t> port(const toml::table& t, std::string_view path,
                                    std::string_view key, bool zero_means_off) {
    auto f = integer(t, path, key, Need::kOptional);
    if (!f) {
      return std::nullopt;
    }
    if (f->value < (zero_means_off ? 0 : 1) || f->value > 65535) {
      fail(*f, fmt::format("{} is not a port ({})", f->value,
                           zero_means_off ? "0..65535, 0 = off" : "1..65535"));
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(f->value);
  }

  const toml::table* table(const toml::table& t, std::string_view path, std::string_view key,
                           Need need) {
    const toml::node* n = lookup(t, path, key, need);
    if (n == nullptr) {
      return nullptr;
    }
    if (const auto* tab = n->as_table()) {
      return tab;
    }
    wrong_type(*n, join(path, key), fmt::format("a table ([{}])", join(path, key)));
    return nullptr;
  }

  // [[path.key]]: an array whose elements are all tables, inline or not.
  const toml::array* table_array(const toml::table& t, std::string_view path, std::string_view key,
                                 Need need) {
    const toml::node* n = lookup(t, path, key, need);
    if (n == nullptr) {
      return nullptr;
    }
    const std::string where = join(path, key);
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      wrong_type(*n, where, fmt::format("an array of tables ([[{}]])", where));
      return nullptr;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& el = *arr->get(i);
      if (!el.is_table()) {
        wrong_type(el, fmt::format("{}[{}]", where, i), "a table");
        return nullptr;
      }
    }
    return arr;
  }

 private:
  // The node for `key`, or null when it is absent (an error if it is required:
  // reported at the enclosing table's line, the nearest thing to point at).
  const toml::node* lookup(const toml::table& t, std::string_view path, std::string_view key,
                           Need need) {
    const toml::node* n = t.get(key);
    if (n == nullptr && need == Need::kRequired) {
      fail(line_of(t), join(path, key), "required key is missing");
    }
    return n;
  }

  void wrong_type(const toml::node& n, std::string_view key, std::string_view expected) {
    fail(line_of(n), key, fmt::format("expected {}, found {}", expected, type_name(n.type())));
  }

  template <typename T>
  std::optional<Field<T>> exact(const toml::table& t, std::string_view path, std::string_view key,
                                Need need, std::string_view expected) {
    const toml::node* n = lookup(t, path, key, need);
    if (n == nullptr) {
      return std::nullopt;
    }
    if (auto v = n->value_exact<T>()) {
      return Field<T>{std::move(*v), line_of(*n), join(path, key)};
    }
    wrong_type(*n, join(path, key), expected);
    return std::nullopt;
  }

  std::string file_;
  std::optional<std::string> error_;
};

// Who already holds a name or an address, so a duplicate can point back at it.
struct Seen {
  std::string key;
  std::uint32_t line;
};

// Every node address in the file, local and partner: two entries that reach
// the same address:port are one machine listed twice, whatever the cluster.
using AddressBook = std::map<std::pair<IpKey, std::uint16_t>, Seen>;

// A required name of a cluster or a node.
std::optional<Field<std::string>> read_name(Reader& r, const toml::table& t, std::string_view path,
                                            std::string_view key = "name") {
  auto name = r.string(t, path, key, Need::kRequired);
  if (name && !valid_name(name->value)) {
    r.fail(*name, fmt::format("{} is not a valid name ({})", in_quotes(name->value), kNameRule));
    return std::nullopt;
  }
  return name;
}

NodeEntry read_node(Reader& r, const toml::table& t, const std::string& path,
                    std::uint16_t default_port, AddressBook& book) {
  r.refuse_unknown_keys(t, path, {"name", "address", "peer_port", "speed"});
  NodeEntry node;
  if (auto name = read_name(r, t, path)) {
    node.name = name->value;
  }
  node.peer_port = r.port(t, path, "peer_port", false).value_or(default_port);
  if (auto speed = r.number(t, path, "speed", Need::kOptional)) {
    if (!(std::isfinite(speed->value) && speed->value >= 0)) {
      r.fail(*speed, fmt::format("{} is not a speed (a relative speed > 0, or 0 to measure)",
                                 speed->value));
    } else {
      node.speed = speed->value;
    }
  }
  auto address = r.string(t, path, "address", Need::kRequired);
  if (!address) {
    return node;
  }
  const auto ip = parse_ip(address->value);
  if (!ip) {
    r.fail(*address, fmt::format("{} is not an IPv4 or IPv6 address (host names are not "
                                 "accepted: the daemon never uses DNS)",
                                 in_quotes(address->value)));
    return node;
  }
  if (is_unspecified(ip->key) || is_multicast(ip->key)) {
    r.fail(*address, fmt::format("{} is not a node's address ({})", in_quotes(address->value),
                                 is_multicast(ip->key) ? "multicast" : "unspecified"));
    return node;
  }
  node.address = ip->canonical;
  const auto [it, fresh] =
      book.try_emplace({ip->key, node.peer_port}, Seen{join(path, "address"), address->line});
  if (!fresh) {
    r.fail(*address,
           fmt::format("{} is already used by {} (line {})",
                       host_port(ip->canonical, node.peer_port), it->second.key, it->second.line));
  }
  return node;
}

// The [[...node]] entries of one cluster: at least one, names unique.
std::vector<NodeEntry> read_nodes(Reader& r, const toml::table& cluster, const std::string& path,
                                  std::uint16_t default_port, AddressBook& book) {
  std::vector<NodeEntry> nodes;
  const toml::array* arr = r.table_array(cluster, path, "node", Need::kRequired);
  if (arr == nullptr) {
    return nodes;
  }
  if (arr->empty()) {
    r.fail(line_of(*arr), join(path, "node"), "at least one node is required");
    return nodes;
  }
  std::map<std::string, Seen, std::less<>> names;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *arr->get(i)->as_table();
    const std::string node_path = fmt::format("{}.node[{}]", path, i);
    NodeEntry node = read_node(r, t, node_path, default_port, book);
    if (!node.name.empty()) {
      const toml::node* name_node = t.get("name");
      const std::uint32_t line = name_node != nullptr ? line_of(*name_node) : line_of(t);
      const auto [it, fresh] = names.try_emplace(node.name, Seen{node_path, line});
      if (!fresh) {
        r.fail(line, join(node_path, "name"),
               fmt::format("{} is already the name of {} (line {})", in_quotes(node.name),
                           it->second.key, it->second.line));
      }
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

// A path the daemon will bind a unix socket at.
void read_control_socket(Reader& r, const toml::table& daemon, Config& c) {
  auto sock = r.string(daemon, "daemon", "control_socket", Need::kOptional);
  if (!sock) {
    return;
  }
  constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
  if (sock->value.find('\0') != std::string::npos) {
    r.fail(*sock, "contains a NUL character");
  } else if (sock->value.empty() || sock->value.front() != '/') {
    r.fail(*sock, fmt::format("{} is not an absolute path", in_quotes(sock->value)));
  } else if (sock->value.size() > kMaxSocketPath) {
    r.fail(*sock, fmt::format("is {} bytes long; a unix socket path holds at most {}",
                              sock->value.size(), kMaxSocketPath));
  } else {
    c.control_socket = sock->value;
  }
}

// Returns daemon.node's field so the caller can check it once the nodes are known.
std::optional<Field<std::string>> read_daemon(Reader& r, const toml::table& root, Config& c) {
  const toml::table* daemon = r.table(root, "", "daemon", Need::kRequired);
  if (daemon == nullptr) {
    return std::nullopt;
  }
  r.refuse_unknown_keys(*daemon, "daemon", {"node", "control_socket", "log_level"});
  auto node = read_name(r, *daemon, "daemon", "node");
  if (node) {
    c.node_name = node->value;
  }
  read_control_socket(r, *daemon, c);
  if (auto level = r.string(*daemon, "daemon", "log_level", Need::kOptional)) {
    if (std::ranges::find(kLogLevels, level->value) == std::end(kLogLevels)) {
      r.fail(*level, fmt::format("{} is not a log level (error, warn, info, debug, trace)",
                                 in_quotes(level->value)));
    } else {
      c.log_level = level->value;
    }
  }
  return node;
}

// Returns cluster.secret_file's field; the file is read only once everything
// else is known to be right.
std::optional<Field<std::string>> read_cluster(Reader& r, const toml::table& root, Config& c,
                                               AddressBook& book) {
  const toml::table* cluster = r.table(root, "", "cluster", Need::kRequired);
  if (cluster == nullptr) {
    return std::nullopt;
  }
  r.refuse_unknown_keys(
      *cluster, "cluster",
      {"name", "secret_file", "peer_port", "gossip_port", "metrics_port", "node"});
  if (auto name = read_name(r, *cluster, "cluster")) {
    c.cluster_name = name->value;
  }
  auto secret = r.string(*cluster, "cluster", "secret_file", Need::kRequired);
  if (secret && (secret->value.empty() || secret->value.find('\0') != std::string::npos)) {
    r.fail(*secret, fmt::format("{} is not a file name", in_quotes(secret->value)));
    secret.reset();
  }
  c.peer_port = r.port(*cluster, "cluster", "peer_port", false).value_or(c.peer_port);
  c.gossip_port = r.port(*cluster, "cluster", "gossip_port", false).value_or(c.gossip_port);
  c.metrics_port = r.port(*cluster, "cluster", "metrics_port", true).value_or(c.metrics_port);
  c.nodes = read_nodes(r, *cluster, "cluster", c.peer_port, book);
  return secret;
}

void read_gossip(Reader& r, const toml::table& root, GossipConfig& g) {
  const toml::table* gossip = r.table(root, "", "gossip", Need::kOptional);
  if (gossip == nullptr) {
    return;
  }
  r.refuse_unknown_keys(*gossip, "gossip", {"period", "window", "down_after"});
  if (auto period = r.number(*gossip, "gossip", "period", Need::kOptional)) {
    if (!(period->value >= 0.05 && period->value <= 60)) {
      r.fail(*period, fmt::format("{} is out of range (0.05..60 seconds)", period->value));
    } else {
      g.period_s = period->value;
    }
  }
  if (auto window =
          r.integer_in(*gossip, "gossip", "window", Need::kOptional, 1, 100000, "1..100000")) {
    g.window = static_cast<std::uint32_t>(window->value);
  }
  if (auto down = r.number(*gossip, "gossip", "down_after", Need::kOptional)) {
    if (down->value == 0) {
      g.down_after_s = 0;
    } else if (!std::isfinite(down->value) || !(down->value >= g.period_s)) {
      r.fail(*down, fmt::format("{} must be 0 (derived) or at least gossip.period ({} seconds)",
                                down->value, g.period_s));
    } else {
      g.down_after_s = down->value;
    }
  }
}

void read_policy(Reader& r, const toml::table& root, PolicyConfig& p) {
  const toml::table* policy = r.table(root, "", "policy", Need::kOptional);
  if (policy == nullptr) {
    return;
  }
  r.refuse_unknown_keys(*policy, "policy", {"automatic", "period"});
  if (auto a = r.boolean(*policy, "policy", "automatic", Need::kOptional)) {
    p.automatic = a->value;
  }
  if (auto period = r.number(*policy, "policy", "period", Need::kOptional)) {
    if (!(period->value >= 0.2 && period->value <= 60)) {
      r.fail(*period, fmt::format("{} is out of range (0.2..60 seconds)", period->value));
    } else {
      p.period_s = period->value;
    }
  }
}

void read_partners(Reader& r, const toml::table& root, Config& c, AddressBook& book) {
  const toml::array* arr = r.table_array(root, "", "partner", Need::kOptional);
  if (arr == nullptr) {
    return;
  }
  std::map<std::string, Seen, std::less<>> names;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table& t = *arr->get(i)->as_table();
    const std::string path = fmt::format("partner[{}]", i);
    r.refuse_unknown_keys(t, path,
                          {"name", "priority", "may_come_in", "may_go_out", "max_guests", "node"});
    PartnerCluster p;
    if (auto name = read_name(r, t, path)) {
      p.name = name->value;
      if (p.name == c.cluster_name) {
        r.fail(*name, fmt::format("{} is the local cluster's own name", in_quotes(p.name)));
      } else if (auto [it, fresh] = names.try_emplace(p.name, Seen{path, name->line}); !fresh) {
        r.fail(*name, fmt::format("{} is already the name of {} (line {})", in_quotes(p.name),
                                  it->second.key, it->second.line));
      }
    }
    if (auto prio = r.integer_in(t, path, "priority", Need::kRequired, 1, 1000,
                                 "1..1000; 0 is reserved for the local cluster")) {
      p.priority = static_cast<int>(prio->value);
    }
    if (auto in = r.boolean(t, path, "may_come_in", Need::kOptional)) {
      p.may_come_in = in->value;
    }
    if (auto out = r.boolean(t, path, "may_go_out", Need::kOptional)) {
      p.may_go_out = out->value;
    }
    if (auto max = r.integer_in(t, path, "max_guests", Need::kOptional, 0, UINT32_MAX,
                                "0..4294967295, 0 = no limit")) {
      p.max_guests = static_cast<std::uint32_t>(max->value);
    }
    p.nodes = read_nodes(r, t, path, c.peer_port, book);
    c.partners.push_back(std::move(p));
  }
}

std::string display_name(const fs::path& p) {
  return p.empty() ? std::string("<config>") : printable(p.string(), false);
}

std::expected<Config, std::string> parse_impl(std::string_view text, const fs::path& source) {
  const std::string file = display_name(source);
  toml::table root;
  try {
    root = toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    return std::unexpected(fmt::format("{}:{}:{}: {}", file,
                                       std::max<std::uint32_t>(e.source().begin.line, 1),
                                       std::max<std::uint32_t>(e.source().begin.column, 1),
                                       printable(e.description(), false, 300)));
  }

  Reader r(file);
  Config c;
  c.source = source;
  AddressBook book;
  r.refuse_unknown_keys(root, "", {"daemon", "cluster", "gossip", "partner", "policy"});
  auto self = read_daemon(r, root, c);
  auto secret = read_cluster(r, root, c, book);
  read_gossip(r, root, c.gossip);
  read_policy(r, root, c.policy);
  read_partners(r, root, c, book);

  if (self && r.ok()) {
    if (c.find_node(self->value) == nullptr) {
      r.fail(*self,
             fmt::format("{} is not the name of any [[cluster.node]]", in_quotes(self->value)));
    } else if (c.metrics_port != 0 && c.metrics_port == c.self().peer_port) {
      // Both are TCP listeners on this node; the second bind would fail at start.
      const toml::node* m = root.at_path("cluster.metrics_port").node();
      r.fail(m != nullptr ? line_of(*m) : 1, "cluster.metrics_port",
             fmt::format("{} is also this node's peer_port", c.metrics_port));
    }
  }
  if (secret && r.ok()) {
    fs::path p = secret->value;
    if (p.is_relative()) {
      std::error_code ec;
      const fs::path abs = fs::absolute(source, ec);
      p = (ec ? source : abs).parent_path() / p;
    }
    auto contents = load_secret(p);
    if (!contents) {
      r.fail(*secret, contents.error());
    } else {
      c.secret_file = std::move(p);
      c.secret = std::move(*contents);
    }
  }
  if (!r.ok()) {
    return std::unexpected(r.take_error());
  }
  return c;
}

// Reads at most `max` bytes; more than that is an error, not a truncation.
std::expected<std::string, int> read_capped(int fd, std::size_t max) {
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(errno);
    }
    if (n == 0) {
      return data;
    }
    if (data.size() + static_cast<std::size_t>(n) > max) {
      return std::unexpected(EFBIG);
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

const NodeEntry* Config::find_node(std::string_view name) const {
  const auto it = std::ranges::find(nodes, name, &NodeEntry::name);
  return it == nodes.end() ? nullptr : &*it;
}

const NodeEntry& Config::self() const {
  const NodeEntry* n = find_node(node_name);
  MOS_ASSERT(n != nullptr, "Config::self() on a Config that load_config did not produce");
  return *n;
}

std::expected<std::string, std::string> load_secret(const fs::path& path) {
  const std::string name = printable(path.string(), false);
  // stat first so that a FIFO or a device named by mistake is never opened.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return std::unexpected(fmt::format("{} does not exist", name));
    }
    return std::unexpected(fmt::format("cannot stat {}: {}", name, errno_text(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file", name));
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    return std::unexpected(fmt::format("cannot open {}: {}", name, errno_text(errno)));
  }
  // Check what was opened, not what was stat'ed: the path may have changed.
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("cannot stat {}: {}", name, errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file", name));
  }
  const unsigned mode = st.st_mode & 07777;
  if ((mode & S_IROTH) != 0 || (mode & S_IWOTH) != 0) {
    return std::unexpected(fmt::format("{} is world-{} (mode {:04o}); chmod 600 it", name,
                                       (mode & S_IROTH) != 0 ? "readable" : "writable", mode));
  }
  auto data = read_capped(fd.get(), kMaxSecretBytes + 1);
  if (!data) {
    if (data.error() == EFBIG) {
      return std::unexpected(
          fmt::format("{} is longer than {} bytes; is it the right file?", name, kMaxSecretBytes));
    }
    return std::unexpected(fmt::format("cannot read {}: {}", name, errno_text(data.error())));
  }
  std::string secret = std::move(*data);
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
  }
  if (secret.size() > kMaxSecretBytes) {
    return std::unexpected(
        fmt::format("{} is longer than {} bytes; is it the right file?", name, kMaxSecretBytes));
  }
  if (secret.size() < kMinSecretBytes) {
    return std::unexpected(fmt::format(
        "{} holds {} bytes; a secret needs at least {} (e.g. openssl rand -hex 32 > FILE)", name,
        secret.size(), kMinSecretBytes));
  }
  return secret;
}

std::expected<Config, std::string> parse_config(std::string_view text,
                                                const fs::path& source_name) {
  // Nothing below throws on purpose; this catches allocation failure, so that
  // a daemon reloading its config is never killed by it.
  try {
    return parse_impl(text, source_name);
  } catch (const std::bad_alloc&) {
    return std::unexpected(
        fmt::format("{}: out of memory while loading", display_name(source_name)));
  } catch (const std::exception& e) {
    return std::unexpected(
        fmt::format("{}: {}", display_name(source_name), printable(e.what(), false)));
  }
}

std::expected<Config, std::string> load_config(const fs::path& path) {
  try {
    const std::string name = display_name(path);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
      return std::unexpected(fmt::format("{}: cannot open: {}", name, errno_text(errno)));
    }
    auto text = read_capped(fd.get(), kMaxConfigBytes);
    if (!text) {
      if (text.error() == EFBIG) {
        return std::unexpected(
            fmt::format("{}: larger than {} bytes; is it the right file?", name, kMaxConfigBytes));
      }
      return std::unexpected(fmt::format("{}: cannot read: {}", name, errno_text(text.error())));
    }
    return parse_config(*text, path);
  } catch (const std::bad_alloc&) {
    return std::unexpected(fmt::format("{}: out of memory while loading", display_name(path)));
  }
}

}  // namespace mos::common
