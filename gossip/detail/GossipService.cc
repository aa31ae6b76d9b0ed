#include "gossip/GossipService.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/Auth.h"
#include "common/FrameIo.h"
#include "common/Log.h"
#include "gossip/AgeModel.h"

namespace mos::gossip {

using common::MsgType;
using udp = asio::ip::udp;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// The down bound when the config leaves it to us: a live node's entry must
// practically never reach it by chance (P < 1e-9 per entry and period in the
// age model), and never less than 3 periods.
Duration derive_down_after(std::size_t nodes, std::size_t window, Duration period) {
  std::size_t periods = 3;
  if (nodes >= 2) {
    AgeModel m = solve_age_model(nodes, window);
    periods = std::max<std::size_t>(periods, m.quantile(1e-9) + 2);
  }
  return period * static_cast<std::int64_t>(periods);
}

// Keeps the window's entries for which `keep` holds.
template <typename Pred>
void keep_entries(GossipWindow& w, Pred keep) {
  auto* entries = w.mutable_entries();
  entries->erase(
      std::remove_if(entries->begin(), entries->end(), [&](const Entry& e) { return !keep(e); }),
      entries->end());
}

}  // namespace

bool ReplayGuard::accept(std::uint64_t seq) {
  if (!any_) {
    any_ = true;
    highest_ = seq;
    bits_ = 1;
    return true;
  }
  if (seq > highest_) {
    const std::uint64_t shift = seq - highest_;
    bits_ = shift >= 64 ? 1 : (bits_ << shift) | 1;
    highest_ = seq;
    return true;
  }
  const std::uint64_t back = highest_ - seq;
  if (back >= kReplayWindow) {
    return false;  // too old to tell: refuse
  }
  const std::uint64_t bit = std::uint64_t{1} << back;
  if (bits_ & bit) {
    return false;
  }
  bits_ |= bit;
  return true;
}

GossipService::GossipService(asio::io_context& io, const common::Config& config,
                             common::LinkManager& links, std::uint64_t boot_id)
    : io_(io),
      config_(config),
      links_(links),
      boot_id_(boot_id),
      socket_(io),
      period_(seconds(config.gossip.period_s)),
      window_(config.gossip.window),
      alive_(std::make_shared<bool>(true)) {
  auto seeds = std::make_shared<std::vector<std::string>>();
  auto add_peer = [&](const common::NodeEntry& n, const std::string& cluster,
                      const common::PartnerCluster* partner) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(n.address, ec);
    if (ec) {
      return;  // load_config validated addresses; cannot happen
    }
    peers_[n.name] = Peer{n.name, cluster, udp::endpoint(addr, config_.gossip_port), partner};
    // Only nodes we may send windows to are worth drawing as peers.
    if (partner == nullptr || partner->may_come_in) {
      seeds->push_back(n.name);
    }
  };
  for (const auto& n : config_.nodes) {
    if (n.name != config_.node_name) {
      add_peer(n, config_.cluster_name, nullptr);
    }
  }
  for (const auto& p : config_.partners) {
    for (const auto& n : p.nodes) {
      add_peer(n, p.name, &p);
    }
  }
  down_after_ = config_.gossip.down_after_s > 0
                    ? seconds(config_.gossip.down_after_s)
                    : derive_down_after(config_.nodes.size(), window_, period_);

  std::string seed = common::random_bytes(8);
  std::uint64_t s = 0;
  std::memcpy(&s, seed.data(), sizeof s);
  rng_.seed(s);

  EngineConfig ec;
  ec.self = config_.node_name;
  ec.cluster = config_.cluster_name;
  ec.period = period_;
  ec.window = window_;
  ec.down_after = down_after_;
  ec.forget_after = std::max<Duration>(down_after_ * 10, std::chrono::minutes(10));
  ec.seeds = seeds;
  // Records of a restarted daemon must outrank its earlier ones.
  ec.first_sequence = static_cast<std::uint64_t>(unix_ms()) * 1000;
  const auto epoch = SteadyClock::now();
  engine_ = std::make_unique<Engine>(
      ec, [epoch] { return std::chrono::duration_cast<Duration>(SteadyClock::now() - epoch); },
      [this] { return rng_(); }, [this] { return own_record(); },
      [this](const std::string& peer, const Window& w) { send_window(peer, w); });

  const common::NodeEntry& self = config_.self();
  speed_ = self.speed > 0 ? self.speed : calibrate_speed();
  rx_buf_.resize(64 * 1024);

  links_.on_message(MsgType::kGossipWindow,
                    [this](const std::string& peer, const common::Frame& f) {
                      auto it = peers_.find(peer);
                      GossipWindow w;
                      if (it == peers_.end() || !common::parse_payload(f, w)) {
                        counters_.set_dropped_malformed(counters_.dropped_malformed() + 1);
                        return;
                      }
                      counters_.set_bytes_received(counters_.bytes_received() + f.payload.size());
                      // Over the link: time in flight unknown, and small.
                      accept_window(it->second, w, Duration::zero());
                    });
}

