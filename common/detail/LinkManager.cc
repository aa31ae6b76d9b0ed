#include "common/LinkManager.h"

#include <fmt/format.h>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/Tuning.h"
#include "common/Watchdog.h"
#include "common/link.pb.h"

namespace mos::common {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

std::uint64_t monotonic_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

void set_nodelay(tcp::socket& s) {
  boost::system::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  s.set_option(asio::socket_base::keep_alive(true), ec);
}

}  // namespace

LinkManager::LinkManager(asio::io_context& io, const Config& config, std::uint64_t boot_id)
    : io_(io),
      config_(config),
      boot_id_(boot_id),
      acceptor_(io),
      nonces_(tuning::kNonceCacheCapacity, tuning::kNonceHorizon),
      stop_signal_(io),
      alive_(std::make_shared<bool>(true)) {
  const auto now = Clock::now();
  for (const NodeEntry& n : config_.nodes) {
    Peer p;
    p.entry = n;
    p.since = now;
    if (n.name == config_.node_name) {
      p.state = wire::LINK_SELF;
    } else {
      p.we_connect = config_.node_name < n.name;
    }
    peers_.emplace(n.name, std::move(p));
  }
  on_message(MsgType::kPing, [this](const std::string& peer, const Frame& f) {
    wire::Ping ping;
    if (!parse_payload(f, ping)) {
      MOS_LOG_WARN("malformed ping from {}", peer);
      return;
    }
    wire::Pong pong;
    pong.set_seq(ping.seq());
    pong.set_sent_ns(ping.sent_ns());
    send(peer, MsgType::kPong, pong);
  });
  on_message(MsgType::kPong, [this](const std::string& peer, const Frame& f) {
    wire::Pong pong;
    auto it = peers_.find(peer);
    if (!parse_payload(f, pong) || it == peers_.end()) {
      return;
    }
    const std::uint64_t now = monotonic_ns();
    if (pong.sent_ns() == 0 || pong.sent_ns() > now) {
      return;  // not one of ours
    }
    const double sample = static_cast<double>(now - pong.sent_ns()) / 1000.0;
    Peer& p = it->second;
    p.rtt_us = p.rtt_us == 0 ? sample : p.rtt_us + tuning::kRttAlpha * (sample - p.rtt_us);
  });
}

LinkManager::~LinkManager() {
  *alive_ = false;
}

HandshakeParams LinkManager::handshake_params() const {
  HandshakeParams hp;
  hp.cluster = config_.cluster_name;
  hp.self_node = config_.node_name;
  hp.secret = config_.secret;
  hp.boot_id = boot_id_;
  hp.known_node = [this](std::string_view n) { return peers_.contains(std::string(n)); };
  hp.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(tuning::kHandshakeTimeout);
  return hp;
}

std::expected<void, std::string> LinkManager::start() {
  const NodeEntry& self = config_.self();
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(self.address, ec);
  if (ec) {
    return std::unexpected(fmt::format("bad address {}: {}", self.address, ec.message()));
  }
  tcp::endpoint ep(addr, self.peer_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(ep, ec);
  }
  if (!ec) {
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return std::unexpected(
        fmt::format("cannot listen on {}:{}: {}", self.address, self.peer_port, ec.message()));
  }
  bound_port_ = acceptor_.local_endpoint().port();
  running_ = true;
  stop_signal_.expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(io_, accept_loop(), asio::detached);
  asio::co_spawn(io_, upkeep_loop(), asio::detached);
  for (auto& [name, p] : peers_) {
    if (p.we_connect) {
      asio::co_spawn(io_, connect_loop(name), asio::detached);
    }
  }
  MOS_LOG_INFO("peer links: listening on {}:{}, {} peers", self.address, bound_port_,
               peers_.size() - 1);
  return {};
}

void LinkManager::stop() {
  if (!running_) {
    return;
  }
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  stop_signal_.cancel();
  for (auto& [name, p] : peers_) {
    if (p.conn) {
      p.conn->close("daemon shutting down");
    }
  }
}

