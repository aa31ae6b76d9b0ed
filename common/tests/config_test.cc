// Unit tests for common/Config.h: a full file and a minimal one load with
// every field right, every kind of mistake is refused with a message naming
// the right line and key, the secret file's checks hold, and no input (cut
// short, mangled, nested absurdly deep) crashes the loader.

#include "common/Config.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace mos::common {
namespace {

TEST_SUITE_BEGIN("config");

namespace fs = std::filesystem;
using namespace std::literals;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the test ends, however it ends.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = fmt::format("{}/mos_config_test.XXXXXX", tmp != nullptr ? tmp : "/tmp");
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::string_view text, mode_t mode = 0600) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    REQUIRE(out);
    out << text;
  }
  // Set the mode explicitly: the file was created through the umask.
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

// Every key the format has, each set to something other than its default.
constexpr std::string_view kFull = R"([daemon]
node = "node2"
control_socket = "/run/mosix/test.sock"
log_level = "debug"

[cluster]
name = "alpha"
secret_file = "secret"
peer_port = 5000
gossip_port = 5001
metrics_port = 9100

[[cluster.node]]
name = "node1"
address = "10.77.0.1"

[[cluster.node]]
name = "node2"
address = "FD00:0::2"
peer_port = 6000
speed = 1.5

[gossip]
period = 0.5
window = 64
down_after = 5

[[partner]]
name = "beta"
priority = 10
may_come_in = false
max_guests = 8

[[partner.node]]
name = "b1"
address = "10.78.0.1"

[[partner]]
name = "gamma"
priority = 20
may_go_out = false

[[partner.node]]
name = "g1"
address = "10.79.0.1"
peer_port = 7000
speed = 2
)";

// Only what is required.
constexpr std::string_view kMinimal = R"([daemon]
node = "n1"

[cluster]
name = "solo"
secret_file = "secret"

[[cluster.node]]
name = "n1"
address = "127.0.0.1"
)";

// kMinimal up to its [[cluster.node]] block: the cluster table is last, so
// whatever is appended lands in it.
std::string minimal_without_nodes() {
  return std::string(kMinimal.substr(0, kMinimal.find("[[cluster.node]]")));
}

// The 1-based number of the first line of `text` containing `needle`.
int line_of(std::string_view text, std::string_view needle) {
  int line = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    if (text.substr(start, end - start).find(needle) != std::string_view::npos) {
      return line;
    }
    start = end + 1;
    ++line;
  }
  FAIL("test bug: no line contains '" << needle << "'");
  return 0;
}

// `text` with the first line containing `needle` replaced by `replacement`
// (which may hold several lines, or none).
std::string edit(std::string_view text, std::string_view needle, std::string_view replacement) {
  const std::size_t at = text.find(needle);
  REQUIRE_MESSAGE(at != std::string_view::npos, "test bug: no line contains '" << needle << "'");
  const std::size_t begin =
      text.rfind('\n', at) == std::string_view::npos ? 0 : text.rfind('\n', at) + 1;
  std::size_t end = text.find('\n', at);
  end = end == std::string_view::npos ? text.size() : end + 1;
  std::string out(text.substr(0, begin));
  if (!replacement.empty()) {
    out += replacement;
    out += '\n';
  }
  out += text.substr(end);
  return out;
}

// A directory with a good secret file, and the config file's name in it.
struct Fixture {
  TempDir dir;
  fs::path config = dir.path() / "mosixd.toml";

  Fixture() { write_file(dir.path() / "secret", std::string(kSecret) + "\n"); }

  std::expected<Config, std::string> parse(std::string_view text) const {
    return parse_config(text, config);
  }