GossipService::~GossipService() {
  *alive_ = false;
  stop();
}

std::expected<void, std::string> GossipService::start() {
  const auto& self = config_.self();
  boost::system::error_code ec;
  udp::endpoint ep(asio::ip::make_address(self.address, ec), config_.gossip_port);
  if (!ec) {
    socket_.open(ep.protocol(), ec);
  }
  if (!ec) {
    socket_.set_option(udp::socket::reuse_address(true), ec);
  }
  if (!ec) {
    socket_.bind(ep, ec);
  }
  if (ec) {
    return std::unexpected(fmt::format("gossip: cannot bind UDP {}:{}: {}", self.address,
                                       config_.gossip_port, ec.message()));
  }
  running_ = true;
  asio::co_spawn(io_, receive_loop(), asio::detached);
  asio::co_spawn(io_, tick_loop(), asio::detached);
  MOS_LOG_INFO("gossip: UDP {}:{}, period {:.2f} s, window {}, down after {:.1f} s, speed {:.2f}",
               self.address, config_.gossip_port, std::chrono::duration<double>(period_).count(),
               window_, std::chrono::duration<double>(down_after_).count(), speed_);
  return {};
}

void GossipService::stop() {
  if (!running_) {
    return;
  }
  running_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

void GossipService::register_control(common::ControlServer& control) {
  control.on_request(
      MsgType::kBoardRequest,
      [this](common::ControlConnection& c, const common::Frame&) -> asio::awaitable<void> {
        BoardReply r = board_reply();
        co_await c.reply(MsgType::kBoardReply, r);
      });
}

BoardReply GossipService::board_reply() {
  BoardReply r;
  r.set_node(config_.node_name);
  r.set_cluster(config_.cluster_name);
  r.set_period_s(std::chrono::duration<double>(period_).count());
  r.set_window(static_cast<std::uint32_t>(window_));
  r.set_down_after_s(std::chrono::duration<double>(down_after_).count());
  for (const NodeView& v : engine_->snapshot()) {
    BoardEntry* e = r.add_entries();
    *e->mutable_record() = *v.record;
    e->set_age_s(std::chrono::duration<double>(v.age).count());
    e->set_down(v.down);
    e->set_self(v.node() == config_.node_name);
  }
  *r.mutable_counters() = counters_;
  r.mutable_counters()->set_windows_sent(engine_->stats().windows_sent);
  r.mutable_counters()->set_windows_received(engine_->stats().windows_received);
  return r;
}

LoadRecord GossipService::own_record() {
  const NodeSample s = sampler_.sample();
  LoadRecord r;
  const auto& self = config_.self();
  r.set_address(self.address.find(':') != std::string::npos
                    ? fmt::format("[{}]:{}", self.address, self.peer_port)
                    : fmt::format("{}:{}", self.address, self.peer_port));
  r.set_cluster(config_.cluster_name);
  r.set_cores(s.cores);
  r.set_speed(speed_);
  r.set_load_local(load_local_.update(s.runnable_local));
  r.set_load_guest(load_guest_.update(s.runnable_guest));
  r.set_mem_total_bytes(s.mem_total);
  r.set_mem_free_bytes(s.mem_free);
  r.set_guests(guest_count_ ? guest_count_() : 0);
  r.set_accepts_guests(accepts_guests_ ? accepts_guests_() : true);
  r.add_accepts_clusters(config_.cluster_name);
  for (const auto& p : config_.partners) {
    if (p.may_come_in) {
      r.add_accepts_clusters(p.name);
    }
  }
  return r;
}

std::string GossipService::datagram_mac(const GossipDatagram& d) const {
  return common::hmac_fields(
      config_.secret,
      {"mosix-gossip-v1", d.sender(), d.cluster(), be64(d.boot_id()), be64(d.sequence()),
       be64(static_cast<std::uint64_t>(d.sent_unix_ms())), d.window()});
}

void GossipService::send_window(const std::string& peer_name, const Window& window) {
  auto it = peers_.find(peer_name);
  if (it == peers_.end() || !running_) {
    return;
  }
  const Peer& peer = it->second;
  GossipWindow proto = to_proto(window);
  if (peer.partner != nullptr) {
    if (!peer.partner->may_come_in) {
      return;  // that cluster's guests may not come here: it needs no board of ours
    }
    // Across the boundary only our own cluster's nodes, never third parties.
    keep_entries(proto,
                 [this](const Entry& e) { return e.record().cluster() == config_.cluster_name; });
  }
  GossipDatagram d;
  d.set_sender(config_.node_name);
  d.set_cluster(config_.cluster_name);
  d.set_boot_id(boot_id_);
  d.set_sequence(++datagram_seq_);
  d.set_sent_unix_ms(unix_ms());
  d.set_window(proto.SerializeAsString());
  d.set_mac(datagram_mac(d));
  auto frame = common::make_frame(MsgType::kGossipDatagram, d);
  if (frame.size() > kMaxDatagramBytes) {
    // Too large for one datagram: the peer link carries it (own cluster only).
    counters_.set_link_fallbacks(counters_.link_fallbacks() + 1);
    if (peer.partner == nullptr && links_.send(peer.name, MsgType::kGossipWindow, proto)) {
      counters_.set_bytes_sent(counters_.bytes_sent() + proto.ByteSizeLong());
    } else {
      counters_.set_send_failures(counters_.send_failures() + 1);
    }
    return;
  }
  // Fire and forget: a lost datagram costs one window's information only.
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(frame), peer.endpoint, 0, ec);
  if (ec) {
    counters_.set_send_failures(counters_.send_failures() + 1);
    MOS_LOG_DEBUG("gossip: send to {}: {}", peer.name, ec.message());
    return;
  }
  counters_.set_datagrams_sent(counters_.datagrams_sent() + 1);
  counters_.set_bytes_sent(counters_.bytes_sent() + frame.size());
}

