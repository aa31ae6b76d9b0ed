// The peer-link handshake and link mesh, over real loopback sockets.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>

#include "common/FrameIo.h"
#include "common/Handshake.h"
#include "common/LinkManager.h"
#include "common/Tuning.h"
#include "common/link.pb.h"

using namespace mos;
using namespace mos::common;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

HandshakeParams params(const std::string& self, const std::string& secret = kSecret) {
  HandshakeParams p;
  p.cluster = "test";
  p.self_node = self;
  p.secret = secret;
  p.boot_id = 42;
  p.known_node = [](std::string_view n) { return n == "a" || n == "b"; };
  p.timeout = 2000ms;
  return p;
}

// Runs `client` against an acceptor running handshake_accept; returns both
// outcomes. The io_context is bounded by a watchdog so a bug cannot hang.
struct Outcome {
  std::optional<std::expected<PeerIdentity, std::string>> server;
  std::optional<std::expected<PeerIdentity, std::string>> client;
};

Outcome run_pair(HandshakeParams server_p, NonceCache& nonces,
                 std::function<asio::awaitable<std::expected<PeerIdentity, std::string>>(
                     tcp::socket&, FrameReader&)>
                     client) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acc.local_endpoint().port();
  Outcome out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = co_await acc.async_accept(asio::use_awaitable);
        FrameReader r;
        out.server = co_await handshake_accept(s, r, server_p, nonces);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s(io);
        co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                 asio::use_awaitable);
        FrameReader r;
        out.client = co_await client(s, r);
      },
      asio::detached);
  io.run_for(10s);
  return out;
}

}  // namespace

TEST_CASE("handshake: the right secret connects both ways") {
  NonceCache nonces(16, 1min);
  auto out = run_pair(params("b"), nonces, [](tcp::socket& s, FrameReader& r) {
    return handshake_connect(s, r, params("a"), "b");
  });
  REQUIRE(out.server.has_value());
  REQUIRE(out.client.has_value());
  REQUIRE(out.server->has_value());
  REQUIRE(out.client->has_value());
  CHECK(out.server->value().node == "a");
  CHECK(out.client->value().node == "b");
  CHECK(out.client->value().boot_id == 42);
}

TEST_CASE("handshake: a wrong secret is refused on both sides") {
  NonceCache nonces(16, 1min);
  auto out = run_pair(params("b"), nonces, [](tcp::socket& s, FrameReader& r) {
    return handshake_connect(s, r, params("a", "a-different-secret-of-enough-len"), "b");
  });
  REQUIRE(out.client.has_value());
  REQUIRE_FALSE(out.client->has_value());
  CHECK(out.client->error().find("authentication") != std::string::npos);
  REQUIRE(out.server.has_value());
  CHECK_FALSE(out.server->has_value());
}

TEST_CASE("handshake: a connector that fakes the proof is refused") {
  // Plays a connector that does not know the secret and sends the acceptor's
  // own MAC back (a reflection attempt).
  NonceCache nonces(16, 1min);
  auto out =
      run_pair(params("b"), nonces,
               [](tcp::socket& s,
                  FrameReader& r) -> asio::awaitable<std::expected<PeerIdentity, std::string>> {
                 wire::Hello h;
                 h.set_protocol(tuning::kLinkProtocol);
                 h.set_cluster("test");
                 h.set_node("a");
                 h.set_nonce(random_bytes(kNonceBytes));
                 co_await write_frame(s, MsgType::kHello, h);
                 Frame f = co_await read_frame(s, r);
                 wire::Challenge c;
                 REQUIRE(parse_payload(f, c));
                 wire::Proof p;
                 p.set_mac(c.mac());
                 co_await write_frame(s, MsgType::kProof, p);
                 Frame g = co_await read_frame(s, r);
                 CHECK(g.type == to_wire(MsgType::kRefusal));
                 co_return std::unexpected(std::string("done"));
               });
  REQUIRE(out.server.has_value());
  REQUIRE_FALSE(out.server->has_value());
  CHECK(out.server->error().find("failed authentication") != std::string::npos);
}

