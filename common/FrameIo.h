#pragma once
// Reading and writing whole frames on an Asio stream from a coroutine.
// Socket errors are thrown as boost::system::system_error (the Asio default
// with use_awaitable); a malformed stream is a FrameError.

#include <stdexcept>
#include <string>

#include <google/protobuf/message_lite.h>

#include "common/Asio.h"
#include "common/Frame.h"
#include "common/MsgType.h"

namespace mos::common {

// The peer sent bytes that are not a valid frame; the stream must be closed.
class FrameError : public std::runtime_error {
 public:
  explicit FrameError(FrameStatus s)
      : std::runtime_error(std::string(frame_status_name(s))), status(s) {}
  FrameStatus status;
};

// Reads until `reader` yields one whole frame. Throws FrameError on a
// malformed stream and system_error (eof included) when the peer goes away.
template <typename Stream>
asio::awaitable<Frame> read_frame(Stream& s, FrameReader& reader) {
  Frame f;
  for (;;) {
    FrameStatus st = reader.next(f);
    if (st == FrameStatus::kOk) {
      co_return f;
    }
    if (st != FrameStatus::kNeedMore) {
      throw FrameError(st);
    }
    std::uint8_t buf[64 * 1024];
    std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
    reader.feed({buf, n});
  }
}

// Serializes `msg` into a complete frame (header + payload).
std::vector<std::uint8_t> make_frame(MsgType type, const google::protobuf::MessageLite& msg);

template <typename Stream>
asio::awaitable<void> write_frame(Stream& s, MsgType type,
                                  const google::protobuf::MessageLite& msg) {
  auto bytes = make_frame(type, msg);
  co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
}

// Parses a frame's payload as `T`; false when it is not a valid T.
template <typename T>
bool parse_payload(const Frame& f, T& out) {
  return out.ParseFromString(f.payload);
}

}  // namespace mos::common
