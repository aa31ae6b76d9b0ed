#include "common/Handshake.h"

#include <fmt/format.h>

#include "common/FrameIo.h"
#include "common/MsgType.h"
#include "common/Tuning.h"
#include "common/Watchdog.h"
#include "common/link.pb.h"

namespace mos::common {
namespace {

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 63;
}

template <typename T>
asio::awaitable<std::expected<T, std::string>> expect(tcp::socket& sock, FrameReader& reader,
                                                      MsgType type, const char* what) {
  Frame f = co_await read_frame(sock, reader);
  if (f.type == to_wire(MsgType::kRefusal)) {
    wire::Refusal r;
    if (parse_payload(f, r)) {
      co_return std::unexpected(fmt::format("peer refused: {}", r.reason().substr(0, 200)));
    }
    co_return std::unexpected(std::string("peer refused (malformed refusal)"));
  }
  if (f.type != to_wire(type)) {
    co_return std::unexpected(fmt::format("expected {}, got message type {}", what, f.type));
  }
  T msg;
  if (!parse_payload(f, msg)) {
    co_return std::unexpected(fmt::format("malformed {}", what));
  }
  co_return msg;
}

asio::awaitable<void> refuse(tcp::socket& sock, const std::string& reason) {
  wire::Refusal r;
  r.set_reason(reason);
  try {
    co_await write_frame(sock, MsgType::kRefusal, r);
  } catch (const std::exception&) {
    // The peer is gone already; the reason is logged by our caller.
  }
}

std::string describe(const std::exception& e, const Watchdog<tcp::socket>& d) {
  if (d.fired()) {
    return "handshake timed out";
  }
  return fmt::format("handshake failed: {}", e.what());
}

}  // namespace

std::string handshake_mac(std::string_view secret, std::string_view role, std::string_view cluster,
                          std::string_view connector, std::string_view acceptor,
                          std::string_view nonce_c, std::string_view nonce_s) {
  return hmac_fields(secret,
                     {"mosix-link-v1", role, cluster, connector, acceptor, nonce_c, nonce_s});
}

asio::awaitable<std::expected<PeerIdentity, std::string>> handshake_connect(
    tcp::socket& sock, FrameReader& reader, HandshakeParams p, std::string expected_peer) {
  Watchdog deadline(sock, p.timeout);
  try {
    wire::Hello hello;
    hello.set_protocol(tuning::kLinkProtocol);
    hello.set_cluster(p.cluster);
    hello.set_node(p.self_node);
    hello.set_nonce(random_bytes(kNonceBytes));
    hello.set_target(std::string(expected_peer));
    co_await write_frame(sock, MsgType::kHello, hello);

    auto ch = co_await expect<wire::Challenge>(sock, reader, MsgType::kChallenge, "Challenge");
    if (!ch) {
      co_return std::unexpected(ch.error());
    }
    if (ch->protocol() != tuning::kLinkProtocol) {
      co_return std::unexpected(fmt::format("peer speaks link protocol {}, we speak {}",
                                            ch->protocol(), tuning::kLinkProtocol));
    }
    if (ch->cluster() != p.cluster) {
      co_return std::unexpected(
          fmt::format("peer is in cluster '{}', not '{}'", ch->cluster().substr(0, 64), p.cluster));
    }
    if (ch->node() != expected_peer) {
      co_return std::unexpected(
          fmt::format("reached node '{}', expected '{}'", ch->node().substr(0, 64), expected_peer));
    }
    if (ch->nonce().size() != kNonceBytes || ch->nonce() == hello.nonce()) {
      co_return std::unexpected(std::string("peer sent a bad nonce"));
    }
    std::string want = handshake_mac(p.secret, "acceptor", p.cluster, p.self_node, ch->node(),
                                     hello.nonce(), ch->nonce());
    if (!mac_equal(want, ch->mac())) {
      co_await refuse(sock, "authentication failed");
      co_return std::unexpected(std::string("peer failed authentication (wrong cluster secret?)"));
    }
    wire::Proof proof;
    proof.set_mac(handshake_mac(p.secret, "connector", p.cluster, p.self_node, ch->node(),
                                hello.nonce(), ch->nonce()));
    co_await write_frame(sock, MsgType::kProof, proof);

    auto welcome = co_await expect<wire::Welcome>(sock, reader, MsgType::kWelcome, "Welcome");
    if (!welcome) {
      co_return std::unexpected(welcome.error());
    }
    co_return PeerIdentity{ch->node(), welcome->boot_id()};
  } catch (const std::exception& e) {
    co_return std::unexpected(describe(e, deadline));
  }
}