asio::awaitable<void> GossipService::tick_loop() {
  auto alive = alive_;
  asio::steady_timer timer(io_);
  auto next = SteadyClock::now();
  while (*alive && running_) {
    engine_->tick();
    // Fixed-rate schedule; after a stall, resume from now rather than burst.
    next += period_;
    if (next < SteadyClock::now()) {
      next = SteadyClock::now() + period_;
    }
    timer.expires_at(next);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> GossipService::receive_loop() {
  auto alive = alive_;
  while (*alive && running_) {
    udp::endpoint from;
    boost::system::error_code ec;
    std::size_t n = co_await socket_.async_receive_from(
        asio::buffer(rx_buf_), from, asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || !running_) {
      co_return;
    }
    if (ec) {
      MOS_LOG_DEBUG("gossip: receive: {}", ec.message());
      continue;
    }
    receive_datagram(n, from);
  }
}

void GossipService::receive_datagram(std::size_t n, const udp::endpoint& from) {
  counters_.set_datagrams_received(counters_.datagrams_received() + 1);
  counters_.set_bytes_received(counters_.bytes_received() + n);
  auto drop = [&](std::uint64_t (GossipCounters::*get)() const,
                  void (GossipCounters::*set)(std::uint64_t), const char* why) {
    (counters_.*set)((counters_.*get)() + 1);
    MOS_LOG_DEBUG("gossip: dropped datagram from {}: {}", from.address().to_string(), why);
  };
  common::FrameHeader h;
  std::span<const std::uint8_t> bytes(rx_buf_.data(), n);
  if (common::parse_frame_header(bytes, h) != common::FrameStatus::kOk ||
      h.type != common::to_wire(MsgType::kGossipDatagram) ||
      h.length != n - common::kFrameHeaderSize) {
    drop(&GossipCounters::dropped_malformed, &GossipCounters::set_dropped_malformed, "framing");
    return;
  }
  GossipDatagram d;
  if (!d.ParseFromArray(rx_buf_.data() + common::kFrameHeaderSize, static_cast<int>(h.length))) {
    drop(&GossipCounters::dropped_malformed, &GossipCounters::set_dropped_malformed, "payload");
    return;
  }
  auto it = peers_.find(d.sender());
  if (it == peers_.end() || it->second.cluster != d.cluster()) {
    drop(&GossipCounters::dropped_unknown, &GossipCounters::set_dropped_unknown, "unknown sender");
    return;
  }
  if (!common::mac_equal(datagram_mac(d), d.mac())) {
    drop(&GossipCounters::dropped_forged, &GossipCounters::set_dropped_forged, "bad MAC");
    return;
  }
  const std::int64_t skew = unix_ms() - d.sent_unix_ms();
  if (skew > std::chrono::milliseconds(kMaxClockSkew).count() ||
      -skew > std::chrono::milliseconds(kMaxClockSkew).count()) {
    drop(&GossipCounters::dropped_stale, &GossipCounters::set_dropped_stale, "stale");
    return;
  }
  auto& boots = replay_[d.sender()];
  if (!boots.contains(d.boot_id()) && boots.size() >= 4) {
    boots.erase(boots.begin());  // bound memory: a sender's old boots age out
  }
  if (!boots[d.boot_id()].accept(d.sequence())) {
    drop(&GossipCounters::dropped_replayed, &GossipCounters::set_dropped_replayed, "replayed");
    return;
  }
  GossipWindow w;
  if (!w.ParseFromString(d.window()) || w.sender() != d.sender()) {
    drop(&GossipCounters::dropped_malformed, &GossipCounters::set_dropped_malformed, "window");
    return;
  }
  // Ages in the window were measured when it was sent; add the time in
  // flight (by the two clocks, so at most one period: beyond that a clock
  // difference, not the network, would be speaking).
  const Duration transit = std::clamp<Duration>(
      std::chrono::milliseconds(std::max<std::int64_t>(skew, 0)), Duration::zero(), period_);
  accept_window(it->second, w, transit);
}

void GossipService::accept_window(const Peer& from, GossipWindow proto, Duration transit) {
  if (from.partner != nullptr) {
    if (!from.partner->may_go_out) {
      // Our bodies may not go there: its load is of no use to us.
      counters_.set_dropped_unknown(counters_.dropped_unknown() + 1);
      return;
    }
    // From a partner, only what it says about its own cluster's nodes.
    const auto& nodes = from.partner->nodes;
    keep_entries(proto, [&](const Entry& e) {
      return e.record().cluster() == from.cluster &&
             std::any_of(nodes.begin(), nodes.end(),
                         [&](const common::NodeEntry& n) { return n.name == e.record().node(); });
    });
  } else {
    // From our own cluster: our nodes, and partners' nodes we may send to.
    keep_entries(proto, [this](const Entry& e) {
      return e.record().cluster() == config_.cluster_name ||
             std::any_of(config_.partners.begin(), config_.partners.end(),
                         [&](const common::PartnerCluster& p) {
                           return p.name == e.record().cluster() && p.may_go_out;
                         });
    });
  }
  auto w = from_proto(proto);
  if (!w) {
    counters_.set_dropped_malformed(counters_.dropped_malformed() + 1);
    MOS_LOG_DEBUG("gossip: malformed window from {}: {}", from.name, w.error());
    return;
  }
  engine_->on_receive(*w, transit);
}

}  // namespace mos::gossip
