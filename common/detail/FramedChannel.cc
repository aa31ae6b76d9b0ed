#include "common/FramedChannel.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

std::expected<void, std::string> FramedChannel::send_parts(
    MsgType type, std::initializer_list<std::string_view> parts) {
  std::size_t total = 0;
  for (auto p : parts) {
    total += p.size();
  }
  if (total > kMaxFramePayload) {
    return std::unexpected(fmt::format("payload of {} bytes is larger than a frame", total));
  }
  std::uint8_t header[kFrameHeaderSize];
  encode_frame_header(FrameHeader{kWireVersion, to_wire(type), static_cast<std::uint32_t>(total)},
                      header);
  std::vector<iovec> iov;
  iov.push_back({header, sizeof header});
  for (auto p : parts) {
    if (!p.empty()) {
      iov.push_back({const_cast<char*>(p.data()), p.size()});
    }
  }
  std::size_t first = 0;
  while (first < iov.size()) {
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = iov.size() - first;
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(fmt::format("send: {}", std::strerror(errno)));
    }
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

std::expected<Frame, std::string> FramedChannel::receive_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Frame f;
  for (;;) {
    if (reader_.next(f) == FrameStatus::kOk) {
      return f;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::unexpected(std::string("timed out"));
    }
    pollfd p{fd_.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) {
      return std::unexpected(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (r > 0) {
      // Readable: one receive() reads what is there (and blocks only for
      // the rest of a frame already started).
      return receive();
    }
  }
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
