#pragma once
// The gossip simulator's harness: N real gossip Engines (gossip/Engine.h) on
// one virtual clock, windows passed as in-process objects. How runs use it
// and what they measure: tests/sim/gossip_sim.cc and docs/gossip.md.

#include "gossip/AgeModel.h"
#include "gossip/Engine.h"
#include "gossip/Window.h"
#include "gossip/gossip.pb.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mos::gossip::sim {

inline constexpr Duration kPeriod = std::chrono::seconds(1);
inline constexpr std::size_t kPruneRounds = 16;

inline double periods(Duration d) {
  return static_cast<double>(d.count()) / static_cast<double>(kPeriod.count());
}

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline std::string node_name(std::size_t i) {
  return fmt::format("n{}", i);
}

inline std::size_t node_index(std::string_view name) {
  std::size_t i = 0;
  std::from_chars(name.data() + 1, name.data() + name.size(), i);
  return i;
}

enum class Start { kCold, kSynced };

struct Params {
  std::size_t n = 256;
  std::size_t w = 20;
  std::size_t observers = 0;  // 0: every node keeps a full board and is measured
  Start start = Start::kCold;
  std::size_t warmup = 0;
  std::size_t measure = 0;
  bool phases = false;
  std::uint64_t seed = 1;
  // Observers' bounds; by default nothing is ever down or forgotten.
  Duration down_after = kPeriod * 100'000'000;
  Duration forget_after = kPeriod * 100'000'000;
};

// One measurement over all observer boards.
struct Sample {
  double sum = 0.0;             // ages of entries about other nodes, periods
  double uncensored_sum = 0.0;  // the same, without censored entries
  std::size_t count = 0;
  std::size_t censored = 0;  // synced start: never refreshed since time 0
  std::size_t unknown = 0;   // nodes an observer has not heard of
  double board_max_sum = 0.0;
  std::size_t boards = 0;
  double max_seen = 0.0;
  double censored_age = 0.0;
};

// N engines on one virtual clock.
class Cluster {
 public:
  explicit Cluster(const Params& p) : p_(p), rng_(p.n), alive_(p.n, true), engines_(p.n) {
    auto names = std::make_shared<std::vector<std::string>>();
    for (std::size_t i = 0; i < p.n; ++i) {
      names->push_back(node_name(i));
    }
    names_ = std::move(names);
    std::uint64_t seed = p.seed * 0x2545f4914f6cdd1dull;
    for (std::size_t i = 0; i < p.n; ++i) {
      rng_[i] = splitmix64(seed);
    }
    const std::size_t k = p.observers == 0 ? p.n : std::min(p.observers, p.n);
    observer_.assign(p.n, p.observers == 0);
    for (std::size_t j = 0; j < k && p.observers != 0; ++j) {
      observer_[j * p.n / k] = true;
    }
    for (std::size_t i = 0; i < p.n; ++i) {
      engines_[i] = make_engine(i, 1);
    }
    order_.resize(p.n);
    phase_.assign(p.n, Duration::zero());
    for (std::size_t i = 0; i < p.n; ++i) {
      order_[i] = i;
      if (p.phases) {
        phase_[i] = Duration(static_cast<std::int64_t>(splitmix64(seed) % kPeriod.count()));
      }
    }
    std::sort(order_.begin(), order_.end(),
              [this](std::size_t a, std::size_t b) { return phase_[a] < phase_[b]; });
    if (p.start == Start::kSynced) {
      sync_start();
    }
  }

  const Params& params() const { return p_; }
  std::size_t rounds() const { return round_; }
  bool alive(std::size_t i) const { return alive_[i]; }
  bool observer(std::size_t i) const { return observer_[i]; }
  Engine& engine(std::size_t i) { return *engines_[i]; }
  const std::string& name(std::size_t i) const { return (*names_)[i]; }
  std::size_t short_windows() const { return short_windows_; }
  double max_window_age() const { return max_window_age_; }
  std::size_t sends_to_dead(std::size_t i) const { return sends_to_dead_[i]; }
  // Windows sent to a peer the sender itself presumed down (must stay 0).
  std::size_t sends_to_down() const { return sends_to_down_; }
  void reset_window_stats() {
    short_windows_ = 0;
    max_window_age_ = 0.0;
  }

  // One period. Synchronous: all ticks at t, then all deliveries, and the
  // clock stays at t for measuring. With phases: node i ticks at t + phase_i
  // and its window is delivered at once; the clock ends at t + period.
  void run_round() {
    const Duration base = kPeriod * static_cast<std::int64_t>(round_);
    if (!p_.phases) {
      now_ = base;
      for (std::size_t i = 0; i < p_.n; ++i) {
        if (alive_[i]) {
          engines_[i]->tick();
        }
      }
      deliver();
    } else {
      for (std::size_t i : order_) {
        if (alive_[i]) {
          now_ = base + phase_[i];
          engines_[i]->tick();
          deliver();
        }
      }
      now_ = base + kPeriod;
    }
    ++round_;
  }

  void kill(std::size_t i) {
    alive_[i] = false;
    engines_[i].reset();
  }

