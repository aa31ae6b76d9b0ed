#pragma once
// One authenticated TCP link to a peer daemon, after the handshake.
//
// Owns its socket, a bounded send queue with at most one write in flight,
// and a reader that hands every frame to the owner's callback. All methods
// must be called on the io_context's thread (the daemon runs one); the
// object keeps itself alive while its coroutines run.
//
// When the peer dies or misbehaves (socket error, malformed or oversized
// frame, send queue overflow), the connection closes itself once and calls
// the close callback with a one-line reason; nothing else is affected.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "common/Asio.h"
#include "common/Frame.h"
#include "common/MsgType.h"

namespace mos::common {

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
 public:
  using tcp = asio::ip::tcp;
  using FrameHandler = std::function<void(const Frame&)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  // `reader` may already hold bytes that arrived behind the handshake.
  PeerConnection(tcp::socket sock, FrameReader reader, std::string peer);
  ~PeerConnection();

  void start(FrameHandler on_frame, CloseHandler on_close);
  // Queues one frame. Returns false (and closes the link) when the queue is
  // over its bound; false without effect when already closed.
  bool send(MsgType type, const google::protobuf::MessageLite& msg);
  bool send_raw(std::vector<std::uint8_t> frame);
  void close(const std::string& reason);
  // Completes when the connection has closed (for whoever waits on it).
  asio::awaitable<void> wait_closed();

  bool closed() const { return closed_; }
  const std::string& peer() const { return peer_; }
  std::chrono::steady_clock::time_point last_receive() const { return last_rx_; }
  std::string remote_endpoint() const;

 private:
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();

  tcp::socket sock_;
  FrameReader reader_;
  std::string peer_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::size_t queued_bytes_ = 0;
  asio::steady_timer wake_writer_;
  asio::steady_timer closed_signal_;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_rx_;
};

}  // namespace mos::common
