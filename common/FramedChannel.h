#pragma once
// A blocking, framed message channel over a stream socket, for the
// single-threaded processes of a program (deputy and supervisor), which wait
// in poll() on several fds and read or write whole frames when one is ready.

#include <chrono>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "common/Frame.h"
#include "common/MsgType.h"
#include "common/UniqueFd.h"

namespace mos::common {

class FramedChannel {
 public:
  explicit FramedChannel(UniqueFd fd) : fd_(std::move(fd)) {}

  int fd() const { return fd_.get(); }
  // Writes one whole frame (retrying on EINTR and short writes). An error
  // string means the peer is gone or the socket failed.
  std::expected<void, std::string> send(MsgType type, const google::protobuf::MessageLite& msg);
  // Writes one frame whose payload is `parts` back to back, without
  // copying them (bulk data: a migration's pages).
  std::expected<void, std::string> send_parts(MsgType type,
                                              std::initializer_list<std::string_view> parts);
  // Blocks until one whole frame arrives. "closed" when the peer hung up
  // cleanly between frames.
  std::expected<Frame, std::string> receive();
  // The same, giving up with "timed out" after `timeout`.
  std::expected<Frame, std::string> receive_for(std::chrono::milliseconds timeout);
  // The same for a stream of large frames (a migration's pages): whole
  // frames are read from the socket straight into the frame returned,
  // without the reader's buffer in between; up to `timeout`.
  std::expected<Frame, std::string> receive_bulk(std::chrono::milliseconds timeout);
  // A frame already buffered, without blocking (kNeedMore: none).
  FrameStatus buffered(Frame& out) { return reader_.next(out); }
  // Whether bytes of a frame not yet taken are buffered here.
  bool has_buffered() const { return reader_.buffered() != 0; }

 private:
  UniqueFd fd_;
  FrameReader reader_;
};

}  // namespace mos::common