void LinkManager::on_message(MsgType type, Handler h) {
  handlers_[to_wire(type)] = std::move(h);
}

bool LinkManager::send(const std::string& peer, MsgType type,
                       const google::protobuf::MessageLite& msg) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.conn || it->second.state != wire::LINK_UP) {
    return false;
  }
  return it->second.conn->send(type, msg);
}

bool LinkManager::is_up(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.state == wire::LINK_UP;
}

std::vector<wire::NodeStatus> LinkManager::status() const {
  std::vector<wire::NodeStatus> out;
  const auto now = Clock::now();
  // Configuration order, so every node prints the cluster the same way.
  for (const NodeEntry& n : config_.nodes) {
    const Peer& p = peers_.at(n.name);
    wire::NodeStatus s;
    s.set_name(n.name);
    s.set_address(n.address);
    s.set_port(n.peer_port);
    s.set_state(p.state);
    s.set_rtt_us(p.state == wire::LINK_UP ? p.rtt_us : 0);
    s.set_since_s(std::chrono::duration<double>(now - p.since).count());
    s.set_reconnects(p.reconnects);
    s.set_last_error(p.last_error);
    out.push_back(std::move(s));
  }
  return out;
}

void LinkManager::set_state(Peer& p, wire::LinkState s) {
  if (p.state == s) {
    return;
  }
  const bool was_up = p.state == wire::LINK_UP;
  p.state = s;
  p.since = Clock::now();
  if (was_up != (s == wire::LINK_UP)) {
    for (auto& o : observers_) {
      o(p.entry.name, s == wire::LINK_UP);
    }
  }
}

void LinkManager::attach(Peer& p, std::shared_ptr<PeerConnection> conn) {
  if (p.conn && !p.conn->closed()) {
    MOS_LOG_INFO("link to {}: replaced by a new connection (peer restarted?)", p.entry.name);
    auto old = std::move(p.conn);
    old->close("replaced by a new connection");
  }
  p.conn = conn;
  p.rtt_us = 0;
  p.reconnects++;
  p.last_error.clear();
  set_state(p, wire::LINK_UP);
  MOS_LOG_INFO("link to {} up ({})", p.entry.name, conn->remote_endpoint());
  const std::string name = p.entry.name;
  std::weak_ptr<PeerConnection> weak = conn;
  conn->start([this, name](const Frame& f) { dispatch(name, f); },
              [this, name, weak, alive = alive_](const std::string& reason) {
                if (!*alive) {
                  return;
                }
                auto it = peers_.find(name);
                if (it == peers_.end()) {
                  return;
                }
                Peer& peer = it->second;
                // Only the current connection's death changes the status.
                if (peer.conn == weak.lock()) {
                  peer.conn.reset();
                  peer.last_error = reason;
                  set_state(peer,
                            peer.we_connect && running_ ? wire::LINK_CONNECTING : wire::LINK_DOWN);
                  MOS_LOG_WARN("link to {} down: {}", name, reason);
                }
              });
  // A first ping at once, so the round trip is known within one RTT.
  wire::Ping ping;
  ping.set_seq(++p.ping_seq);
  ping.set_sent_ns(monotonic_ns());
  conn->send(MsgType::kPing, ping);
}

void LinkManager::dispatch(const std::string& peer, const Frame& f) {
  auto it = handlers_.find(f.type);
  if (it == handlers_.end()) {
    // A newer peer may speak types we do not know: log, never fail the link.
    MOS_LOG_DEBUG("link to {}: ignoring message type {} ({} bytes)", peer, f.type,
                  f.payload.size());
    return;
  }
  it->second(peer, f);
}

