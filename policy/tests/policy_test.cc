// The policy on hand-made snapshots: the cost functions, and decisions with
// ties, stale and down entries, full memory, the flags of mosrun and
// mosctl, remote overheads and partner priorities.

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "policy/Policy.h"

using namespace mos::policy;

namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

NodeState node(const std::string& name, double load, double speed = 1.0,
               std::uint64_t free = 3 * kGiB) {
  NodeState n;
  n.name = name;
  n.cluster = "alpha";
  n.cores = 1;
  n.speed = speed;
  n.load = load;
  n.mem_total = 4 * kGiB;
  n.mem_free = free;
  n.rtt_s = 0.0002;
  n.throughput_bps = 1e9;
  return n;
}

BodyProfile body(std::int64_t id, const std::string& home = "n1") {
  BodyProfile b;
  b.id = id;
  b.home_node = home;
  b.home_cluster = "alpha";
  b.cpu = 1.0;
  b.rss = 64 << 20;
  b.age_s = 60;
  return b;
}

Snapshot snap(std::vector<NodeState> nodes, std::vector<BodyProfile> bodies,
              const std::string& self = "n1") {
  Snapshot s;
  s.self = self;
  s.nodes = std::move(nodes);
  s.bodies = std::move(bodies);
  return s;
}

}  // namespace

TEST_CASE("a resource costs n to the power of its utilisation") {
  CHECK(resource_cost(0.0, 10) == doctest::Approx(1.0));
  CHECK(resource_cost(1.0, 10) == doctest::Approx(10.0));
  CHECK(resource_cost(0.5, 100) == doctest::Approx(10.0));
  CHECK(resource_cost(1.0, 1) == doctest::Approx(2.0));  // (at least base 2)
  CHECK(resource_cost(-1.0, 10) == doctest::Approx(1.0));
}

TEST_CASE("the CPU scale is the smallest power of two above the highest load per core") {
  Params p;
  CHECK(cpu_scale({node("a", 0.5), node("b", 1.5)}, p) == 2.0);  // (the minimum)
  CHECK(cpu_scale({node("a", 5.0)}, p) == 8.0);
  CHECK(cpu_scale({node("a", 8.0)}, p) == 16.0);
  NodeState fast = node("f", 8.0, 4.0);  // 2 per core at speed 4
  CHECK(cpu_scale({fast}, p) == 4.0);
  NodeState down = node("d", 100.0);
  down.down = true;
  CHECK(cpu_scale({down, node("a", 1.0)}, p) == 2.0);
}

TEST_CASE("a faster or emptier node adds less cost, a nearly full memory more") {
  const BodyProfile b = body(1);
  const double slow = marginal_cost(node("s", 1.0), b, 2.0, 10);
  const double fast = marginal_cost(node("f", 1.0, 2.0), b, 2.0, 10);
  const double idle = marginal_cost(node("i", 0.0), b, 2.0, 10);
  CHECK(fast < slow);
  CHECK(idle < slow);
  const double roomy = marginal_cost(node("r", 0.0, 1.0, 3 * kGiB), b, 2.0, 10);
  const double tight = marginal_cost(node("t", 0.0, 1.0, 200 << 20), b, 2.0, 10);
  CHECK(tight > roomy);
  // What leaving saves is what coming back would add.
  NodeState here = node("h", 2.0);
  NodeState after = here;
  after.load -= 1.0;
  after.mem_free += b.rss;
  CHECK(leaving_saves(here, b, 2.0, 10) == doctest::Approx(marginal_cost(after, b, 2.0, 10)));
}

TEST_CASE("a body moves off a crowded node to an idle one, not between near equals") {
  auto s = snap({node("n1", 3.0), node("n2", 1.0), node("n3", 1.0)}, {body(1), body(2), body(3)});
  s.nodes[2].load = 0.0;
  auto d = decide(s);
  REQUIRE(d.size() == 1);  // one balancing move per round
  CHECK(d[0].target == "n3");
  CHECK(d[0].why == Why::kBalance);
  CHECK(d[0].gain > 0);
  // 2 against 1: moving would only swap the roles.
  auto even = snap({node("n1", 2.0), node("n2", 1.0)}, {body(1), body(2)});
  CHECK(decide(even).empty());
}

