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

TEST_CASE("the boards' share of this home's load is replaced by the present") {
  std::vector<policy::NodeState> nodes(3);
  nodes[0].name = "node1";
  nodes[0].load = 3.0;
  nodes[1].name = "node2";
  nodes[1].load = 0.0;
  nodes[2].name = "node3";
  nodes[2].load = 0.5;  // another home's
  home::PlacementLoop::Ours ours;
  ours.now = {{"node1", 3.0}};
  home::PlacementLoop::follow(ours, 0.0);  // the first round: the boards show it
  CHECK(ours.shown.at("node1") == doctest::Approx(3.0));
  // One body moved to node2 and another ended: at once, the loads say so.
  ours.now = {{"node1", 1.0}, {"node2", 1.0}};
  home::PlacementLoop::follow(ours, 0.0);
  auto now = nodes;
  home::PlacementLoop::correct(now, ours);
  CHECK(now[0].load == doctest::Approx(1.0));
  CHECK(now[1].load == doctest::Approx(1.0));
  CHECK(now[2].load == doctest::Approx(0.5));
  // Two periods on, the boards have a part of it (a fall is believed 1/8 a
  // period, a rise 3/8): the model follows them, and the present stays.
  home::PlacementLoop::follow(ours, 2.0);
  CHECK(ours.shown.at("node1") == doctest::Approx(1.0 + 2.0 * 49.0 / 64));
  CHECK(ours.shown.at("node2") == doctest::Approx(1.0 - 25.0 / 64));
  auto later = nodes;
  later[0].load = ours.shown.at("node1");
  later[1].load = ours.shown.at("node2");
  home::PlacementLoop::correct(later, ours);
  CHECK(later[0].load == doctest::Approx(1.0));
  CHECK(later[1].load == doctest::Approx(1.0));
  // Long after, nothing of a node we left is remembered; never below zero.
  ours.now = {{"node2", 1.0}};
  home::PlacementLoop::follow(ours, 60.0);
  CHECK(ours.shown.count("node1") == 0);
  auto empty = nodes;
  empty[1].load = 0.2;
  home::PlacementLoop::correct(empty, ours);
  CHECK(empty[1].load == doctest::Approx(1.0));  // our body is there
  ours.shown["node3"] = 2.0;
  home::PlacementLoop::correct(empty, ours);
  CHECK(empty[2].load == 0.0);
  // A board that has not seen our body arrive yet: the node holds it anyway.
  ours.shown["node2"] = 0.6;
  auto lagging = nodes;
  home::PlacementLoop::correct(lagging, ours);
  CHECK(lagging[1].load == doctest::Approx(1.0));
}
