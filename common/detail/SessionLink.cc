#include "common/SessionLink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/Auth.h"
#include "common/FrameIo.h"
#include "common/MsgType.h"

namespace mos::common {
namespace {

using Clock = std::chrono::steady_clock;

// address:port as a sockaddr (IPv4 or IPv6 literal).
bool make_addr(const std::string& address, std::uint16_t port, sockaddr_storage& ss,
               socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
    return true;
  }
  if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
    return true;
  }
  return false;
}

int ms_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

std::string session_mac(const std::string& token, const std::string& nonce, std::int32_t pid,
                        bool first) {
  const std::string pid_text = std::to_string(pid);
  return hmac_fields(token, {"mos-session", nonce, pid_text, first ? "first" : "child"});
}

void tune_session_socket(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  const int idle = tuning::kSessionKeepIdleS;
  const int intvl = tuning::kSessionKeepIntervalS;
  const int cnt = tuning::kSessionKeepCount;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  const unsigned uto = tuning::kSessionUserTimeoutMs;
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto);
  // Room for a whole forwarded buffer (up to 4 MiB) in flight.
  const int size = 8 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
}

std::expected<UniqueFd, int> session_socket(const std::string& address) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_addr(address, 0, ss, len)) {
    return std::unexpected(EINVAL);
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return std::unexpected(errno);
  }
  tune_session_socket(fd.get());
  return fd;
}

std::expected<void, std::string> connect_session(int fd, const std::string& address,
                                                 std::uint16_t port,
                                                 std::chrono::milliseconds timeout) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_addr(address, port, ss, len)) {
    return std::unexpected(fmt::format("'{}' is not an IP address", address));
  }
  // Non-blocking for the connect alone, so its wait is bounded.
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string failure;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      failure = fmt::format("connect {}:{}: {}", address, port, std::strerror(errno));
    } else {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t el = sizeof err;
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        failure = fmt::format("connect {}:{}: timed out", address, port);
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err != 0) {
        failure = fmt::format("connect {}:{}: {}", address, port, std::strerror(err));
      }
    }
  }
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  if (!failure.empty()) {
    return std::unexpected(failure);
  }
  return {};
}

std::expected<UniqueFd, std::string> dial_session(const std::string& address, std::uint16_t port,
                                                  std::chrono::milliseconds timeout) {
  auto fd = session_socket(address);
  if (!fd) {
    return std::unexpected(fd.error() == EINVAL
                               ? fmt::format("'{}' is not an IP address", address)
                               : fmt::format("socket: {}", std::strerror(fd.error())));
  }
  if (auto r = connect_session(fd->get(), address, port, timeout); !r) {
    return std::unexpected(r.error());
  }
  return std::move(*fd);
}

std::expected<void, std::string> prove_session(FramedChannel& link, const std::string& token,
                                               std::int32_t pid, bool first) {
  auto f = link.receive_for(tuning::kSessionHandshake);
  if (!f) {
    return std::unexpected("session challenge: " + f.error());
  }
  wire::SessionChallenge ch;
  if (f->type != to_wire(MsgType::kSessionChallenge) || !parse_payload(*f, ch) ||
      ch.nonce().size() != kNonceBytes) {
    return std::unexpected(std::string("session challenge: not a challenge"));
  }
  wire::SessionHello hello;
  hello.set_pid(pid);
  hello.set_first(first);
  hello.set_mac(session_mac(token, ch.nonce(), pid, first));
  return link.send(MsgType::kSessionHello, hello);
}

std::expected<AcceptedDeputy, std::string> accept_deputy(int listener, const std::string& token,
                                                         std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no deputy connected";
  while (ms_left(deadline) > 0) {
    pollfd p{listener, POLLIN, 0};
    const int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) {
      last = fmt::format("accept: {}", std::strerror(errno));
      continue;
    }
    tune_session_socket(fd.get());
    auto link = std::make_unique<FramedChannel>(std::move(fd));
    wire::SessionChallenge ch;
    const std::string nonce = random_bytes(kNonceBytes);
    ch.set_nonce(nonce);
    if (!link->send(MsgType::kSessionChallenge, ch)) {
      continue;
    }
    const auto wait = std::min<std::chrono::milliseconds>(
        tuning::kSessionHandshake, std::chrono::milliseconds(std::max(ms_left(deadline), 1)));
    auto f = link->receive_for(wait);
    wire::SessionHello hello;
    if (!f || f->type != to_wire(MsgType::kSessionHello) || !parse_payload(*f, hello)) {
      last = "a connection sent no session hello";
      continue;
    }
    if (!mac_equal(hello.mac(), session_mac(token, nonce, hello.pid(), hello.first()))) {
      last = "a connection failed the session proof";
      continue;
    }
    return AcceptedDeputy{std::move(link), std::move(hello)};
  }
  return std::unexpected(last);
}

std::expected<UniqueFd, std::string> listen_session(const std::string& address,
                                                    std::uint16_t& port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_addr(address, 0, ss, len)) {
    return std::unexpected(fmt::format("'{}' is not an IP address", address));
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return std::unexpected(fmt::format("socket: {}", std::strerror(errno)));
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return std::unexpected(fmt::format("bind {}: {}", address, std::strerror(errno)));
  }
  if (::listen(fd.get(), 64) != 0) {
    return std::unexpected(fmt::format("listen: {}", std::strerror(errno)));
  }
  sockaddr_storage got;
  socklen_t gl = sizeof got;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&got), &gl);
  port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  return fd;
}

}  // namespace mos::common