asio::awaitable<void> LinkManager::accept_loop() {
  auto alive = alive_;
  while (running_) {
    boost::system::error_code ec;
    tcp::socket sock =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || !running_) {
      co_return;
    }
    if (ec) {
      MOS_LOG_WARN("accept failed: {}", ec.message());
      // e.g. EMFILE: back off a little instead of spinning.
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    asio::co_spawn(io_, serve_incoming(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> LinkManager::serve_incoming(tcp::socket sock) {
  auto alive = alive_;
  set_nodelay(sock);
  boost::system::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  std::string from = ec ? "?" : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  FrameReader reader;
  auto id = co_await handshake_accept(sock, reader, handshake_params(), nonces_);
  if (!*alive || !running_) {
    co_return;
  }
  if (!id) {
    MOS_LOG_WARN("refused connection from {}: {}", from, id.error());
    co_return;
  }
  auto it = peers_.find(id->node);
  if (it == peers_.end()) {
    co_return;  // handshake_accept checked known_node; cannot happen
  }
  attach(it->second,
         std::make_shared<PeerConnection>(std::move(sock), std::move(reader), id->node));
}

asio::awaitable<void> LinkManager::connect_loop(std::string name) {
  auto alive = alive_;
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(tuning::kReconnectMin);
  while (*alive && running_) {
    Peer& p = peers_.at(name);
    if (p.conn) {
      auto conn = p.conn;
      co_await conn->wait_closed();
      if (!*alive || !running_) {
        co_return;
      }
      backoff = std::chrono::duration_cast<std::chrono::milliseconds>(tuning::kReconnectMin);
    }
    set_state(peers_.at(name), wire::LINK_CONNECTING);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(p.entry.address, ec);
    tcp::socket sock(io_);
    std::string error;
    if (!ec) {
      // Bound the connect by the handshake deadline: a SYN to a dead
      // namespace may otherwise wait for the kernel's long retry schedule.
      // From our own address, so the peer sees the node it configured (a
      // multi-homed host would otherwise pick a source by route).
      sock.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) {
        sock.bind(tcp::endpoint(asio::ip::make_address(config_.self().address, ec), 0), ec);
      }
      Watchdog deadline(sock, tuning::kHandshakeTimeout);
      if (!ec) {
        co_await sock.async_connect(tcp::endpoint(addr, p.entry.peer_port),
                                    asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (!*alive || !running_) {
      co_return;
    }
    if (ec) {
      error = fmt::format("connect to {}:{}: {}", p.entry.address, p.entry.peer_port, ec.message());
    } else {
      set_nodelay(sock);
      FrameReader reader;
      auto id = co_await handshake_connect(sock, reader, handshake_params(), name);
      if (!*alive || !running_) {
        co_return;
      }
      if (id) {
        attach(peers_.at(name),
               std::make_shared<PeerConnection>(std::move(sock), std::move(reader), name));
        continue;
      }
      error = id.error();
      MOS_LOG_WARN("link to {}: {}", name, error);
    }
    Peer& q = peers_.at(name);
    if (q.last_error != error) {
      MOS_LOG_DEBUG("link to {}: {}", name, error);
    }
    q.last_error = error;
    if (q.conn) {
      continue;  // the peer connected to us meanwhile
    }
    set_state(q, wire::LINK_DOWN);
    asio::steady_timer t(io_, backoff);
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(
        backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(tuning::kReconnectMax));
  }
}

asio::awaitable<void> LinkManager::upkeep_loop() {
  auto alive = alive_;
  asio::steady_timer t(io_);
  while (*alive && running_) {
    t.expires_after(tuning::kPingInterval);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || !running_) {
      co_return;
    }
    const auto now = Clock::now();
    for (auto& [name, p] : peers_) {
      if (!p.conn || p.state != wire::LINK_UP) {
        continue;
      }
      if (now - p.conn->last_receive() > tuning::kLinkSilence) {
        auto conn = p.conn;
        conn->close(fmt::format("peer silent for over {} s",
                                std::chrono::duration<double>(tuning::kLinkSilence).count()));
        continue;
      }
      wire::Ping ping;
      ping.set_seq(++p.ping_seq);
      ping.set_sent_ns(monotonic_ns());
      p.conn->send(MsgType::kPing, ping);
    }
  }
}

}  // namespace mos::common
