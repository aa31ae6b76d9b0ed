#pragma once
// The daemon's local control socket: a Unix stream socket (mode 0666) on
// which local tools send framed protobuf requests. Every request carries the
// caller's credentials (SO_PEERCRED), so handlers decide who may act on what:
// root and the owning user only.
//
// A client that sends garbage, an oversized frame or nothing at all is
// disconnected; the daemon keeps serving everyone else. A client that dies
// mid-request only ends its own connection.

#include <sys/socket.h>

#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/message_lite.h>

#include "common/Asio.h"
#include "common/Frame.h"
#include "common/MsgType.h"

namespace mos::common {

class ControlConnection {
 public:
  using socket_type = asio::local::stream_protocol::socket;
  explicit ControlConnection(socket_type sock);

  const ucred& peer() const { return cred_; }
  bool peer_is_root() const { return cred_.uid == 0; }
  asio::awaitable<void> reply(MsgType type, const google::protobuf::MessageLite& msg);
  // Sends an ErrorReply with an errno value and a one-line message.
  asio::awaitable<void> reply_error(int errno_code, const std::string& message);
  // Reads the next request (for handlers that hold a conversation).
  asio::awaitable<Frame> read();
  socket_type& socket() { return sock_; }

 private:
  socket_type sock_;
  FrameReader reader_;
  ucred cred_{};
};

class ControlServer {
 public:
  using Handler = std::function<asio::awaitable<void>(ControlConnection&, const Frame&)>;

  ControlServer(asio::io_context& io, std::filesystem::path path);
  ~ControlServer();

  // Refuses to start when another daemon answers on the path; removes a
  // stale socket file left by a crashed one.
  std::expected<void, std::string> start();
  void stop();
  void on_request(MsgType type, Handler h);

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket sock);

  asio::io_context& io_;
  std::filesystem::path path_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::map<std::uint16_t, Handler> handlers_;
  bool running_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace mos::common
