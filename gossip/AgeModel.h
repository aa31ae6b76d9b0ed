#pragma once
// The expected ages of a gossip board, from a mean-field model of the
// push-window protocol (derivation and assumptions in docs/gossip.md; it is
// our own derivation, checked against tests/sim/gossip_sim, not a formula
// quoted from the paper).
//
// Protocol modelled: N nodes, synchronous rounds. Every round each node ages
// its vector by one period, puts its own record in at age 0, and sends its
// own record plus its w - 1 youngest other entries (equal ages ordered at
// random) to one other node chosen uniformly; every receiver keeps, per node,
// the younger copy. Ages are counted in periods and observed at the end of a
// round, after all windows of the round were merged.
//
// Use: the simulator compares its measurements against mean and
// expected_max; the daemon can pick a down bound with quantile() so that a
// live node is almost never presumed down.

#include <cstddef>
#include <vector>

namespace mos::gossip {

struct AgeModel {
  std::size_t nodes = 0;
  std::size_t window = 0;
  // survival[j] = P(age of a random entry about another node > j periods).
  // Computed until it falls below 1e-15 / nodes; beyond, it decays
  // geometrically by tail_ratio per period.
  std::vector<double> survival;
  // inclusion[k] = P(an entry of age k at send time is in its holder's
  // window); inclusion[0] is unused (only the own record has age 0).
  std::vector<double> inclusion;
  double tail_ratio = 0.0;
  double mean = 0.0;          // E[age], periods
  double expected_max = 0.0;  // E[oldest of one board's N - 1 entries], periods
  int iterations = 0;         // of the fixed-point iteration

  // The smallest age j (periods) with P(age > j) <= p.
  std::size_t quantile(double p) const;
};

// nodes >= 2, window >= 1 (a window larger than the cluster is the whole
// vector). Cost: O(age range + window^2) per iteration, tens of iterations;
// milliseconds for the configurations in docs/gossip.md.
AgeModel solve_age_model(std::size_t nodes, std::size_t window);

}  // namespace mos::gossip
