#include "common/ControlClient.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/FrameIo.h"
#include "common/control.pb.h"

namespace mos::common {

using Clock = std::chrono::steady_clock;

std::string default_control_socket() {
  const char* env = std::getenv("MOSIX_SOCKET");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultControlSocket);
}

std::string programs_dir() {
  const std::string sock = default_control_socket();
  const auto slash = sock.rfind('/');
  return (slash == std::string::npos ? std::string(".") : sock.substr(0, slash)) + "/programs";
}

std::expected<ControlClient, ControlError> ControlClient::connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return std::unexpected(ControlError{ControlError::Kind::kNoDaemon, ENAMETOOLONG,
                                        fmt::format("socket path too long: {}", path)});
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return std::unexpected(
        ControlError{ControlError::Kind::kNoDaemon, errno, std::strerror(errno)});
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    return std::unexpected(
        ControlError{ControlError::Kind::kNoDaemon, e,
                     fmt::format("no mosixd running on this node (cannot connect to {}: {})", path,
                                 std::strerror(e))});
  }
  return ControlClient(std::move(fd), path);
}

std::expected<void, ControlError> ControlClient::call(MsgType type,
                                                      const google::protobuf::MessageLite& request,
                                                      MsgType reply_type,
                                                      google::protobuf::MessageLite& reply,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto lost = [&](const std::string& why) {
    return std::unexpected(ControlError{ControlError::Kind::kLost, 0,
                                        fmt::format("lost the daemon mid-request: {}", why)});
  };
  auto wait = [&](short events) -> bool {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{fd_.get(), events, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) {
        return true;
      }
      if (r < 0 && errno != EINTR) {
        return false;
      }
    }
  };

  std::vector<std::uint8_t> out = make_frame(type, request);
  std::size_t sent = 0;
  while (sent < out.size()) {
    if (!wait(POLLOUT)) {
      return lost("timed out sending");
    }
    ssize_t n = ::send(fd_.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return lost(std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }

  Frame f;
  for (;;) {
    FrameStatus st = reader_.next(f);
    if (st == FrameStatus::kOk) {
      break;
    }
    if (st != FrameStatus::kNeedMore) {
      return std::unexpected(ControlError{ControlError::Kind::kProtocol, 0,
                                          fmt::format("bad reply: {}", frame_status_name(st))});
    }
    if (!wait(POLLIN)) {
      return lost("no reply in time");
    }
    std::uint8_t buf[64 * 1024];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) {
      return lost("connection closed");
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return lost(std::strerror(errno));
    }
    reader_.feed({buf, static_cast<std::size_t>(n)});
  }
  if (f.type == to_wire(MsgType::kErrorReply)) {
    wire::ErrorReply e;
    if (!parse_payload(f, e)) {
      return std::unexpected(
          ControlError{ControlError::Kind::kProtocol, 0, "malformed error reply"});
    }
    return std::unexpected(ControlError{ControlError::Kind::kRefused, e.errno_code(), e.message()});
  }
  if (f.type != to_wire(reply_type) || !reply.ParseFromString(f.payload)) {
    return std::unexpected(ControlError{ControlError::Kind::kProtocol, 0,
                                        fmt::format("unexpected reply (type {})", f.type)});
  }
  return {};
}

}  // namespace mos::common
