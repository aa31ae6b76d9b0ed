#pragma once
// The TCP link between a deputy and the supervisor of a body on another
// node (mosrun -r). The guest supervisor listens on its node's address;
// each deputy of the program's tree dials it and proves that it knows the
// session token both were given by their daemons:
//
//   supervisor -> deputy  SessionChallenge{nonce}
//   deputy -> supervisor  SessionHello{pid, first, mac}
//                         mac = HMAC-SHA256(token, "mos-session", nonce, pid, first)
//
// A connection that does not finish this within tuning::kSessionHandshake,
// or whose MAC is wrong, is closed. After it, the link carries exactly the
// frames of a home link (forward.proto, session.proto).
//
// The socket is tuned for forwarding (TCP_NODELAY, large buffers) and for
// noticing a peer that vanished without a FIN (keepalive and
// TCP_USER_TIMEOUT of a few seconds): a cut link ends the program as
// documented instead of hanging it.

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "common/FramedChannel.h"
#include "common/UniqueFd.h"
#include "common/session.pb.h"

namespace mos::common {

inline constexpr std::size_t kSessionTokenBytes = 32;

namespace tuning {
inline constexpr auto kSessionHandshake = std::chrono::seconds(5);
// Keepalive: idle seconds before the first probe, seconds between probes,
// probes lost before the link is dead; and the same bound for unacked data.
inline constexpr int kSessionKeepIdleS = 2;
inline constexpr int kSessionKeepIntervalS = 1;
inline constexpr int kSessionKeepCount = 3;
inline constexpr unsigned kSessionUserTimeoutMs = 6000;
}  // namespace tuning

std::string session_mac(const std::string& token, const std::string& nonce, std::int32_t pid,
                        bool first);

// Socket options of a session link (both ends).
void tune_session_socket(int fd);

// An unconnected session socket for `address`'s family, tuned; -errno
// (EINVAL: not an IP address). Made before a fork, its number is known to
// both sides; the child connects it.
std::expected<UniqueFd, int> session_socket(const std::string& address);
// Connects `fd` to address:port within `timeout`.
std::expected<void, std::string> connect_session(int fd, const std::string& address,
                                                 std::uint16_t port,
                                                 std::chrono::milliseconds timeout);

// Both in one. The error names the address.
std::expected<UniqueFd, std::string> dial_session(const std::string& address, std::uint16_t port,
                                                  std::chrono::milliseconds timeout);

// Deputy side: answers the challenge. Fails if the peer closes or is silent.
std::expected<void, std::string> prove_session(FramedChannel& link, const std::string& token,
                                               std::int32_t pid, bool first);

// Supervisor side: accepts one connection on `listener` within `timeout`,
// challenges it and checks its proof. Connections that fail are closed and
// the wait goes on (until the deadline).
struct AcceptedDeputy {
  std::unique_ptr<FramedChannel> link;  // frames after the hello may be buffered in it
  wire::SessionHello hello;
};
std::expected<AcceptedDeputy, std::string> accept_deputy(int listener, const std::string& token,
                                                         std::chrono::milliseconds timeout);

// A listening TCP socket on `address`, port chosen by the kernel.
std::expected<UniqueFd, std::string> listen_session(const std::string& address,
                                                    std::uint16_t& port);

}  // namespace mos::common