  // A restarted daemon: empty board, sequence numbers above the old ones.
  void revive(std::size_t i) {
    alive_[i] = true;
    engines_[i] = make_engine(i, 1'000'000'000ull + round_);
  }

  Sample measure() {
    Sample s;
    s.censored_age = periods(now_);
    for (std::size_t i = 0; i < p_.n; ++i) {
      if (!alive_[i] || !observer_[i]) {
        continue;
      }
      const auto& board = engines_[i]->current_board();
      double board_max = 0.0;
      std::size_t entries = 0;
      board.for_each([&](const mos::gossip::NodeView& v) {
        if (v.node() == board.self()) {
          return;
        }
        const double a = periods(v.age);
        ++entries;
        s.sum += a;
        if (v.record->sequence() == 0) {
          ++s.censored;
        } else {
          s.uncensored_sum += a;
        }
        board_max = std::max(board_max, a);
      });
      s.count += entries;
      s.unknown += p_.n - 1 - std::min(entries, p_.n - 1);
      s.board_max_sum += board_max;
      s.max_seen = std::max(s.max_seen, board_max);
      ++s.boards;
    }
    return s;
  }

 private:
  std::unique_ptr<Engine> make_engine(std::size_t i, std::uint64_t first_sequence) {
    EngineConfig cfg;
    cfg.self = name(i);
    cfg.cluster = "sim";
    cfg.period = kPeriod;
    cfg.window = p_.w;
    if (observer_[i]) {
      cfg.down_after = p_.down_after;
      cfg.forget_after = p_.forget_after;
    } else {
      cfg.down_after = cfg.forget_after = kPeriod * static_cast<std::int64_t>(kPruneRounds);
    }
    cfg.seeds = names_;
    cfg.first_sequence = first_sequence;
    return std::make_unique<Engine>(
        std::move(cfg), [this] { return now_; }, [this, i] { return splitmix64(rng_[i]); },
        [] {
          LoadRecord r;
          r.set_cores(4);
          r.set_speed(1.0);
          return r;
        },
        [this](const std::string& peer, const Window& window) { on_send(peer, window); });
  }

  void on_send(const std::string& peer, const Window& window) {
    const std::size_t dst = node_index(peer);
    // The sender is inside tick(): its board is current.
    const auto seen = engines_[node_index(window.sender)]->board().find(peer);
    if (seen && seen->down) {
      ++sends_to_down_;
    }
    if (window.entries.size() < std::min(p_.w, p_.n)) {
      ++short_windows_;
    }
    for (const WindowEntry& e : window.entries) {
      max_window_age_ = std::max(max_window_age_, periods(e.age));
    }
    if (!alive_[dst]) {
      ++sends_to_dead_[dst];
      return;
    }
    outbox_.emplace_back(dst, window);
  }

  void deliver() {
    for (auto& [dst, window] : outbox_) {
      if (alive_[dst]) {
        engines_[dst]->on_receive(window);
      }
    }
    outbox_.clear();
  }

  // Every observer learns every node's (placeholder) record at age 0, as if
  // all had just broadcast; sequence 0 marks these as never refreshed.
  void sync_start() {
    Window all;
    all.sender = "sim-start";
    for (std::size_t i = 0; i < p_.n; ++i) {
      LoadRecord r;
      r.set_node(name(i));
      r.set_sequence(0);
      all.entries.push_back(
          WindowEntry{std::make_shared<const LoadRecord>(std::move(r)), Duration::zero()});
    }
    for (std::size_t i = 0; i < p_.n; ++i) {
      if (observer_[i]) {
        engines_[i]->on_receive(all);
      }
    }
  }

  Params p_;
  Duration now_{0};
  std::size_t round_ = 0;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<std::uint64_t> rng_;
  std::vector<bool> alive_;
  std::vector<bool> observer_;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::vector<std::size_t> order_;
  std::vector<Duration> phase_;
  std::vector<std::pair<std::size_t, Window>> outbox_;
  std::size_t short_windows_ = 0;
  std::size_t sends_to_down_ = 0;
  double max_window_age_ = 0.0;
  std::vector<std::size_t> sends_to_dead_ = std::vector<std::size_t>(p_.n, 0);
};

inline Params cold(std::size_t n, std::size_t w, std::uint64_t seed) {
  const AgeModel m = mos::gossip::solve_age_model(n, w);
  Params p;
  p.n = n;
  p.w = w;
  p.seed = seed;
  // Long enough that every node is known and the age distribution has
  // forgotten the empty start (its tail decays by the model's ratio per round).
  p.warmup = std::max<std::size_t>(200, static_cast<std::size_t>(15 * m.mean));
  p.measure = std::max<std::size_t>(300, static_cast<std::size_t>(6 * m.mean));
  // Above 256 nodes, full boards everywhere make each round O(N^2): measure
  // 64 observers and prune the rest (see the top of this file).
  p.observers = n > 256 ? 64 : 0;
  return p;
}

inline Params synced(std::size_t n, std::size_t w, std::size_t observers, std::size_t warmup,
                     std::size_t measure, std::uint64_t seed) {
  Params p;
  p.n = n;
  p.w = w;
  p.seed = seed;
  p.observers = observers;
  p.start = Start::kSynced;
  p.warmup = warmup;
  p.measure = measure;
  return p;
}

// The kill/revive scenario (gossip_failure.cc); returns the exit code.
int run_failure(std::uint64_t seed);

}  // namespace mos::gossip::sim