TEST_CASE("handshake: a replayed Hello nonce is refused") {
  NonceCache nonces(16, 1min);
  const std::string nonce = random_bytes(kNonceBytes);
  auto replay = [&nonce](
                    tcp::socket& s,
                    FrameReader& r) -> asio::awaitable<std::expected<PeerIdentity, std::string>> {
    wire::Hello h;
    h.set_protocol(tuning::kLinkProtocol);
    h.set_cluster("test");
    h.set_node("a");
    h.set_nonce(nonce);
    co_await write_frame(s, MsgType::kHello, h);
    Frame f = co_await read_frame(s, r);
    co_return PeerIdentity{std::to_string(f.type), 0};
  };
  auto first = run_pair(params("b"), nonces, replay);
  REQUIRE(first.client.has_value());
  CHECK(first.client->value().node == std::to_string(to_wire(MsgType::kChallenge)));
  auto second = run_pair(params("b"), nonces, replay);
  REQUIRE(second.client.has_value());
  CHECK(second.client->value().node == std::to_string(to_wire(MsgType::kRefusal)));
  REQUIRE(second.server.has_value());
  REQUIRE_FALSE(second.server->has_value());
  CHECK(second.server->error() == "replayed nonce");
}

TEST_CASE("handshake: a silent peer times out") {
  NonceCache nonces(16, 1min);
  auto p = params("b");
  p.timeout = 200ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto out =
      run_pair(p, nonces,
               [](tcp::socket& s,
                  FrameReader& r) -> asio::awaitable<std::expected<PeerIdentity, std::string>> {
                 // Say nothing; wait until the acceptor hangs up.
                 char b;
                 boost::system::error_code ec;
                 co_await s.async_read_some(asio::buffer(&b, 1),
                                            asio::redirect_error(asio::use_awaitable, ec));
                 co_return std::unexpected(ec.message());
               });
  REQUIRE(out.server.has_value());
  REQUIRE_FALSE(out.server->has_value());
  CHECK(out.server->error() == "handshake timed out");
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
}

TEST_CASE("handshake: wrong cluster, unknown node, wrong protocol, garbage") {
  struct Case {
    const char* name;
    std::function<void(wire::Hello&)> mutate;
    const char* want;
  };
  std::vector<Case> cases = {
      {"cluster", [](wire::Hello& h) { h.set_cluster("other"); }, "wrong cluster"},
      {"node", [](wire::Hello& h) { h.set_node("mallory"); }, "unknown node"},
      {"self", [](wire::Hello& h) { h.set_node("b"); }, "unknown node"},
      {"protocol", [](wire::Hello& h) { h.set_protocol(99); }, "not supported"},
      {"nonce", [](wire::Hello& h) { h.set_nonce("short"); }, "bad nonce"},
      {"target", [](wire::Hello& h) { h.set_target("c"); }, "this is node"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    NonceCache nonces(16, 1min);
    auto out =
        run_pair(params("b"), nonces,
                 [&c](tcp::socket& s,
                      FrameReader& r) -> asio::awaitable<std::expected<PeerIdentity, std::string>> {
                   wire::Hello h;
                   h.set_protocol(tuning::kLinkProtocol);
                   h.set_cluster("test");
                   h.set_node("a");
                   h.set_nonce(random_bytes(kNonceBytes));
                   c.mutate(h);
                   co_await write_frame(s, MsgType::kHello, h);
                   Frame f = co_await read_frame(s, r);
                   co_return PeerIdentity{std::to_string(f.type), 0};
                 });
    REQUIRE(out.server.has_value());
    REQUIRE_FALSE(out.server->has_value());
    CHECK(out.server->error().find(c.want) != std::string::npos);
    REQUIRE(out.client.has_value());
    CHECK(out.client->value().node == std::to_string(to_wire(MsgType::kRefusal)));
  }

  NonceCache nonces(16, 1min);
  auto out =
      run_pair(params("b"), nonces,
               [](tcp::socket& s,
                  FrameReader&) -> asio::awaitable<std::expected<PeerIdentity, std::string>> {
                 const char junk[] = "GET / HTTP/1.0\r\n\r\n";
                 co_await asio::async_write(s, asio::buffer(junk), asio::use_awaitable);
                 co_return std::unexpected(std::string("sent"));
               });
  REQUIRE(out.server.has_value());
  REQUIRE_FALSE(out.server->has_value());
  CHECK(out.server->error().find("bad magic") != std::string::npos);
}

namespace {

std::uint16_t free_port(const char* addr) {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address(addr), 0));
  return a.local_endpoint().port();
}