  // Checks that `text` is refused with "<file>:<line>: <key>: ..." and returns
  // the message for further checks.
  std::string refused(std::string_view text, int line, std::string_view key) const {
    auto c = parse(text);
    REQUIRE_MESSAGE(!c.has_value(), "accepted a bad file:\n" << text);
    const std::string& err = c.error();
    const std::string prefix = fmt::format("{}:{}: {}: ", config.string(), line, key);
    CHECK_MESSAGE(err.starts_with(prefix), "message: " << err << "\nexpected prefix: " << prefix);
    CHECK(err.find('\n') == std::string::npos);
    return err;
  }

  // Replaces the line holding `needle` and expects the new line to be blamed.
  std::string refused_edit(std::string_view needle, std::string_view replacement,
                           std::string_view key, std::string_view base = kFull) const {
    return refused(edit(base, needle, replacement), line_of(base, needle), key);
  }
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST_CASE("a full config file loads with every field right") {
  Fixture f;
  write_file(f.config, kFull);
  auto c = load_config(f.config);
  REQUIRE_MESSAGE(c.has_value(), c.error());

  CHECK(c->source == f.config);
  CHECK(c->node_name == "node2");
  CHECK(c->control_socket == "/run/mosix/test.sock");
  CHECK(c->log_level == "debug");

  CHECK(c->cluster_name == "alpha");
  CHECK(c->secret_file == f.dir.path() / "secret");
  CHECK(c->secret == kSecret);
  CHECK(c->peer_port == 5000);
  CHECK(c->gossip_port == 5001);
  CHECK(c->metrics_port == 9100);

  REQUIRE(c->nodes.size() == 2);
  CHECK(c->nodes[0].name == "node1");
  CHECK(c->nodes[0].address == "10.77.0.1");
  CHECK(c->nodes[0].peer_port == 5000);  // from cluster.peer_port
  CHECK(c->nodes[0].speed == 0.0);
  CHECK(c->nodes[1].name == "node2");
  CHECK(c->nodes[1].address == "fd00::2");  // canonical spelling
  CHECK(c->nodes[1].peer_port == 6000);
  CHECK(c->nodes[1].speed == 1.5);
  CHECK(&c->self() == &c->nodes[1]);
  CHECK(c->find_node("node1") == &c->nodes[0]);
  CHECK(c->find_node("node3") == nullptr);

  CHECK(c->gossip.period_s == 0.5);
  CHECK(c->gossip.window == 64);
  CHECK(c->gossip.down_after_s == 5.0);

  REQUIRE(c->partners.size() == 2);
  const PartnerCluster& beta = c->partners[0];
  CHECK(beta.name == "beta");
  CHECK(beta.priority == 10);
  CHECK_FALSE(beta.may_come_in);
  CHECK(beta.may_go_out);
  CHECK(beta.max_guests == 8);
  REQUIRE(beta.nodes.size() == 1);
  CHECK(beta.nodes[0].name == "b1");
  CHECK(beta.nodes[0].address == "10.78.0.1");
  CHECK(beta.nodes[0].peer_port == 5000);
  const PartnerCluster& gamma = c->partners[1];
  CHECK(gamma.name == "gamma");
  CHECK(gamma.priority == 20);
  CHECK(gamma.may_come_in);
  CHECK_FALSE(gamma.may_go_out);
  CHECK(gamma.max_guests == 0);
  REQUIRE(gamma.nodes.size() == 1);
  CHECK(gamma.nodes[0].peer_port == 7000);
  CHECK(gamma.nodes[0].speed == 2.0);  // an integer is fine where a float is expected
}

TEST_CASE("defaults fill in what a minimal file leaves out") {
  Fixture f;
  auto c = f.parse(kMinimal);
  REQUIRE_MESSAGE(c.has_value(), c.error());
  CHECK(c->control_socket == "/run/mosix/mosixd.sock");
  CHECK(c->log_level == "info");
  CHECK(c->peer_port == 4660);
  CHECK(c->gossip_port == 4661);
  CHECK(c->metrics_port == 0);
  REQUIRE(c->nodes.size() == 1);
  CHECK(c->self().peer_port == 4660);
  CHECK(c->self().speed == 0.0);
  CHECK(c->gossip.period_s == 1.0);
  CHECK(c->gossip.window == 20);
  CHECK(c->gossip.down_after_s == 0.0);
  CHECK(c->partners.empty());

  SUBCASE("node ports follow cluster.peer_port") {
    auto c2 = f.parse(edit(kMinimal, "secret_file", "secret_file = \"secret\"\npeer_port = 4000"));
    REQUIRE_MESSAGE(c2.has_value(), c2.error());
    CHECK(c2->self().peer_port == 4000);
  }
  SUBCASE("an empty [gossip] table changes nothing") {
    auto c2 = f.parse(std::string(kMinimal) + "[gossip]\n");
    REQUIRE_MESSAGE(c2.has_value(), c2.error());
    CHECK(c2->gossip.period_s == 1.0);
  }
  SUBCASE("inline tables work as well as [[...]] headers") {
    auto c2 =
        f.parse(minimal_without_nodes() + "node = [{ name = \"n1\", address = \"127.0.0.1\" }]\n");
    REQUIRE_MESSAGE(c2.has_value(), c2.error());
    CHECK(c2->self().address == "127.0.0.1");
  }
  SUBCASE("an absolute secret_file is used as is") {
    auto c2 =
        f.parse(edit(kMinimal, "secret_file",
                     fmt::format("secret_file = \"{}\"", (f.dir.path() / "secret").string())));
    REQUIRE_MESSAGE(c2.has_value(), c2.error());
    CHECK(c2->secret == kSecret);
  }
}

TEST_CASE("TOML syntax errors are reported with line and column") {
  Fixture f;
  const std::string text = edit(kFull, "gossip_port", "gossip_port = = 3");
  auto c = f.parse(text);
  REQUIRE_FALSE(c.has_value());
  const int line = line_of(kFull, "gossip_port");
  CHECK_MESSAGE(c.error().starts_with(fmt::format("{}:{}:", f.config.string(), line)), c.error());
  CHECK(c.error().find('\n') == std::string::npos);

  SUBCASE("a key defined twice") {
    auto c2 = f.parse(edit(kFull, "gossip_port", "peer_port = 1"));
    REQUIRE_FALSE(c2.has_value());
    CHECK_MESSAGE(c2.error().starts_with(
                      fmt::format("{}:{}:", f.config.string(), line_of(kFull, "gossip_port"))),
                  c2.error());
  }
}

TEST_CASE("unknown keys are refused wherever they are") {
  Fixture f;
  SUBCASE("top level") {
    f.refused("nmae = 1\n" + std::string(kFull), 1, "nmae");
  }
  SUBCASE("daemon") {
    f.refused_edit("log_level", "log_levle = \"info\"", "daemon.log_levle");
  }
  SUBCASE("cluster") {
    f.refused_edit("name = \"alpha\"", "nmae = \"alpha\"", "cluster.nmae");
  }
  SUBCASE("cluster node") {
    f.refused_edit("speed = 1.5", "sped = 1.5", "cluster.node[1].sped");
  }
  SUBCASE("gossip") {
    f.refused_edit("window = 64", "windwo = 64", "gossip.windwo");
  }
  SUBCASE("partner") {
    f.refused_edit("max_guests = 8", "max_guest = 8", "partner[0].max_guest");
  }
  SUBCASE("partner node") {
    f.refused_edit("peer_port = 7000", "port = 7000", "partner[1].node[0].port");
  }
  SUBCASE("an odd key is quoted, control characters escaped") {
    const std::string err = f.refused_edit("window = 64", "\"a b\\n\" = 1", "gossip.\"a b\\x0a\"");
    CHECK(contains(err, "unknown key"));
  }
}

TEST_CASE("values of the wrong type are refused") {
  Fixture f;
  SUBCASE("port as a string") {
    const std::string err =
        f.refused_edit("peer_port = 5000", "peer_port = \"5000\"", "cluster.peer_port");
    CHECK(contains(err, "expected an integer, found a string"));
  }
  SUBCASE("port as a float") {
    f.refused_edit("gossip_port", "gossip_port = 5001.0", "cluster.gossip_port");
  }
  SUBCASE("name as an integer") {
    f.refused_edit("name = \"alpha\"", "name = 7", "cluster.name");
  }
  SUBCASE("boolean as a string") {
    f.refused_edit("may_come_in", "may_come_in = \"no\"", "partner[0].may_come_in");
  }
  SUBCASE("speed as a string") {
    f.refused_edit("speed = 1.5", "speed = \"fast\"", "cluster.node[1].speed");
  }
  SUBCASE("address as an array") {
    f.refused_edit("address = \"10.77.0.1\"", "address = [\"10.77.0.1\"]",
                   "cluster.node[0].address");
  }
  SUBCASE("[daemon] not a table") {
    const std::string err =
        f.refused("daemon = 3\n" + std::string(kFull.substr(kFull.find("[cluster]"))), 1, "daemon");
    CHECK(contains(err, "expected a table"));
  }
  SUBCASE("[partner] as a plain table") {
    const std::string text = std::string(kMinimal) + "\n[partner]\nname = \"x\"\n";
    const std::string err = f.refused(text, line_of(text, "[partner]"), "partner");
    CHECK(contains(err, "[[partner]]"));
  }
  SUBCASE("a non-table in the node array") {
    const std::string text = minimal_without_nodes() +
                             "node = [\n{ name = \"n1\", address = \"127.0.0.1\" },\n\"n2\",\n]\n";
    f.refused(text, line_of(text, "\"n2\""), "cluster.node[1]");
  }
}

TEST_CASE("missing required keys are refused at the enclosing table's line") {
  Fixture f;
  SUBCASE("daemon.node") {
    f.refused(edit(kFull, "node = \"node2\"", ""), line_of(kFull, "[daemon]"), "daemon.node");
  }
  SUBCASE("no [daemon] at all") {
    f.refused(kFull.substr(kFull.find("[cluster]")), 1, "daemon");
  }
  SUBCASE("cluster.name") {
    f.refused(edit(kFull, "name = \"alpha\"", ""), line_of(kFull, "[cluster]"), "cluster.name");
  }
  SUBCASE("cluster.secret_file") {
    f.refused(edit(kFull, "secret_file", ""), line_of(kFull, "[cluster]"), "cluster.secret_file");
  }
  SUBCASE("a node's address") {
    const std::string text = edit(kFull, "address = \"10.77.0.1\"", "");
    f.refused(text, line_of(kFull, "[[cluster.node]]"), "cluster.node[0].address");
  }
  SUBCASE("a node's name") {
    f.refused(edit(kFull, "name = \"b1\"", ""), line_of(kFull, "[[partner.node]]"),
              "partner[0].node[0].name");
  }
  SUBCASE("a partner's priority") {
    f.refused(edit(kFull, "priority = 20", ""), line_of(kFull, "name = \"gamma\"") - 1,
              "partner[1].priority");
  }
  SUBCASE("no nodes in the cluster") {
    const std::string text = minimal_without_nodes();
    f.refused(text, line_of(text, "[cluster]"), "cluster.node");
  }
  SUBCASE("a partner without nodes") {
    const std::string text = std::string(kMinimal) + "\n[[partner]]\nname = \"p\"\npriority = 1\n";
    f.refused(text, line_of(text, "[[partner]]"), "partner[0].node");
  }
  SUBCASE("an empty node array") {
    const std::string text = minimal_without_nodes() + "node = []\n";
    const std::string err = f.refused(text, line_of(text, "node = []"), "cluster.node");
    CHECK(contains(err, "at least one"));
  }
  SUBCASE("an empty file") {
    f.refused("", 1, "daemon");
  }
}

TEST_CASE("bad names are refused") {
  Fixture f;
  SUBCASE("cluster name with a space") {
    const std::string err = f.refused_edit("name = \"alpha\"", "name = \"al pha\"", "cluster.name");
    CHECK(contains(err, "\"al pha\""));
  }
  SUBCASE("empty node name") {
    f.refused_edit("name = \"node1\"", "name = \"\"", "cluster.node[0].name");
  }
  SUBCASE("64-character partner name") {
    f.refused_edit("name = \"beta\"", fmt::format("name = \"{}\"", std::string(64, 'b')),
                   "partner[0].name");
  }
  SUBCASE("63 characters are fine") {
    auto c =
        f.parse(edit(kFull, "name = \"beta\"", fmt::format("name = \"{}\"", std::string(63, 'b'))));
    CHECK_MESSAGE(c.has_value(), c.error());
  }
  SUBCASE("daemon.node with a slash") {
    f.refused_edit("node = \"node2\"", "node = \"../node2\"", "daemon.node");
  }
  SUBCASE("non-ASCII partner node name") {
    f.refused_edit("name = \"g1\"", "name = \"g\u00e9\"", "partner[1].node[0].name");
  }
}

TEST_CASE("bad addresses are refused") {
  Fixture f;
  const auto bad = [&](std::string_view address) {
    CAPTURE(address);
    const std::string err =
        f.refused_edit("address = \"10.77.0.1\"", fmt::format("address = \"{}\"", address),
                       "cluster.node[0].address");
    CHECK(contains(err, "address"));
  };
  bad("node1.example.com");
  bad("localhost");
  bad("10.77.0.256");
  bad("10.77.0");
  bad("[::1]");
  bad("::1%lo");
  bad("10.77.0.1:4660");
  bad("");
  bad(" 10.77.0.1");
  bad("10.77.0.1\\u0000junk");  // inet_pton would stop at the NUL
  bad("0.0.0.0");
  bad("::");
  bad("224.0.0.1");
  bad("ff02::1");
}

TEST_CASE("ports out of range are refused") {
  Fixture f;
  SUBCASE("cluster.peer_port too big") {
    const std::string err =
        f.refused_edit("peer_port = 5000", "peer_port = 70000", "cluster.peer_port");
    CHECK(contains(err, "70000 is not a port (1..65535)"));
  }
  SUBCASE("cluster.peer_port zero") {
    f.refused_edit("peer_port = 5000", "peer_port = 0", "cluster.peer_port");
  }
  SUBCASE("gossip_port negative") {
    f.refused_edit("gossip_port", "gossip_port = -1", "cluster.gossip_port");
  }
  SUBCASE("metrics_port too big") {
    f.refused_edit("metrics_port", "metrics_port = 65536", "cluster.metrics_port");
  }
  SUBCASE("metrics_port 0 means off") {
    auto c = f.parse(edit(kFull, "metrics_port", "metrics_port = 0"));
    REQUIRE_MESSAGE(c.has_value(), c.error());
    CHECK(c->metrics_port == 0);
  }
  SUBCASE("metrics_port on this node's peer_port") {
    f.refused_edit("metrics_port", "metrics_port = 6000", "cluster.metrics_port");
  }
  SUBCASE("node peer_port") {
    f.refused_edit("peer_port = 6000", "peer_port = 99999999999", "cluster.node[1].peer_port");
  }
  SUBCASE("partner node peer_port") {
    f.refused_edit("peer_port = 7000", "peer_port = 0", "partner[1].node[0].peer_port");
  }
}

TEST_CASE("duplicates are refused") {
  Fixture f;
  SUBCASE("node names within a cluster") {
    const std::string err =
        f.refused_edit("name = \"node2\"", "name = \"node1\"", "cluster.node[1].name");
    CHECK(contains(err, fmt::format("cluster.node[0] (line {})", line_of(kFull, "\"node1\""))));
  }
  SUBCASE("the same node name in two clusters is fine") {
    auto c = f.parse(edit(kFull, "name = \"b1\"", "name = \"node1\""));
    CHECK_MESSAGE(c.has_value(), c.error());
  }
  SUBCASE("a partner named like the local cluster") {
    f.refused_edit("name = \"gamma\"", "name = \"alpha\"", "partner[1].name");
  }
  SUBCASE("two partners of one name") {
    f.refused_edit("name = \"gamma\"", "name = \"beta\"", "partner[1].name");
  }
  SUBCASE("address and port within a cluster") {
    // node2 listens on 6000; give node1 the same address spelled differently.
    const std::string text = edit(edit(kFull, "address = \"10.77.0.1\"", "address = \"fd00::2\""),
                                  "name = \"node1\"", "name = \"node1\"\npeer_port = 6000");
    const std::string err = f.refused(text, line_of(text, "FD00:0::2"), "cluster.node[1].address");
    CHECK(contains(err, "[fd00::2]:6000"));
  }
  SUBCASE("the same address on another port is fine") {
    auto c = f.parse(edit(kFull, "address = \"10.77.0.1\"", "address = \"fd00::2\""));
    CHECK_MESSAGE(c.has_value(), c.error());
  }
  SUBCASE("address and port across clusters, IPv4-mapped") {
    f.refused_edit("address = \"10.78.0.1\"", "address = \"::ffff:10.77.0.1\"",
                   "partner[0].node[0].address");
  }
}

TEST_CASE("daemon.node must be one of the cluster's nodes") {
  Fixture f;
  const std::string err = f.refused_edit("node = \"node2\"", "node = \"node3\"", "daemon.node");
  CHECK(contains(err, "\"node3\""));
  SUBCASE("a partner's node does not count") {
    f.refused_edit("node = \"node2\"", "node = \"b1\"", "daemon.node");
  }
}

TEST_CASE("bad daemon settings are refused") {
  Fixture f;
  SUBCASE("log level") {
    const std::string err =
        f.refused_edit("log_level", "log_level = \"verbose\"", "daemon.log_level");
    CHECK(contains(err, "\"verbose\""));
  }
  SUBCASE("log level is case-sensitive") {
    f.refused_edit("log_level", "log_level = \"INFO\"", "daemon.log_level");
  }
  SUBCASE("relative control socket") {
    f.refused_edit("control_socket", "control_socket = \"run/mosixd.sock\"",
                   "daemon.control_socket");
  }
  SUBCASE("control socket longer than sun_path") {
    f.refused_edit("control_socket", fmt::format("control_socket = \"/{}\"", std::string(120, 's')),
                   "daemon.control_socket");
  }
}

TEST_CASE("numbers out of range are refused") {
  Fixture f;
  SUBCASE("gossip.period too short") {
    f.refused_edit("period = 0.5", "period = 0.01", "gossip.period");
  }
  SUBCASE("gossip.period too long") {
    f.refused_edit("period = 0.5", "period = 61", "gossip.period");
  }
  SUBCASE("gossip.period nan") {
    f.refused_edit("period = 0.5", "period = nan", "gossip.period");
  }
  SUBCASE("gossip.period bounds are inclusive") {
    CHECK(f.parse(edit(edit(kFull, "period = 0.5", "period = 0.05"), "down_after", "")));
    CHECK(f.parse(edit(edit(kFull, "period = 0.5", "period = 60"), "down_after", "")));
  }
  SUBCASE("gossip.window zero") {
    f.refused_edit("window = 64", "window = 0", "gossip.window");
  }
  SUBCASE("gossip.window too big") {
    f.refused_edit("window = 64", "window = 100001", "gossip.window");
  }
  SUBCASE("gossip.down_after shorter than the period") {
    f.refused_edit("down_after", "down_after = 0.25", "gossip.down_after");
  }
  SUBCASE("gossip.down_after infinite") {
    f.refused_edit("down_after", "down_after = inf", "gossip.down_after");
  }
  SUBCASE("gossip.down_after 0 means derived") {
    auto c = f.parse(edit(kFull, "down_after", "down_after = 0"));
    REQUIRE_MESSAGE(c.has_value(), c.error());
    CHECK(c->gossip.down_after_s == 0.0);
  }
  SUBCASE("priority 0 is the local cluster's") {
    const std::string err = f.refused_edit("priority = 10", "priority = 0", "partner[0].priority");
    CHECK(contains(err, "reserved"));
  }
  SUBCASE("priority too big") {
    f.refused_edit("priority = 20", "priority = 1001", "partner[1].priority");
  }
  SUBCASE("max_guests negative") {
    f.refused_edit("max_guests", "max_guests = -1", "partner[0].max_guests");
  }
  SUBCASE("max_guests beyond 32 bits") {
    f.refused_edit("max_guests", "max_guests = 4294967296", "partner[0].max_guests");
  }
  SUBCASE("negative speed") {
    f.refused_edit("speed = 1.5", "speed = -1.0", "cluster.node[1].speed");
  }
  SUBCASE("infinite speed") {
    f.refused_edit("speed = 2", "speed = inf", "partner[1].node[0].speed");
  }
}

TEST_CASE("the secret file is checked") {
  Fixture f;
  const fs::path secret = f.dir.path() / "secret";
  const int line = line_of(kFull, "secret_file");

  SUBCASE("missing") {
    fs::remove(secret);
    const std::string err = f.refused(kFull, line, "cluster.secret_file");
    CHECK(contains(err, secret.string()));
    CHECK(!load_secret(secret).has_value());
  }
  SUBCASE("world-readable") {
    REQUIRE(::chmod(secret.c_str(), 0644) == 0);
    const std::string err = f.refused(kFull, line, "cluster.secret_file");
    CHECK(contains(err,
                   fmt::format("{} is world-readable (mode 0644); chmod 600 it", secret.string())));
  }
  SUBCASE("world-writable") {
    REQUIRE(::chmod(secret.c_str(), 0602) == 0);
    const std::string err = f.refused(kFull, line, "cluster.secret_file");
    CHECK(contains(err, "world-writable (mode 0602)"));
  }
  SUBCASE("group-readable is fine") {
    REQUIRE(::chmod(secret.c_str(), 0640) == 0);
    CHECK(f.parse(kFull).has_value());
  }
  SUBCASE("too short") {
    write_file(secret, std::string(kMinSecretBytes - 1, 'x') + "\n");
    const std::string err = f.refused(kFull, line, "cluster.secret_file");
    CHECK(contains(err, fmt::format("holds {} bytes", kMinSecretBytes - 1)));
  }
  SUBCASE("only one trailing newline is stripped") {
    write_file(secret, std::string(kMinSecretBytes - 1, 'x') + "\n\n");
    auto s = load_secret(secret);
    REQUIRE_MESSAGE(s.has_value(), s.error());
    CHECK(*s == std::string(kMinSecretBytes - 1, 'x') + "\n");
  }
  SUBCASE("exactly the minimum") {
    write_file(secret, std::string(kMinSecretBytes, 'x'));
    auto s = load_secret(secret);
    REQUIRE_MESSAGE(s.has_value(), s.error());
    CHECK(s->size() == kMinSecretBytes);
  }
  SUBCASE("too long") {
    write_file(secret, std::string(kMaxSecretBytes + 1, 'x'));
    CHECK(!load_secret(secret).has_value());
  }
  SUBCASE("a directory") {
    fs::remove(secret);
    fs::create_directory(secret);
    const std::string err = f.refused(kFull, line, "cluster.secret_file");
    CHECK(contains(err, "not a regular file"));
  }
  SUBCASE("a symlink to a good file") {
    fs::rename(secret, f.dir.path() / "real");
    fs::create_symlink(f.dir.path() / "real", secret);
    CHECK(f.parse(kFull).has_value());
  }
  SUBCASE("a FIFO is refused without blocking") {
    fs::remove(secret);
    REQUIRE(::mkfifo(secret.c_str(), 0600) == 0);
    f.refused(kFull, line, "cluster.secret_file");
  }
  SUBCASE("a relative path is relative to the config file, not the working directory") {
    const fs::path sub = f.dir.path() / "etc";
    fs::create_directory(sub);
    write_file(sub / "mosixd.toml", kFull);
    write_file(sub / "secret", "another secret, 32 bytes long..");
    auto c = load_config(sub / "mosixd.toml");
    REQUIRE_MESSAGE(c.has_value(), c.error());
    CHECK(c->secret == "another secret, 32 bytes long..");
  }
}

TEST_CASE("load_config reports a file it cannot read") {
  Fixture f;
  auto c = load_config(f.dir.path() / "absent.toml");
  REQUIRE_FALSE(c.has_value());
  CHECK(contains(c.error(), "absent.toml"));
  auto d = load_config(f.dir.path());
  CHECK_FALSE(d.has_value());
}

// Nothing here checks what the messages say; only that every input gives a
// Config or one line of error, never a crash, a hang or an exception.
void must_survive(const Fixture& f, std::string_view text) {
  std::expected<Config, std::string> c;
  CHECK_NOTHROW(c = f.parse(text));
  if (!c) {
    CHECK(!c.error().empty());
    CHECK(c.error().find('\n') == std::string::npos);
  }
}

TEST_CASE("truncated and mangled files never crash the loader") {
  Fixture f;
  for (std::size_t n = 0; n <= kFull.size(); ++n) {
    must_survive(f, kFull.substr(0, n));
  }

  std::mt19937 rng(12345);  // fixed seed: a failure must be reproducible
  const std::string_view alphabet = "[]{}=.,\"'\n #0123456789-+:aeinrtuxz\\\x00\xff"sv;
  for (int round = 0; round < 3000; ++round) {
    std::string text(kFull);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (at < text.size()) {
            text.erase(at, 1 + rng() % 8);
          }
          break;
        default:
          if (at < text.size()) {
            text[at] = alphabet[rng() % alphabet.size()];
          }
          break;
      }
    }
    must_survive(f, text);
  }

  must_survive(f, "a = " + std::string(100000, '['));
  must_survive(f, "a = " + std::string(100000, '{'));
  std::string nested_tables;
  for (int i = 0; i < 10000; ++i) {
    nested_tables += "a = {";
  }
  must_survive(f, nested_tables);
  must_survive(f, std::string(1000, '.') + " = 1");
  must_survive(f, std::string("\0\0\0", 3));
  must_survive(f, "\xef\xbb\xbf[daemon]\nnode = \"x\"\n");  // BOM
  must_survive(f, "daemon.node = 9223372036854775807\ncluster.peer_port = -9223372036854775808\n");
}

TEST_CASE("the [policy] table turns automatic migration on, with a period") {
  Fixture f;
  auto off = f.parse(kMinimal);
  REQUIRE_MESSAGE(off.has_value(), off.error());
  CHECK_FALSE(off->policy.automatic);
  CHECK(off->policy.period_s == 1.0);
  auto on = f.parse(std::string(kMinimal) + "[policy]\nautomatic = true\nperiod = 2\n");
  REQUIRE_MESSAGE(on.has_value(), on.error());
  CHECK(on->policy.automatic);
  CHECK(on->policy.period_s == 2.0);
  for (const char* bad :
       {"[policy]\nautomatc = true\n", "[policy]\nperiod = 0.1\n", "[policy]\nautomatic = 1\n"}) {
    CAPTURE(bad);
    auto c = f.parse(std::string(kMinimal) + bad);
    REQUIRE_FALSE(c.has_value());
    CHECK(contains(c.error(), "policy."));
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace mos::common
