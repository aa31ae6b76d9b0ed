#pragma once
// The node daemon's side of the bulletin board: runs the gossip Engine on a
// real clock, carries windows in authenticated UDP datagrams (or over the
// peer link when a window is too large for one), fills this node's own
// record from /proc and the cgroups, and serves the board on the control
// socket. Which windows may cross a cluster boundary follows the [[partner]]
// tables of the config (docs/gossip.md).
//
// Everything runs on the daemon's io_context thread. A forged, stale,
// replayed or malformed datagram is dropped and counted; nothing a datagram
// holds can stop the service.

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/Asio.h"
#include "common/Config.h"
#include "common/ControlServer.h"
#include "common/LinkManager.h"
#include "gossip/Engine.h"
#include "gossip/LoadAverager.h"
#include "gossip/NodeSampler.h"
#include "gossip/service.pb.h"

namespace mos::gossip {

// Largest datagram sent; a bigger window goes over the peer link. Below the
// 64 KiB UDP limit with room to spare, and small enough that IP fragments
// are few (losing one fragment loses the datagram).
inline constexpr std::size_t kMaxDatagramBytes = 8192;
// A datagram whose send time is further than this from our clock is stale.
// Nodes' clocks must agree to within this bound (NTP does far better).
inline constexpr std::chrono::seconds kMaxClockSkew{30};
// Datagram sequence numbers remembered per sender and boot, below the
// highest seen, to refuse replays while tolerating reordering.
inline constexpr std::uint64_t kReplayWindow = 64;

// Refuses replayed sequence numbers: a sliding bitmap below the highest seen.
class ReplayGuard {
 public:
  // True (and remembered) when `seq` was not seen before and is not older
  // than the window.
  bool accept(std::uint64_t seq);

 private:
  std::uint64_t highest_ = 0;
  std::uint64_t bits_ = 0;  // bit i: highest_ - i was seen
  bool any_ = false;
};

class GossipService {
 public:
  GossipService(asio::io_context& io, const common::Config& config, common::LinkManager& links,
                std::uint64_t boot_id);
  ~GossipService();

  // Binds the UDP port on this node's address and starts ticking.
  std::expected<void, std::string> start();
  void stop();
  // Serves BoardRequest on the daemon's control socket.
  void register_control(common::ControlServer& control);

  std::vector<NodeView> snapshot() { return engine_->snapshot(); }
  std::optional<NodeView> find(std::string_view node) { return engine_->find(node); }
  const GossipCounters& counters() const { return counters_; }
  const EngineStats& engine_stats() const { return engine_->stats(); }
  Duration down_after() const { return down_after_; }
  Duration period() const { return period_; }
  std::size_t window() const { return window_; }
  // What our record says of guests: whether we take new ones (mosctl block)
  // and how many run here. Unset: accepting, none.
  void set_guest_info(std::function<bool()> accepts, std::function<std::uint32_t()> count) {
    accepts_guests_ = std::move(accepts);
    guest_count_ = std::move(count);
  }
  void set_guest_classifier(std::function<bool(pid_t)> f) {
    sampler_.set_guest_classifier(std::move(f));
  }

  BoardReply board_reply();

 private:
  struct Peer {
    std::string name;
    std::string cluster;
    asio::ip::udp::endpoint endpoint;
    const common::PartnerCluster* partner = nullptr;  // null: our own cluster
  };

  LoadRecord own_record();
  void send_window(const std::string& peer, const Window& window);
  void receive_datagram(std::size_t n, const asio::ip::udp::endpoint& from);
  void accept_window(const Peer& from, GossipWindow proto, Duration transit);
  asio::awaitable<void> receive_loop();
  asio::awaitable<void> tick_loop();
  std::string datagram_mac(const GossipDatagram& d) const;

  asio::io_context& io_;
  const common::Config& config_;
  common::LinkManager& links_;
  std::uint64_t boot_id_;
  asio::ip::udp::socket socket_;
  std::map<std::string, Peer, std::less<>> peers_;
  std::map<std::string, std::map<std::uint64_t, ReplayGuard>, std::less<>> replay_;
  Duration period_;
  std::size_t window_;
  Duration down_after_;
  std::unique_ptr<Engine> engine_;
  NodeSampler sampler_;
  LoadAverager load_local_;
  LoadAverager load_guest_;
  std::function<bool()> accepts_guests_;
  std::function<std::uint32_t()> guest_count_;
  double speed_ = 1.0;
  std::mt19937_64 rng_;
  std::uint64_t datagram_seq_ = 0;
  GossipCounters counters_;
  std::vector<std::uint8_t> rx_buf_;
  bool running_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace mos::gossip