TEST_CASE("equal candidates are broken by the seed, deterministically") {
  std::set<std::string> chosen;
  for (std::uint64_t seed = 0; seed < 32; ++seed) {
    auto s = snap({node("n1", 3.0), node("n2", 0.0), node("n3", 0.0)}, {body(1), body(2), body(3)});
    s.seed = seed;
    auto d = decide(s);
    REQUIRE(d.size() == 1);
    CHECK(decide(s)[0].target == d[0].target);  // same snapshot, same answer
    chosen.insert(d[0].target);
  }
  CHECK(chosen == std::set<std::string>{"n2", "n3"});
}

TEST_CASE("more moves per round do not send two bodies to the same idle node") {
  Params p;
  p.max_moves = 3;
  auto s = snap({node("n1", 4.0), node("n2", 0.0), node("n3", 3.0)},
                {body(1), body(2), body(3), body(4)});
  auto d = decide(s, p);
  int to_n2 = 0;
  for (const auto& x : d) {
    to_n2 += x.target == "n2" ? 1 : 0;
  }
  CHECK(to_n2 >= 1);
  CHECK(to_n2 <= 2);  // 4 -> 2 + 2, not 4 -> 0 + 4
}

TEST_CASE("stale and down board entries are never targets") {
  auto s = snap({node("n1", 3.0), node("n2", 0.0)}, {body(1), body(2), body(3)});
  s.nodes[1].age_s = 60;  // older than stale_s
  CHECK(decide(s).empty());
  s.nodes[1].age_s = 0;
  s.nodes[1].down = true;
  CHECK(decide(s).empty());
  // Not on our own board yet: nothing at all.
  auto lost = snap({node("n2", 0.0)}, {body(1)});
  CHECK(decide(lost).empty());
}

TEST_CASE("mosrun -L bodies, bodies in a move and bodies just moved stay") {
  auto s = snap({node("n1", 3.0), node("n2", 0.0)}, {body(1), body(2), body(3)});
  for (auto& b : s.bodies) {
    b.stay = true;
  }
  CHECK(decide(s).empty());
  for (auto& b : s.bodies) {
    b.stay = false;
    b.migrating = true;
  }
  CHECK(decide(s).empty());
  for (auto& b : s.bodies) {
    b.migrating = false;
    b.since_move_s = 1.0;  // within hold_s
  }
  CHECK(decide(s).empty());
  for (auto& b : s.bodies) {
    b.since_move_s = 5.0;
    b.moves = 10;  // a body that moved often is held longer
  }
  CHECK(decide(s).empty());
  s.bodies[0].moves = 0;
  CHECK(decide(s).size() == 1);
}

TEST_CASE("a target without room for the body is skipped") {
  auto s = snap({node("n1", 3.0), node("n2", 0.0, 1.0, 100 << 20), node("n3", 1.0)},
                {body(1), body(2), body(3)});
  s.nodes[2].load = 0.5;
  auto d = decide(s);
  REQUIRE(d.size() == 1);
  CHECK(d[0].target == "n3");
}

TEST_CASE("a node short of memory sends its largest bodies away first") {
  auto s = snap({node("n1", 1.0, 1.0, 32 << 20), node("n2", 1.0), node("n3", 1.0)},
                {body(1), body(2), body(3)});
  s.bodies[1].rss = 1 * kGiB;
  s.bodies[2].rss = 512 << 20;
  auto d = decide(s);
  REQUIRE(!d.empty());
  CHECK(d[0].body == 2);
  CHECK(d[0].why == Why::kMemory);
  CHECK(d.size() == 1);  // 1 GiB away is enough
  // Nowhere has room: nothing is sent anywhere.
  s.nodes[1].mem_free = s.nodes[2].mem_free = 100 << 20;
  CHECK(decide(s).empty());
}

