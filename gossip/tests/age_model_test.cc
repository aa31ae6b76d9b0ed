// Unit tests for gossip/AgeModel.h: limits the model must reproduce exactly,
// internal consistency, and regression values checked against the simulator
// (tests/sim/gossip_sim; the table is in docs/gossip.md).

#include "gossip/AgeModel.h"

#include <doctest/doctest.h>

#include <cmath>

using mos::gossip::solve_age_model;

TEST_CASE("two nodes see each other every round") {
  const auto m = solve_age_model(2, 20);
  CHECK(m.mean == doctest::Approx(0.0));
  CHECK(m.quantile(1e-9) == 0);
}

TEST_CASE("a window of one (own record only) is a geometric wait for a direct message") {
  // Node s reaches a given node with probability 1/(N-1) per round, so the
  // end-of-round age is geometric with mean (1 - p) / p = N - 2.
  const auto m = solve_age_model(50, 1);
  CHECK(m.mean == doctest::Approx(48.0).epsilon(1e-6));
  CHECK(m.tail_ratio == doctest::Approx(1.0 - 1.0 / 49.0));
  CHECK(m.inclusion.size() >= 2);
  CHECK(m.inclusion[1] == doctest::Approx(0.0));
}

TEST_CASE("survival is a decreasing probability and the mean is its sum") {
  for (auto [n, w] : {std::pair{16, 4}, std::pair{256, 20}, std::pair{256, 256}}) {
    const auto m = solve_age_model(n, w);
    double sum = 0.0;
    double prev = 1.0;
    for (double s : m.survival) {
      CHECK(s <= prev + 1e-15);
      CHECK(s >= 0.0);
      prev = s;
      sum += s;
    }
    CHECK(m.mean == doctest::Approx(sum).epsilon(1e-9));
    CHECK(m.expected_max >= m.mean);
    CHECK(m.quantile(1e-3) <= m.quantile(1e-9));
  }
}

TEST_CASE("every window carries w-1 of the N-1 other entries") {
  // By symmetry a given node is in a given window with probability
  // (w-1)/(N-1); the model's sum over ages of P(age = k) q(k) must agree.
  const std::size_t n = 256;
  const std::size_t w = 20;
  const auto m = solve_age_model(n, w);
  double h = 0.0;
  for (std::size_t k = 1; k < m.inclusion.size(); ++k) {
    const double before = k >= 2 ? m.survival[k - 2] : 1.0;
    h += (before - m.survival[k - 1]) * m.inclusion[k];
  }
  CHECK(h == doctest::Approx(19.0 / 255.0).epsilon(1e-6));
}

TEST_CASE("ages grow with the cluster and shrink with the window") {
  CHECK(solve_age_model(256, 20).mean < solve_age_model(1000, 20).mean);
  CHECK(solve_age_model(256, 64).mean < solve_age_model(256, 20).mean);
  CHECK(solve_age_model(256, 256).mean < solve_age_model(256, 64).mean);
  // With w << N the mean is close to N / w: the tail decays by ~w/N per round.
  const double m = solve_age_model(10'000, 20).mean;
  CHECK(m > 10'000.0 / 20.0);
  CHECK(m < 10'000.0 / 20.0 + 10.0);
}

TEST_CASE("regression: values the simulator measures within a few percent") {
  // gossip_sim --check (seed 1) measured 4.61, 16.01, 8.69 and 494.3.
  CHECK(solve_age_model(16, 4).mean == doctest::Approx(4.698).epsilon(1e-3));
  CHECK(solve_age_model(256, 20).mean == doctest::Approx(15.729).epsilon(1e-3));
  CHECK(solve_age_model(256, 64).mean == doctest::Approx(8.479).epsilon(1e-3));
  CHECK(solve_age_model(10'000, 20).mean == doctest::Approx(502.96).epsilon(1e-3));
}