Config two_node_config(const std::string& self, std::uint16_t pa, std::uint16_t pb,
                       const std::string& secret = kSecret) {
  Config c;
  c.node_name = self;
  c.cluster_name = "test";
  c.secret = secret;
  c.nodes.push_back({"a", "127.0.0.1", pa, 1.0});
  c.nodes.push_back({"b", "127.0.0.2", pb, 1.0});
  return c;
}

wire::LinkState state_of(const LinkManager& m, const std::string& n) {
  for (const auto& s : m.status()) {
    if (s.name() == n) {
      return s.state();
    }
  }
  return wire::LINK_UNKNOWN;
}

// Runs the loop until `pred` holds or `limit` passes.
bool run_until(asio::io_context& io, std::function<bool()> pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    io.run_for(20ms);
    if (pred()) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("links: two managers connect, measure RTT, and reconnect after a restart") {
  const auto pa = free_port("127.0.0.1");
  const auto pb = free_port("127.0.0.2");
  Config ca = two_node_config("a", pa, pb);
  Config cb = two_node_config("b", pa, pb);
  asio::io_context io;
  auto a = std::make_unique<LinkManager>(io, ca, 1);
  auto b = std::make_unique<LinkManager>(io, cb, 2);
  REQUIRE(a->start().has_value());
  REQUIRE(b->start().has_value());
  REQUIRE(run_until(
      io, [&] { return a->is_up("b") && b->is_up("a"); }, 5000ms));
  CHECK(state_of(*a, "a") == wire::LINK_SELF);
  // Wait for a pong so the RTT is known.
  REQUIRE(run_until(
      io, [&] { return a->status()[1].rtt_us() > 0; }, 3000ms));

  // Messages get through in order.
  std::vector<std::uint64_t> got;
  b->on_message(MsgType::kGossipWindow, [&](const std::string& peer, const Frame& f) {
    wire::Ping p;
    REQUIRE(parse_payload(f, p));
    CHECK(peer == "a");
    got.push_back(p.seq());
  });
  for (std::uint64_t i = 1; i <= 100; ++i) {
    wire::Ping p;
    p.set_seq(i);
    REQUIRE(a->send("b", MsgType::kGossipWindow, p));
  }
  REQUIRE(run_until(
      io, [&] { return got.size() == 100; }, 3000ms));
  for (std::uint64_t i = 0; i < 100; ++i) {
    CHECK(got[i] == i + 1);
  }

  // b goes away: a notices at once (FIN) and keeps trying.
  b->stop();
  REQUIRE(run_until(
      io, [&] { return !a->is_up("b"); }, 3000ms));
  io.run_for(100ms);
  b.reset();
  // b comes back: a (the smaller name connects) re-establishes the link.
  b = std::make_unique<LinkManager>(io, cb, 3);
  REQUIRE(b->start().has_value());
  REQUIRE(run_until(
      io, [&] { return a->is_up("b") && b->is_up("a"); }, 6000ms));
  CHECK(a->status()[1].reconnects() == 2);
  a->stop();
  b->stop();
  io.run_for(100ms);
}

TEST_CASE("links: a node with the wrong secret never comes up") {
  const auto pa = free_port("127.0.0.1");
  const auto pb = free_port("127.0.0.2");
  Config ca = two_node_config("a", pa, pb);
  Config cb = two_node_config("b", pa, pb, "another-secret-of-sufficient-length");
  asio::io_context io;
  LinkManager a(io, ca, 1);
  LinkManager b(io, cb, 2);
  REQUIRE(a.start().has_value());
  REQUIRE(b.start().has_value());
  CHECK_FALSE(run_until(
      io, [&] { return a.is_up("b") || b.is_up("a"); }, 1500ms));
  CHECK(a.status()[1].last_error().find("authentication") != std::string::npos);
  a.stop();
  b.stop();
  io.run_for(100ms);
}