TEST_CASE("a body that talks to home a lot stays home, and comes back") {
  // Home (n1) has 2 runnable, n2 is idle: a quiet body leaves...
  auto s = snap({node("n1", 2.0), node("n2", 0.0)}, {body(1), body(2)});
  s.nodes[1].rtt_s = 0.001;
  auto d = decide(s);
  REQUIRE(d.size() == 1);
  CHECK(d[0].target == "n2");
  // ...a chatty one (2000 calls/s at 1 ms: 90% of its time waiting) stays.
  for (auto& b : s.bodies) {
    b.syscall_rate = 2000;
  }
  CHECK(decide(s).empty());
  CHECK(remote_overhead(s.bodies[0], 0.001, 1e9) == doctest::Approx(0.9));
  CHECK(remote_overhead(s.bodies[0], 0.0, 1e9) == 0.0);
  // Away on n2 (as loaded as home), it goes home.
  auto away = snap({node("n1", 1.0), node("n2", 1.0)}, {body(7)}, "n2");
  away.nodes[0].rtt_s = 0.001;
  away.bodies[0].syscall_rate = 2000;
  auto back = decide(away);
  REQUIRE(back.size() == 1);
  CHECK(back[0].target == "n1");
  CHECK(back[0].why == Why::kHome);
}

TEST_CASE("a body on a slow node moves to an idle faster one") {
  auto s = snap({node("n1", 1.0), node("n2", 0.0, 2.0)}, {body(1)});
  auto d = decide(s);
  REQUIRE(d.size() == 1);
  CHECK(d[0].target == "n2");
  // ...but not to one just as fast.
  s.nodes[1].speed = 1.0;
  CHECK(decide(s).empty());
}

TEST_CASE("a short-lived body does not pay for a long move") {
  auto s = snap({node("n1", 3.0), node("n2", 0.0)}, {body(1), body(2), body(3)});
  s.nodes[1].throughput_bps = 1e6;  // 64 MiB at 1 MB/s: a minute
  for (auto& b : s.bodies) {
    b.age_s = 1;  // expected to end in seconds
  }
  CHECK(decide(s).empty());
  for (auto& b : s.bodies) {
    b.age_s = 3000;
  }
  CHECK(decide(s).size() == 1);
}

TEST_CASE("bodies leave the cluster only with -G and where the config lets them go") {
  auto s = snap({node("n1", 3.0), node("b1", 0.0)}, {body(1), body(2), body(3)});
  s.nodes[1].cluster = "beta";
  s.partners = {{"beta", 10, true, true, 0}};
  CHECK(decide(s).empty());  // no -G
  for (auto& b : s.bodies) {
    b.may_leave_cluster = true;
  }
  CHECK(decide(s).size() == 1);
  s.partners[0].may_go_out = false;
  CHECK(decide(s).empty());
  s.partners.clear();  // not a partner at all
  CHECK(decide(s).empty());
  // A node that blocks guests, or only takes other clusters', is no target.
  auto t = snap({node("n1", 3.0), node("n2", 0.0)}, {body(1), body(2), body(3)});
  t.nodes[1].accepts_guests = false;
  CHECK(decide(t).empty());
  t.nodes[1].accepts_guests = true;
  t.nodes[1].accepts_clusters = {"gamma"};
  CHECK(decide(t).empty());
}

TEST_CASE("local work pushes out the guests of a lower-priority cluster, the lowest first") {
  // n1 (cluster alpha) runs a local process and two guests: beta (priority
  // 5) and gamma (priority 20), one core. gamma's guest goes first.
  NodeState n1 = node("n1", 3.0);
  n1.load_local = 1.0;
  NodeState n2 = node("n2", 0.0);
  NodeState g1 = node("g1", 1.0);
  g1.cluster = "gamma";
  NodeState b1 = node("b1", 1.0);
  b1.cluster = "beta";
  BodyProfile beta = body(10, "b1");
  beta.home_cluster = "beta";
  beta.may_leave_cluster = true;
  BodyProfile gamma = body(20, "g1");
  gamma.home_cluster = "gamma";
  gamma.may_leave_cluster = true;
  auto s = snap({n1, n2, g1, b1}, {beta, gamma});
  s.partners = {{"beta", 5, true, true, 0}, {"gamma", 20, true, true, 0}};
  auto d = decide(s);
  REQUIRE(d.size() >= 2);
  CHECK(d[0].body == 20);
  CHECK(d[0].why == Why::kPriority);
  CHECK(d[0].target == "n2");  // a free core elsewhere first
  CHECK(d[1].body == 10);
  CHECK(d[1].why == Why::kPriority);
  CHECK(d[1].target == "b1");  // no free core left: home
  // Without local work, beta outranks gamma: only gamma goes.
  s.nodes[0].load = 2.0;
  s.nodes[0].load_local = 0.0;
  auto e = decide(s);
  REQUIRE(!e.empty());
  CHECK(e[0].body == 20);
  for (const auto& x : e) {
    CHECK((x.body != 10 || x.why == Why::kBalance));
  }
}

