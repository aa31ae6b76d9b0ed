// The daemon's placement loop (home/Placement.h).

#include "home/Placement.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <random>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/MsgType.h"
#include "home/ProgramControl.h"

namespace mos::home {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kAskTimeout = std::chrono::milliseconds(300);
// A move asked for and not seen within this long is asked again (the
// deputy may have refused it: the program still starting, say).
constexpr auto kAskedFor = std::chrono::seconds(10);
// Weight of a new CPU sample in the decayed figure.
constexpr double kCpuWeight = 0.5;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

PlacementLoop::PlacementLoop(const common::Config& config, Board board, policy::Params params)
    : config_(config), board_(std::move(board)), params_(params) {}

PlacementLoop::~PlacementLoop() {
  stop();
}

void PlacementLoop::start() {
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  MOS_LOG_INFO("placement: automatic migration every {} s", config_.policy.period_s);
}

void PlacementLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PlacementLoop::run() {
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(config_.policy.period_s));
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    round();
    lock.lock();
  }
}

policy::BodyProfile PlacementLoop::profile(const wire::ProgramStatus& s, Tracked& t,
                                           Clock::time_point now, const common::Config& config) {
  if (t.sampled != Clock::time_point{} && s.cpu_ms() >= t.cpu_ms) {
    const double dt = seconds(now - t.sampled);
    if (dt > 0) {
      const double used = static_cast<double>(s.cpu_ms() - t.cpu_ms) / 1000.0 / dt;
      t.cpu = (1 - kCpuWeight) * t.cpu + kCpuWeight * used;
    }
  } else if (t.sampled == Clock::time_point{}) {
    t.cpu = 1.0;  // unknown yet: taken as busy
    t.moved = now;
  }
  t.cpu_ms = s.cpu_ms();
  t.sampled = now;
  if (s.migrations() != t.migrations) {
    t.migrations = s.migrations();
    t.moved = now;
    t.asking = false;
  }
  policy::BodyProfile b;
  b.id = s.pid();
  b.home_node = config.node_name;
  b.home_cluster = config.cluster_name;
  b.cpu = t.cpu;
  b.rss = s.rss_bytes();
  b.syscall_rate = s.syscall_rate();
  b.age_s = static_cast<double>(s.cpu_ms()) / 1000.0;
  b.since_move_s = seconds(now - t.moved);
  b.moves = s.migrations();
  b.stay = s.stay();
  b.migrating = s.state() == "migrating" || (t.asking && now - t.asked < kAskedFor);
  return b;
}

void PlacementLoop::correct(std::vector<policy::NodeState>& nodes,
                            const std::vector<Recent>& recent, Clock::time_point now,
                            double period_s) {
  for (const auto& m : recent) {
    const double k = seconds(now - m.at) / std::max(period_s, 0.05);
    const double drop = m.demand * std::pow(7.0 / 8.0, k);  // not yet seen at the source
    const double rise = m.demand * std::pow(5.0 / 8.0, k);  // not yet seen at the target
    for (auto& n : nodes) {
      if (n.name == m.from) {
        n.load = std::max(0.0, n.load - drop);
      } else if (n.name == m.to) {
        n.load += rise;
      }
    }
  }
}

void PlacementLoop::round() {
  ++rounds_;
  auto nodes = board_();
  if (!nodes) {
    return;
  }
  const auto now = Clock::now();
  // (Forgotten once the boards show all but 1% of it.)
  const double period = config_.gossip.period_s;
  std::erase_if(recent_, [&](const Recent& m) {
    return seconds(now - m.at) > 35 * period;  // (7/8)^35 < 0.01
  });
  std::map<pid_t, Tracked> seen;
  // One move a round from this home: the next round sees it (corrected).
  bool moved = false;
  for (pid_t pid : listed_programs()) {
    auto f = ask_program(pid, common::MsgType::kProgramStatusRequest, wire::ProgramStatusRequest{},
                         kAskTimeout);
    wire::ProgramStatus s;
    if (!f || f->type != common::to_wire(common::MsgType::kProgramStatus) ||
        !common::parse_payload(*f, s)) {
      continue;  // gone, or not answering now
    }
    const auto known = tracked_.find(pid);
    Tracked t = known != tracked_.end() ? known->second : Tracked{};
    policy::BodyProfile b = profile(s, t, now, config_);
    seen[pid] = t;
    if (b.stay || b.migrating || moved) {
      continue;
    }
    // The snapshot as the node where the body runs would see it.
    policy::Snapshot snap;
    snap.self = s.where();
    snap.nodes = *nodes;
    correct(snap.nodes, recent_, now, period);
    const auto where =
        std::find_if(snap.nodes.begin(), snap.nodes.end(),
                     [&](const policy::NodeState& n) { return n.name == s.where(); });
    if (where == snap.nodes.end()) {
      continue;  // its node is not on our board (yet)
    }
    // What it adds to a node's load: how often its supervisor finds it
    // runnable (its CPU use is only its share of a crowded node), once
    // reported.
    if (s.runnable() > 0 || s.cpu_ms() > 0) {
      b.cpu = s.runnable();
    }
    // (The policy takes a round trip to home from the body's node: ours
    // to that node.)
    const double rtt_there = where->rtt_s;
    for (auto& n : snap.nodes) {
      if (n.name == config_.node_name) {
        n.rtt_s = rtt_there;
      }
    }
    for (const auto& p : config_.partners) {
      snap.partners.push_back({p.name, static_cast<std::uint32_t>(p.priority), p.may_come_in,
                               p.may_go_out, p.max_guests});
    }
    snap.bodies.push_back(b);
    snap.seed = (rounds_ << 20) ^ static_cast<std::uint64_t>(pid);
    const auto decisions = policy::decide(snap, params_);
    if (decisions.empty()) {
      continue;
    }
    const policy::Decision& d = decisions.front();
    wire::MigrateRequest req;
    req.set_node(d.target == config_.node_name ? "home" : d.target);
    req.set_wait(false);
    std::string loads;
    for (const auto& n : snap.nodes) {
      loads += fmt::format(" {} {:.2f}/{}x{:.2f}", n.name, n.load, n.cores, n.speed);
    }
    MOS_LOG_INFO("placement: {} on {} -> {} ({}, {:.2f} saved; demand {:.2f}; loads{})", pid,
                 s.where(), req.node(), policy::why_name(d.why), d.gain, policy::demand(b), loads);
    auto r = ask_program(pid, common::MsgType::kMigrateRequest, req, kAskTimeout);
    wire::MigrateReply reply;
    seen[pid].asking = true;
    seen[pid].asked = now;
    if (!r || r->type != common::to_wire(common::MsgType::kMigrateReply) ||
        !common::parse_payload(*r, reply) || !reply.error().empty()) {
      MOS_LOG_INFO("placement: {} did not start its move: {}", pid,
                   !r                      ? r.error().message
                   : reply.error().empty() ? "no answer"
                                           : reply.error());
      continue;
    }
    recent_.push_back({s.where(), d.target, policy::demand(b), now});
    moved = true;
  }
  tracked_ = std::move(seen);
}

}  // namespace mos::home
