// The daemon's placement loop (home/Placement.h).

#include "home/Placement.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/MsgType.h"
#include "common/Text.h"
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
// Moves started by one round from this home. Each one is in the loads the
// next decision of the round sees (Ours), so several do not make a herd;
// more than a few a round would keep the deputies' daemon busy.
constexpr int kMovesPerRound = 4;
// A body's memory is counted as moved (the source's free memory up, the
// target's down) until its move is done and this many gossip periods more
// have passed: the boards' free memory is a fresh sample, not smoothed.
constexpr double kMemoryShownAfterPeriods = 3.0;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

PlacementLoop::PlacementLoop(const common::Config& config, std::function<bool()> lstay, Board board,
                             policy::Params params)
    : config_(config), lstay_(std::move(lstay)), board_(std::move(board)), params_(params) {}

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
  b.may_leave_cluster = s.may_leave_cluster();
  b.migrating = s.state() == "migrating" || (t.asking && now - t.asked < kAskedFor);
  return b;
}

std::vector<policy::Partner> PlacementLoop::partners(const common::Config& config) {
  std::vector<policy::Partner> out;
  for (const auto& p : config.partners) {
    out.push_back({p.name, static_cast<std::uint32_t>(p.priority), p.may_come_in, p.may_go_out,
                   p.max_guests});
  }
  return out;
}

void PlacementLoop::follow(Ours& ours, double periods) {
  if (!ours.started) {
    ours.shown = ours.now;
    ours.started = true;
    return;
  }
  periods = std::max(0.0, periods);
  const double rise = 1 - std::pow(5.0 / 8.0, periods);
  const double fall = 1 - std::pow(7.0 / 8.0, periods);
  for (const auto& [node, d] : ours.now) {
    ours.shown.try_emplace(node, 0.0);
  }
  for (auto it = ours.shown.begin(); it != ours.shown.end();) {
    const auto n = ours.now.find(it->first);
    const double target = n != ours.now.end() ? n->second : 0.0;
    it->second += (target - it->second) * (target > it->second ? rise : fall);
    // (Forgotten once all but 1% of it is gone from the boards.)
    if (n == ours.now.end() && it->second < 0.01) {
      it = ours.shown.erase(it);
    } else {
      ++it;
    }
  }
}

void PlacementLoop::correct(std::vector<policy::NodeState>& nodes, const Ours& ours) {
  auto get = [](const std::map<std::string, double>& m, const std::string& k) {
    const auto it = m.find(k);
    return it != m.end() ? it->second : 0.0;
  };
  // The boards may lag more than the model (a gossip period in flight, a
  // move still finishing): a node holds at least our bodies there.
  for (auto& n : nodes) {
    const double here = get(ours.now, n.name);
    n.load = std::max(here, n.load - get(ours.shown, n.name) + here);
  }
}

