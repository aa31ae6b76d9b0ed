// The placement loop's pure parts: a program's profile from its status
// across rounds, and the correction of the boards' smoothed loads for
// moves asked for.

#include <doctest/doctest.h>

#include <chrono>

#include "common/Config.h"
#include "home/Placement.h"

using namespace mos;
using Clock = std::chrono::steady_clock;

TEST_CASE("a program's profile decays its CPU use and notices its moves") {
  common::Config config;
  config.node_name = "node1";
  config.cluster_name = "alpha";
  wire::ProgramStatus s;
  s.set_pid(42);
  s.set_where("node1");
  s.set_state("home");
  s.set_rss_bytes(64 << 20);
  s.set_cpu_ms(0);
  home::PlacementLoop::Tracked t;
  const auto t0 = Clock::now();
  auto b = home::PlacementLoop::profile(s, t, t0, config);
  CHECK(b.id == 42);
  CHECK(b.home_node == "node1");
  CHECK(b.home_cluster == "alpha");
  CHECK(b.cpu == 1.0);  // unknown yet: busy
  CHECK(b.since_move_s == doctest::Approx(0.0));
  // One second later, half a second of CPU: decayed halfway to 0.5.
  s.set_cpu_ms(500);
  b = home::PlacementLoop::profile(s, t, t0 + std::chrono::seconds(1), config);
  CHECK(b.cpu == doctest::Approx(0.75));
  CHECK(b.age_s == doctest::Approx(0.5));
  CHECK(b.since_move_s == doctest::Approx(1.0));
  // It moved: the hold starts again; a program in a move, or of -L, stays.
  s.set_migrations(1);
  s.set_state("migrating");
  s.set_stay(true);
  b = home::PlacementLoop::profile(s, t, t0 + std::chrono::seconds(3), config);
  CHECK(b.since_move_s == doctest::Approx(0.0));
  CHECK(b.moves == 1);
  CHECK(b.migrating);
  CHECK(b.stay);
}

TEST_CASE("moves asked for are added to the boards' loads until the boards show them") {
  std::vector<policy::NodeState> nodes(3);
  nodes[0].name = "node1";
  nodes[0].load = 3.0;
  nodes[1].name = "node2";
  nodes[1].load = 0.0;
  nodes[2].name = "node3";
  nodes[2].load = 0.0;
  const auto t0 = Clock::now();
  std::vector<home::PlacementLoop::Recent> recent = {{"node1", "node2", 1.0, t0}};
  auto now = nodes;
  home::PlacementLoop::correct(now, recent, t0, 1.0);
  CHECK(now[0].load == doctest::Approx(2.0));
  CHECK(now[1].load == doctest::Approx(1.0));
  CHECK(now[2].load == doctest::Approx(0.0));
  // Two periods on, the boards have a part of it: the rest is added.
  auto later = nodes;
  later[0].load = 3.0 - (1 - 49.0 / 64);  // the source's averager after two samples
  later[1].load = 1 - 25.0 / 64;          // the target's
  home::PlacementLoop::correct(later, recent, t0 + std::chrono::seconds(2), 1.0);
  CHECK(later[0].load == doctest::Approx(2.0));
  CHECK(later[1].load == doctest::Approx(1.0));
  // Never below zero.
  auto empty = nodes;
  empty[0].load = 0.2;
  home::PlacementLoop::correct(empty, recent, t0, 1.0);
  CHECK(empty[0].load == 0.0);
}