asio::awaitable<std::expected<PeerIdentity, std::string>> handshake_accept(tcp::socket& sock,
                                                                           FrameReader& reader,
                                                                           HandshakeParams p,
                                                                           NonceCache& nonces) {
  Watchdog deadline(sock, p.timeout);
  try {
    auto hello = co_await expect<wire::Hello>(sock, reader, MsgType::kHello, "Hello");
    if (!hello) {
      co_await refuse(sock, hello.error());
      co_return std::unexpected(hello.error());
    }
    std::string problem;
    if (hello->protocol() != tuning::kLinkProtocol) {
      problem = fmt::format("link protocol {} not supported (we speak {})", hello->protocol(),
                            tuning::kLinkProtocol);
    } else if (hello->cluster() != p.cluster) {
      problem = fmt::format("wrong cluster '{}'", hello->cluster().substr(0, 64));
    } else if (!valid_name(hello->node()) || !p.known_node || !p.known_node(hello->node()) ||
               hello->node() == p.self_node) {
      problem = fmt::format("unknown node '{}'", hello->node().substr(0, 64));
    } else if (!hello->target().empty() && hello->target() != p.self_node) {
      problem =
          fmt::format("this is node '{}', not '{}'", p.self_node, hello->target().substr(0, 64));
    } else if (hello->nonce().size() != kNonceBytes) {
      problem = "bad nonce length";
    } else {
      switch (nonces.insert(hello->nonce())) {
        case NonceCache::Verdict::kFresh:
          break;
        case NonceCache::Verdict::kReplayed:
          problem = "replayed nonce";
          break;
        case NonceCache::Verdict::kFull:
          problem = "too many handshakes, try later";
          break;
      }
    }
    if (!problem.empty()) {
      co_await refuse(sock, problem);
      co_return std::unexpected(problem);
    }

    wire::Challenge ch;
    ch.set_protocol(tuning::kLinkProtocol);
    ch.set_cluster(p.cluster);
    ch.set_node(p.self_node);
    ch.set_nonce(random_bytes(kNonceBytes));
    ch.set_mac(handshake_mac(p.secret, "acceptor", p.cluster, hello->node(), p.self_node,
                             hello->nonce(), ch.nonce()));
    co_await write_frame(sock, MsgType::kChallenge, ch);

    auto proof = co_await expect<wire::Proof>(sock, reader, MsgType::kProof, "Proof");
    if (!proof) {
      co_return std::unexpected(proof.error());
    }
    std::string want = handshake_mac(p.secret, "connector", p.cluster, hello->node(), p.self_node,
                                     hello->nonce(), ch.nonce());
    if (!mac_equal(want, proof->mac())) {
      co_await refuse(sock, "authentication failed");
      co_return std::unexpected(
          fmt::format("node '{}' failed authentication (wrong cluster secret?)", hello->node()));
    }
    wire::Welcome w;
    w.set_boot_id(p.boot_id);
    co_await write_frame(sock, MsgType::kWelcome, w);
    co_return PeerIdentity{hello->node(), 0};
  } catch (const std::exception& e) {
    co_return std::unexpected(describe(e, deadline));
  }
}

}  // namespace mos::common