void PlacementLoop::correct_memory(std::vector<policy::NodeState>& nodes,
                                   const std::vector<Moving>& moving) {
  for (const auto& m : moving) {
    for (auto& n : nodes) {
      if (n.name == m.from) {
        n.mem_free = std::min(n.mem_total, n.mem_free + m.bytes);
      } else if (n.name == m.to) {
        n.mem_free -= std::min(n.mem_free, m.bytes);
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
  const double periods = last_round_ == Clock::time_point{}
                             ? 0.0
                             : seconds(now - last_round_) / std::max(config_.gossip.period_s, 0.05);
  last_round_ = now;

  // Every program's status first: where this home's load is, now.
  struct Program {
    wire::ProgramStatus status;
    policy::BodyProfile body;
  };
  std::vector<Program> programs;
  std::map<pid_t, Tracked> seen;
  ours_.now.clear();
  for (pid_t pid : listed_programs()) {
    auto f = ask_program(pid, common::MsgType::kProgramStatusRequest, wire::ProgramStatusRequest{},
                         kAskTimeout);
    Program p;
    if (!f || f->type != common::to_wire(common::MsgType::kProgramStatus) ||
        !common::parse_payload(*f, p.status)) {
      // Not answering now: where it was.
      if (const auto known = tracked_.find(pid); known != tracked_.end()) {
        seen[pid] = known->second;
        if (!known->second.where.empty()) {
          ours_.now[known->second.where] += known->second.demand;
        }
      }
      continue;
    }
    const auto known = tracked_.find(pid);
    Tracked t = known != tracked_.end() ? known->second : Tracked{};
    p.body = profile(p.status, t, now, config_);
    // What it adds to a node's load: how often its supervisor finds it
    // runnable (its CPU use is only its share of a crowded node), once
    // reported.
    if (p.status.runnable() > 0 || p.status.cpu_ms() > 0) {
      p.body.cpu = p.status.runnable();
    }
    t.demand = policy::demand(p.body);
    // A body asked to move counts at its target until it is there.
    if (!p.body.migrating || t.where.empty()) {
      t.where = p.status.where();
    }
    ours_.now[t.where] += t.demand;
    seen[pid] = t;
    programs.push_back(std::move(p));
  }
  follow(ours_, periods);

  // Memory moving with bodies this home sent, until the boards show it.
  std::erase_if(moving_, [&](const Moving& m) {
    const auto t = seen.find(m.pid);
    const bool in_flight = t != seen.end() && t->second.asking;
    return !in_flight && seconds(now - m.at) > kMemoryShownAfterPeriods * config_.gossip.period_s;
  });

  // Node by node: this home's bodies on one node decided together (the
  // largest first under memory pressure; the best move for balance).
  std::map<std::string, std::vector<std::size_t>> by_node;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const policy::BodyProfile& b = programs[i].body;
    if (!b.stay && !b.migrating) {
      by_node[programs[i].status.where()].push_back(i);
    }
  }
  int moves = 0;
  std::set<std::string> refused;
  for (const auto& [node, members] : by_node) {
    if (moves >= kMovesPerRound) {
      break;
    }
    // The snapshot as that node would see it.
    policy::Snapshot snap;
    snap.self = node;
    snap.lstay = node == config_.node_name && lstay_ && lstay_();
    snap.nodes = *nodes;
    correct(snap.nodes, ours_);
    correct_memory(snap.nodes, moving_);
    for (auto& n : snap.nodes) {
      n.accepts_guests = n.accepts_guests && !refused.contains(n.name);
    }
    const auto where = std::find_if(snap.nodes.begin(), snap.nodes.end(),
                                    [&](const policy::NodeState& n) { return n.name == node; });
    if (where == snap.nodes.end()) {
      continue;  // its node is not on our board (yet)
    }
    // (The policy takes a round trip to home from the body's node: ours
    // to that node.)
    const double rtt_there = where->rtt_s;
    for (auto& n : snap.nodes) {
      if (n.name == config_.node_name) {
        n.rtt_s = rtt_there;
      }
    }
    snap.partners = partners(config_);
    for (std::size_t i : members) {
      snap.bodies.push_back(programs[i].body);
    }
    snap.seed = (rounds_ << 20) ^ std::hash<std::string>{}(node);
    policy::Params params = params_;
    params.max_moves = static_cast<std::uint32_t>(kMovesPerRound - moves);
    std::string loads;
    for (const auto& n : snap.nodes) {
      loads += fmt::format(" {} {:.2f}/{}x{:.2f}", n.name, n.load, n.cores, n.speed);
    }
    for (const policy::Decision& d : policy::decide(snap, params)) {
      if (moves >= kMovesPerRound) {
        break;
      }
      const pid_t pid = static_cast<pid_t>(d.body);
      Tracked& t = seen[pid];
      const auto rss = std::find_if(members.begin(), members.end(),
                                    [&](std::size_t i) { return programs[i].status.pid() == pid; });
      const std::uint64_t bytes = rss != members.end() ? programs[*rss].status.rss_bytes() : 0;
      wire::MigrateRequest req;
      req.set_node(d.target == config_.node_name ? "home" : d.target);
      req.set_wait(false);
      // The target compares its own record with the board's, as we read
      // it (not as corrected: its record lags as the board does).
      req.set_automatic(true);
      for (const auto& n : *nodes) {
        if (n.name == d.target) {
          req.set_seen_load(n.load);
        }
      }
      MOS_LOG_INFO("placement: {} on {} -> {} ({}, {:.2f} saved; demand {:.2f}, rss {}; loads{})",
                   pid, node, req.node(), policy::why_name(d.why), d.gain, t.demand,
                   common::human_bytes(static_cast<double>(bytes)), loads);
      auto r = ask_program(pid, common::MsgType::kMigrateRequest, req, kAskTimeout);
      wire::MigrateReply reply;
      t.asking = true;
      t.asked = now;
      // The deputy answers once the target's supervisor is up (its daemon
      // starts it): often later than we wait. No answer is taken as a move
      // under way; the next rounds see where the body is.
      const bool late = !r && r.error().errno_code == ETIMEDOUT;
      if (late) {
        MOS_LOG_DEBUG("placement: {} is starting its move (no answer yet)", pid);
      } else if (!r || r->type != common::to_wire(common::MsgType::kMigrateReply) ||
                 !common::parse_payload(*r, reply) || !reply.error().empty()) {
        MOS_LOG_INFO("placement: {} did not start its move: {}", pid,
                     !r                      ? r.error().message
                     : reply.error().empty() ? "no answer"
                                             : reply.error());
        refused.insert(d.target);  // (not tried again this round)
        continue;
      }
      // The next decisions of this round see it at its target.
      ours_.now[node] -= t.demand;
      ours_.now[d.target] += t.demand;
      t.where = d.target;
      moving_.push_back({pid, node, d.target, bytes, now});
      ++moves;
    }
  }
  tracked_ = std::move(seen);
}

}  // namespace mos::home
