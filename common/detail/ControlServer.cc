#include "common/ControlServer.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/Tuning.h"
#include "common/Watchdog.h"
#include "common/control.pb.h"

namespace mos::common {

using local = asio::local::stream_protocol;

ControlConnection::ControlConnection(socket_type sock)
    : sock_(std::move(sock)), reader_(tuning::kMaxControlFrame) {
  socklen_t len = sizeof cred_;
  if (getsockopt(sock_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred_, &len) != 0) {
    // Unknown caller: treat as the least privileged user.
    cred_.pid = 0;
    cred_.uid = static_cast<uid_t>(-1);
    cred_.gid = static_cast<gid_t>(-1);
  }
}

asio::awaitable<void> ControlConnection::reply(MsgType type,
                                               const google::protobuf::MessageLite& msg) {
  co_await write_frame(sock_, type, msg);
}

asio::awaitable<void> ControlConnection::reply_error(int errno_code, const std::string& message) {
  wire::ErrorReply e;
  e.set_errno_code(errno_code);
  e.set_message(message);
  co_await write_frame(sock_, MsgType::kErrorReply, e);
}

asio::awaitable<Frame> ControlConnection::read() {
  return read_frame(sock_, reader_);
}

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path path)
    : io_(io), path_(std::move(path)), acceptor_(io), alive_(std::make_shared<bool>(true)) {}

ControlServer::~ControlServer() {
  *alive_ = false;
  stop();
}

void ControlServer::on_request(MsgType type, Handler h) {
  handlers_[to_wire(type)] = std::move(h);
}

std::expected<void, std::string> ControlServer::start() {
  std::error_code fec;
  std::filesystem::create_directories(path_.parent_path(), fec);
  if (fec) {
    return std::unexpected(
        fmt::format("cannot create {}: {}", path_.parent_path().string(), fec.message()));
  }
  boost::system::error_code ec;
  if (std::filesystem::exists(path_, fec)) {
    local::socket probe(io_);
    probe.connect(local::endpoint(path_.string()), ec);
    if (!ec) {
      return std::unexpected(fmt::format("another mosixd is already serving {}", path_.string()));
    }
    std::filesystem::remove(path_, fec);  // stale socket of a crashed daemon
  }
  acceptor_.open(local(), ec);
  if (!ec) {
    acceptor_.bind(local::endpoint(path_.string()), ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return std::unexpected(fmt::format("cannot listen on {}: {}", path_.string(), ec.message()));
  }
  // Anyone may connect; every request is checked against SO_PEERCRED.
  ::chmod(path_.c_str(), 0666);
  running_ = true;
  asio::co_spawn(io_, accept_loop(), asio::detached);
  MOS_LOG_INFO("control socket {}", path_.string());
  return {};
}

void ControlServer::stop() {
  if (!running_) {
    return;
  }
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

asio::awaitable<void> ControlServer::accept_loop() {
  auto alive = alive_;
  while (running_) {
    boost::system::error_code ec;
    local::socket sock =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || !running_) {
      co_return;
    }
    if (ec) {
      MOS_LOG_WARN("control accept failed: {}", ec.message());
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(local::socket sock) {
  auto alive = alive_;
  ControlConnection conn(std::move(sock));
  // Idle clients are dropped, so a stuck tool cannot pin a connection forever.
  Watchdog idle(conn.socket(), tuning::kControlIdleTimeout);
  try {
    for (;;) {
      Frame f = co_await conn.read();
      idle.disarm();
      if (!*alive) {
        co_return;
      }
      auto it = handlers_.find(f.type);
      if (it == handlers_.end()) {
        co_await conn.reply_error(ENOSYS, fmt::format("unknown request type {}", f.type));
        continue;
      }
      co_await it->second(conn, f);
      idle.arm(tuning::kControlIdleTimeout);
    }
  } catch (const FrameError& e) {
    MOS_LOG_WARN("control client pid {}: malformed request: {}", conn.peer().pid, e.what());
  } catch (const boost::system::system_error&) {
    // The client went away (or idled out): nothing to do.
  } catch (const std::exception& e) {
    MOS_LOG_WARN("control client pid {}: {}", conn.peer().pid, e.what());
  }
}

}  // namespace mos::common
