#pragma once
// Protocol constants of the peer links and the control socket. Each says why.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mos::common::tuning {
using namespace std::chrono_literals;

// Version of the link protocol spoken after the frame header; carried in
// Hello/Challenge. Both sides must agree exactly.
inline constexpr std::uint32_t kLinkProtocol = 1;

// A peer has this long to complete the handshake. Long enough for a loaded
// node, short enough that a silent or slow-loris peer cannot pin resources.
inline constexpr auto kHandshakeTimeout = 5s;

// Link upkeep: a ping per interval; a link that has received nothing for
// kLinkSilence is declared dead (TCP alone can take minutes to notice a peer
// that vanished without a FIN).
inline constexpr auto kPingInterval = 1s;
inline constexpr auto kLinkSilence = 4s;

// Reconnect backoff: doubles from min to max, so a dead node costs one SYN
// every few seconds, while a restarted node is rejoined within a second.
inline constexpr auto kReconnectMin = 200ms;
inline constexpr auto kReconnectMax = 3s;

// Bytes a link may have queued for sending before it is considered stuck and
// dropped (a peer that stopped reading must not grow our memory unboundedly).
inline constexpr std::size_t kMaxSendQueueBytes = 64u << 20;

// Handshake nonces remembered to refuse replays. A replay older than the
// horizon fails anyway: the acceptor's own nonce is fresh each time.
inline constexpr std::size_t kNonceCacheCapacity = 1u << 16;
inline constexpr auto kNonceHorizon = 10min;

// Control connections: requests are small; a client gets this long to send one.
inline constexpr std::uint32_t kMaxControlFrame = 1u << 20;
inline constexpr auto kControlIdleTimeout = 60s;

// Smoothing weight of a new RTT sample (like TCP's SRTT, alpha = 1/8).
inline constexpr double kRttAlpha = 0.125;

}  // namespace mos::common::tuning
