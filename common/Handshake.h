#pragma once
// The peer-link handshake: both sides prove knowledge of the cluster secret
// without sending it, over nonces that are fresh for this connection.
//
//   connector                                  acceptor
//   Hello{protocol, cluster, node, nonce_c, target}  ->
//                 <-  Challenge{protocol, cluster, node, nonce_s, mac_s}
//   Proof{mac_c}                                     ->
//                 <-  Welcome{boot_id}          (or Refusal{reason})
//
//   mac_s = HMAC(secret, "mosix-link-v1", "acceptor", cluster, conn, acc, nonce_c, nonce_s)
//   mac_c = HMAC(secret, "mosix-link-v1", "connector", cluster, conn, acc, nonce_c, nonce_s)
//
// The role label stops a reflected MAC from passing; the acceptor's fresh
// nonce makes a recorded Proof useless on a new connection; the acceptor
// also refuses a Hello whose nonce it has seen before. The whole exchange
// must finish within a deadline, else the socket is closed.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>

#include "common/Asio.h"
#include "common/Auth.h"
#include "common/Frame.h"

namespace mos::common {

struct HandshakeParams {
  std::string cluster;
  std::string self_node;
  std::string secret;
  std::uint64_t boot_id = 0;
  // Whether a node name is configured in this cluster (acceptor side).
  std::function<bool(std::string_view)> known_node;
  std::chrono::milliseconds timeout{5000};
};

struct PeerIdentity {
  std::string node;
  std::uint64_t boot_id = 0;  // acceptor's boot id (connector side only)
};

using tcp = asio::ip::tcp;

// Runs the connector's side on a connected socket. Parameters are taken by
// value: a coroutine must not hold references to its caller's temporaries. On failure the returned
// reason is one line for the log; the caller closes the socket. If the
// acceptor dies mid-way, the error is the socket error ("end of file").
asio::awaitable<std::expected<PeerIdentity, std::string>> handshake_connect(
    tcp::socket& sock, FrameReader& reader, HandshakeParams p, std::string expected_peer);

// Runs the acceptor's side. Sends a Refusal with the reason before
// returning an error where the peer can still be told.
asio::awaitable<std::expected<PeerIdentity, std::string>> handshake_accept(tcp::socket& sock,
                                                                           FrameReader& reader,
                                                                           HandshakeParams p,
                                                                           NonceCache& nonces);

// The MAC each side sends; exposed for tests that play a misbehaving peer.
std::string handshake_mac(std::string_view secret, std::string_view role, std::string_view cluster,
                          std::string_view connector, std::string_view acceptor,
                          std::string_view nonce_c, std::string_view nonce_s);

}  // namespace mos::common
