#include "common/FramedChannel.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
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

namespace {
// Reads exactly `len` bytes (or fails: peer gone, timeout): waits for the
// first byte up to `deadline`, then lets the kernel fill the whole buffer
// in one call (MSG_WAITALL; a peer that stalls mid-frame is ended by the
// session's keepalive and user timeout).
std::expected<void, std::string> read_exact(int fd, char* p, std::size_t len,
                                            std::chrono::steady_clock::time_point deadline) {
  while (len > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pf{fd, POLLIN, 0};
    const int r = ::poll(&pf, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (r == 0) {
      return std::unexpected(std::string("timed out"));
    }
    if (r < 0 && errno != EINTR) {
      return std::unexpected(fmt::format("poll: {}", std::strerror(errno)));
    }
    const ssize_t n = ::recv(fd, p, len, MSG_WAITALL);
    if (n > 0) {
      p += n;
      len -= static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) {
      return std::unexpected(std::string("closed mid-frame"));
    }
    if (errno != EINTR && errno != EAGAIN) {
      return std::unexpected(fmt::format("recv: {}", std::strerror(errno)));
    }
  }
  return {};
}
}  // namespace

std::expected<Frame, std::string> FramedChannel::receive_bulk(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Frame f;
  if (reader_.next(f) == FrameStatus::kOk) {
    return f;
  }
  // A frame begun in the buffer: exactly its rest goes through the reader,
  // so that the next one starts on a clean boundary.
  while (const std::size_t need = reader_.missing()) {
    std::string rest(need, '\0');
    if (auto r = read_exact(fd_.get(), rest.data(), need, deadline); !r) {
      return std::unexpected(r.error());
    }
    reader_.feed(std::span(reinterpret_cast<const std::uint8_t*>(rest.data()), need));
    if (reader_.next(f) == FrameStatus::kOk) {
      return f;
    }
  }
  if (reader_.buffered() != 0) {
    return std::unexpected(std::string("malformed frame"));
  }
  std::uint8_t head[kFrameHeaderSize];
  if (auto r = read_exact(fd_.get(), reinterpret_cast<char*>(head), sizeof head, deadline); !r) {
    return std::unexpected(r.error() == "closed mid-frame" ? std::string("closed") : r.error());
  }
  FrameHeader h;
  if (const FrameStatus st = parse_frame_header(std::span(head, sizeof head), h);
      st != FrameStatus::kOk) {
    return std::unexpected(fmt::format("malformed frame: {}", frame_status_name(st)));
  }
  f.type = h.type;
  std::expected<void, std::string> got;
  // (Not the callback's size argument: g++ 12's library passes the new
  // capacity there, 30 for a payload of 16 to 29 bytes.)
  const std::size_t len = h.length;
  f.payload.resize_and_overwrite(len, [&](char* p, std::size_t) {
    got = read_exact(fd_.get(), p, len, deadline);
    return got ? len : 0;
  });
  if (!got) {
    return std::unexpected(got.error());
  }
  return f;
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
