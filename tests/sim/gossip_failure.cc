// The kill/revive scenario of gossip_sim --failure (CTest sim/gossip_failure):
// 256 nodes, two killed after warm-up, one restarted later. Checks that every
// live node presumes a dead node down within down_after, sees a restarted
// node up again within down_after, forgets a node that stays dead within
// forget_after, never gossips to a node it presumes down, and never presumes
// a live node down (down_after comes from AgeModel::quantile).

#include "tests/sim/gossip_cluster.h"

#include <fmt/format.h>

#include <optional>

namespace mos::gossip::sim {

int run_failure(std::uint64_t seed) {
  const std::size_t n = 256;
  const std::size_t w = 20;
  const AgeModel model = mos::gossip::solve_age_model(n, w);
  // A live node's entry exceeds the bound with probability 1e-10 per entry
  // and period (the model's quantile), plus one period for the age a board
  // gains between ticks: about 1 false alarm per 10^10 entry-periods.
  const std::size_t down = model.quantile(1e-10) + 1;
  const std::size_t forget = down + 100;
  Params p = cold(n, w, seed);
  p.down_after = kPeriod * static_cast<std::int64_t>(down);
  p.forget_after = kPeriod * static_cast<std::int64_t>(forget);
  Cluster c(p);
  const std::size_t dead = 7;    // killed, revived later
  const std::size_t gone = 100;  // killed for good
  const std::size_t t_kill = p.warmup;
  const std::size_t t_revive = t_kill + down + 10;
  const std::size_t t_end = t_kill + forget + 5;
  fmt::print(
      "failure scenario: N={} w={} period 1 s, down after {} s, forget after {} s "
      "(model mean age {:.1f}, P(age > {}) = 1e-10)\n",
      n, w, down, forget, model.mean, down - 1);
  bool ok = true;
  std::size_t false_downs = 0;
  std::optional<std::size_t> all_down_dead, all_down_gone, all_up_again, all_forgot;
  std::size_t sends_to_gone_at_detection = 0;
  for (std::size_t t = 0; t < t_end; ++t) {
    if (t == t_kill) {
      c.kill(dead);
      c.kill(gone);
    }
    if (t == t_revive) {
      c.revive(dead);
    }
    c.run_round();
    if (t < t_kill / 2) {
      continue;
    }
    std::size_t see_dead_down = 0, see_gone_down = 0, see_dead_up = 0, forgot_gone = 0, alive = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!c.alive(i)) {
        continue;
      }
      ++alive;
      const auto& board = c.engine(i).current_board();
      board.for_each([&](const mos::gossip::NodeView& v) {
        const std::size_t j = node_index(v.node());
        if (v.down && c.alive(j) && !(j == dead && t < t_revive + down)) {
          ++false_downs;
          fmt::print("  round {}: {} presumes live {} down (age {:.0f})\n", t, c.name(i), c.name(j),
                     periods(v.age));
        }
      });
      if (i == dead) {
        continue;
      }
      const auto d = board.find(c.name(dead));
      const auto g = board.find(c.name(gone));
      see_dead_down += !d || d->down;
      see_dead_up += d && !d->down && d->record->sequence() >= 1'000'000'000ull;
      see_gone_down += !g || g->down;
      forgot_gone += !g;
    }
    const std::size_t others = alive - (c.alive(dead) ? 1 : 0);
    if (t >= t_kill && t < t_revive && !all_down_dead && see_dead_down == others) {
      all_down_dead = t;
    }
    if (t >= t_kill && !all_down_gone && see_gone_down == others) {
      all_down_gone = t;
      sends_to_gone_at_detection = c.sends_to_dead(gone);
    }
    if (t >= t_revive && !all_up_again && see_dead_up == others) {
      all_up_again = t;
    }
    if (t >= t_kill && !all_forgot && forgot_gone == others) {
      all_forgot = t;
    }
  }
  const auto report = [&](const char* what, std::optional<std::size_t> at, std::size_t from,
                          std::size_t bound) {
    if (!at) {
      fmt::print("  FAIL {}: never (bound {} s)\n", what, bound);
      ok = false;
      return;
    }
    const std::size_t took = *at - from;
    const bool in_time = took <= bound;
    ok = ok && in_time;
    fmt::print("  {} {}: after {} s (bound {} s)\n", in_time ? "ok  " : "FAIL", what, took, bound);
  };
  report("every live node presumes the killed node down", all_down_dead, t_kill, down);
  report("every live node presumes the other killed node down", all_down_gone, t_kill, down);
  report("every live node sees the revived node up again", all_up_again, t_revive, down);
  report("every live node has forgotten the node that stayed dead", all_forgot, t_kill, forget);
  // A node presumed down gets no windows from whoever presumes so; once
  // forgotten it is an unknown seed again and gets its 1/N share, like a
  // node that never joined (informational).
  fmt::print(
      "  {} windows sent to a node the sender presumed down: {} (to the dead node in "
      "all: {} before everyone presumed it down, {} after)\n",
      c.sends_to_down() == 0 ? "ok  " : "FAIL", c.sends_to_down(), sends_to_gone_at_detection,
      c.sends_to_dead(gone) - sends_to_gone_at_detection);
  ok = ok && c.sends_to_down() == 0;
  fmt::print("  {} live nodes presumed down: {}\n", false_downs == 0 ? "ok  " : "FAIL",
             false_downs);
  ok = ok && false_downs == 0;
  fmt::print("{}\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace mos::gossip::sim
