#pragma once
// The node daemon's mesh of peer links: one authenticated TCP link to every
// other configured node of the cluster.
//
// Of each pair of nodes, the one with the smaller name connects and keeps
// reconnecting with backoff; the other accepts. A peer that reconnects
// replaces its old link (it restarted). Every link is pinged; a link silent
// for longer than tuning::kLinkSilence is closed, so a peer that vanished
// without a FIN is noticed within seconds.
//
// All methods run on the io_context's thread. A peer's death only changes
// that peer's status; handlers are never called for a closed link.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "common/Asio.h"
#include "common/Auth.h"
#include "common/Config.h"
#include "common/Frame.h"
#include "common/Handshake.h"
#include "common/MsgType.h"
#include "common/PeerConnection.h"
#include "common/control.pb.h"

namespace mos::common {

class LinkManager {
 public:
  using Handler = std::function<void(const std::string& peer, const Frame&)>;
  // Called when a link to `peer` comes up (true) or goes down (false).
  using LinkObserver = std::function<void(const std::string& peer, bool up)>;

  LinkManager(asio::io_context& io, const Config& config, std::uint64_t boot_id);
  ~LinkManager();

  // Binds the peer port on this node's address and starts connecting.
  std::expected<void, std::string> start();
  // Closes every link and stops reconnecting.
  void stop();

  void on_message(MsgType type, Handler h);
  void on_link_change(LinkObserver o) { observers_.push_back(std::move(o)); }
  // False when there is no link up to `peer` (the message is dropped).
  bool send(const std::string& peer, MsgType type, const google::protobuf::MessageLite& msg);
  bool is_up(const std::string& peer) const;
  std::vector<wire::NodeStatus> status() const;
  std::uint16_t bound_port() const { return bound_port_; }

 private:
  struct Peer {
    NodeEntry entry;
    bool we_connect = false;
    wire::LinkState state = wire::LINK_DOWN;
    std::shared_ptr<PeerConnection> conn;
    double rtt_us = 0;
    std::chrono::steady_clock::time_point since;
    std::uint32_t reconnects = 0;
    std::string last_error;
    std::uint64_t ping_seq = 0;
  };

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve_incoming(asio::ip::tcp::socket sock);
  asio::awaitable<void> connect_loop(std::string name);
  asio::awaitable<void> upkeep_loop();
  void attach(Peer& p, std::shared_ptr<PeerConnection> conn);
  void set_state(Peer& p, wire::LinkState s);
  void dispatch(const std::string& peer, const Frame& f);
  HandshakeParams handshake_params() const;

  asio::io_context& io_;
  const Config& config_;
  std::uint64_t boot_id_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t bound_port_ = 0;
  std::map<std::string, Peer> peers_;
  std::map<std::uint16_t, Handler> handlers_;
  std::vector<LinkObserver> observers_;
  NonceCache nonces_;
  asio::steady_timer stop_signal_;
  bool running_ = false;
  // Shared with coroutines so they can tell the manager is gone.
  std::shared_ptr<bool> alive_;
};

}  // namespace mos::common
