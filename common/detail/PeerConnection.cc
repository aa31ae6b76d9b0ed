#include "common/PeerConnection.h"

#include <fmt/format.h>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/Tuning.h"

namespace mos::common {

PeerConnection::PeerConnection(tcp::socket sock, FrameReader reader, std::string peer)
    : sock_(std::move(sock)),
      reader_(std::move(reader)),
      peer_(std::move(peer)),
      wake_writer_(sock_.get_executor()),
      closed_signal_(sock_.get_executor()),
      last_rx_(std::chrono::steady_clock::now()) {
  wake_writer_.expires_at(asio::steady_timer::time_point::max());
  closed_signal_.expires_at(asio::steady_timer::time_point::max());
}

PeerConnection::~PeerConnection() = default;

void PeerConnection::start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  auto self = shared_from_this();
  asio::co_spawn(
      sock_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      sock_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

std::string PeerConnection::remote_endpoint() const {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  if (ec) {
    return "?";
  }
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

bool PeerConnection::send(MsgType type, const google::protobuf::MessageLite& msg) {
  return send_raw(make_frame(type, msg));
}

bool PeerConnection::send_raw(std::vector<std::uint8_t> frame) {
  if (closed_) {
    return false;
  }
  if (queued_bytes_ + frame.size() > tuning::kMaxSendQueueBytes) {
    close(fmt::format("send queue over {} bytes: peer not reading", tuning::kMaxSendQueueBytes));
    return false;
  }
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  wake_writer_.cancel();
  return true;
}

void PeerConnection::close(const std::string& reason) {
  if (closed_) {
    return;
  }
  closed_ = true;
  boost::system::error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  wake_writer_.cancel();
  closed_signal_.cancel();
  // The queue stays until we are destroyed: a write in flight still
  // references its buffers until its completion runs.
  // Move the callbacks out: they may capture owners that release us.
  auto on_close = std::move(on_close_);
  on_frame_ = nullptr;
  if (on_close) {
    on_close(reason);
  }
}

asio::awaitable<void> PeerConnection::wait_closed() {
  auto self = shared_from_this();
  while (!closed_) {
    boost::system::error_code ec;
    co_await closed_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> PeerConnection::read_loop() {
  auto self = shared_from_this();
  try {
    while (!closed_) {
      Frame f = co_await read_frame(sock_, reader_);
      last_rx_ = std::chrono::steady_clock::now();
      if (on_frame_) {
        on_frame_(f);
      }
    }
  } catch (const FrameError& e) {
    close(fmt::format("malformed frame from {}: {}", peer_, e.what()));
  } catch (const boost::system::system_error& e) {
    close(e.code() == asio::error::eof ? std::string("peer closed the connection")
                                       : fmt::format("read error: {}", e.code().message()));
  } catch (const std::exception& e) {
    close(fmt::format("error handling a frame from {}: {}", peer_, e.what()));
  }
}

asio::awaitable<void> PeerConnection::write_loop() {
  auto self = shared_from_this();
  try {
    while (!closed_) {
      if (queue_.empty()) {
        boost::system::error_code ec;
        wake_writer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Gather everything queued into one write: fewer syscalls under load.
      std::vector<asio::const_buffer> bufs;
      std::size_t n = std::min<std::size_t>(queue_.size(), 64);
      for (std::size_t i = 0; i < n; ++i) {
        bufs.emplace_back(asio::buffer(queue_[i]));
      }
      co_await asio::async_write(sock_, bufs, asio::use_awaitable);
      for (std::size_t i = 0; i < n && !queue_.empty(); ++i) {
        queued_bytes_ -= queue_.front().size();
        queue_.pop_front();
      }
    }
  } catch (const boost::system::system_error& e) {
    close(fmt::format("write error: {}", e.code().message()));
  }
}

}  // namespace mos::common
