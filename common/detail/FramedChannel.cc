#include "common/FramedChannel.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/FrameIo.h"

namespace mos::common {

std::expected<void, std::string> FramedChannel::send(MsgType type,
                                                     const google::protobuf::MessageLite& msg) {
  if (msg.ByteSizeLong() > kMaxFramePayload) {
    return std::unexpected(
        fmt::format("message of {} bytes is larger than a frame", msg.ByteSizeLong()));
  }
  std::vector<std::uint8_t> bytes = make_frame(type, msg);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(fmt::format("send: {}", std::strerror(errno)));
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

std::expected<Frame, std::string> FramedChannel::receive() {
  Frame f;
  for (;;) {
    FrameStatus st = reader_.next(f);
    if (st == FrameStatus::kOk) {
      return f;
    }
    if (st != FrameStatus::kNeedMore) {
      return std::unexpected(fmt::format("malformed frame: {}", frame_status_name(st)));
    }
    // Large enough that a forwarded megabyte arrives in a few reads.
    static thread_local std::vector<std::uint8_t> buf(1 << 20);
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n == 0) {
      return std::unexpected(std::string(reader_.buffered() ? "closed mid-frame" : "closed"));
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(fmt::format("recv: {}", std::strerror(errno)));
    }
    reader_.feed({buf.data(), static_cast<std::size_t>(n)});
  }
}

}  // namespace mos::common