TEST_CASE("mosctl expel sends every guest away and lstay keeps local bodies home") {
  auto s = snap({node("n1", 2.0), node("n2", 1.0), node("n3", 0.5)}, {body(1), body(2, "n2")});
  s.expel = true;
  auto d = decide(s);
  REQUIRE(!d.empty());
  CHECK(d[0].body == 2);
  CHECK(d[0].why == Why::kExpel);
  for (const auto& x : d) {
    CHECK(x.target != "n1");
  }
  auto l = snap({node("n1", 3.0), node("n2", 0.0)}, {body(1), body(2), body(3)});
  l.lstay = true;
  CHECK(decide(l).empty());
}

TEST_CASE("a new body starts where its marginal cost is lowest, here on ties") {
  auto s = snap({node("n1", 1.0), node("n2", 0.0, 2.0), node("n3", 0.0)}, {});
  CHECK(place(s, body(1)) == "n2");
  auto tie = snap({node("n1", 0.0), node("n2", 0.0)}, {});
  CHECK(place(tie, body(1)) == "n1");
  auto blocked = snap({node("n1", 2.0), node("n2", 0.0)}, {});
  blocked.nodes[1].accepts_guests = false;
  CHECK(place(blocked, body(1)) == "n1");
}

TEST_CASE("a body alone here moves for speed only while fast nodes are idle in number") {
  // n2 (speed 2) is idle, but the other fast nodes are busy: the idle one
  // is kept for the next job that arrives.
  auto s = snap({node("n1", 1.0), node("n2", 0.0, 2.0), node("n3", 1.0, 2.0), node("n4", 1.0, 2.0),
                 node("n5", 1.0, 2.0)},
                {body(1)});
  CHECK(decide(s).empty());
  s.nodes[2].load = 0.0;  // 2 of 4 fast nodes idle
  auto d = decide(s);
  REQUIRE(d.size() == 1);
  CHECK(d[0].target != "n1");
}

TEST_CASE("a body with a core to itself does not move to an idle node as fast") {
  // Its supervisor's own work shows on the board beside it (1.37 for one
  // body); every other node is idle and as fast: moving gains nothing.
  auto s =
      snap({node("n1", 0.0), node("n2", 1.37), node("n3", 0.0), node("n4", 0.0)}, {body(1)}, "n2");
  CHECK(decide(s).empty());
  // Two bodies on its one core: one goes.
  s.nodes[1].load = 2.0;
  s.bodies.push_back(body(2));
  CHECK(decide(s).size() == 1);
}

TEST_CASE("a target refuses a body when others came on the same news, or it has no room") {
  NodeState now = node("n2", 1.0);
  CHECK(admit(now, body(1), 0.5));
  CHECK_FALSE(admit(now, body(1), 0.0));  // one arrived since the sender looked
  now.load = 0.0;
  now.mem_free = 100 << 20;
  CHECK_FALSE(admit(now, body(1), 0.0));  // 64 MiB would leave under 10%
}

TEST_CASE("a quiet body away from home goes back only under the load rule") {
  // On n2 with another body (2 runnable), home n1 runs one: going home
  // would only swap the crowding, and the body barely talks to home.
  auto s = snap({node("n1", 1.0), node("n2", 2.0)}, {body(7)}, "n2");
  s.nodes[0].rtt_s = 0.001;
  s.bodies[0].syscall_rate = 2;  // 0.2% of its time waiting
  CHECK(decide(s).empty());
  s.nodes[0].load = 0.0;  // home idle: now it pays
  auto d = decide(s);
  REQUIRE(d.size() == 1);
  CHECK(d[0].target == "n1");
}
