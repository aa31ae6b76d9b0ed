// Unit tests for gossip/Engine.h with a hand-driven clock and a seeded
// random source: record refresh, peer choice, ageing by elapsed time,
// receiving, and down detection end to end.

#include "gossip/Engine.h"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mos::gossip::Duration;
using mos::gossip::Engine;
using mos::gossip::EngineConfig;
using mos::gossip::LoadRecord;
using mos::gossip::Window;
using mos::gossip::WindowEntry;

struct Harness {
  Duration now{1000s};
  std::uint64_t rng_state = 7;
  double load = 0.5;
  std::vector<std::pair<std::string, Window>> sent;

  std::unique_ptr<Engine> make(EngineConfig cfg) {
    return std::make_unique<Engine>(
        std::move(cfg), [this] { return now; },
        [this] {
          std::uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
          z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
          z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
          return z ^ (z >> 31);
        },
        [this] {
          LoadRecord r;
          r.set_load_local(load);
          return r;
        },
        [this](const std::string& peer, const Window& w) { sent.emplace_back(peer, w); });
  }
};

EngineConfig config(const std::string& self, std::vector<std::string> seeds = {}) {
  EngineConfig c;
  c.self = self;
  c.cluster = "lab";
  c.window = 3;
  c.down_after = 10s;
  c.forget_after = 60s;
  c.seeds = std::make_shared<const std::vector<std::string>>(std::move(seeds));
  c.first_sequence = 100;
  return c;
}

Window window_from(const std::string& sender, std::vector<std::pair<std::string, Duration>> es,
                   std::uint64_t seq = 1) {
  Window w;
  w.sender = sender;
  for (auto& [node, age] : es) {
    LoadRecord r;
    r.set_node(node);
    r.set_sequence(seq);
    w.entries.push_back(WindowEntry{std::make_shared<const LoadRecord>(std::move(r)), age});
  }
  return w;
}

}  // namespace

TEST_CASE("tick refreshes our record: node, cluster, sequence, clock filled in") {
  Harness h;
  auto e = h.make(config("a", {"b"}));
  e->tick();
  h.now += 1s;
  h.load = 2.0;
  e->tick();
  const auto self = e->find("a");
  REQUIRE(self.has_value());
  CHECK(self->age == 0s);
  CHECK(self->record->sequence() == 101);
  CHECK(self->record->cluster() == "lab");
  CHECK(self->record->clock_ns() == std::chrono::nanoseconds(1001s).count());
  CHECK(self->record->load_local() == 2.0);
}

TEST_CASE("a joining node with no board gossips to its seeds") {
  Harness h;
  auto e = h.make(config("new", {"s1", "new", "s2"}));
  for (int i = 0; i < 50; ++i) {
    e->tick();
    h.now += 1s;
  }
  REQUIRE(h.sent.size() == 50);
  std::map<std::string, int> peers;
  for (const auto& [peer, w] : h.sent) {
    ++peers[peer];
    CHECK(w.sender == "new");
    REQUIRE_FALSE(w.entries.empty());
    CHECK(w.entries[0].record->node() == "new");
    CHECK(w.entries[0].age == 0s);
  }
  CHECK(peers.count("new") == 0);
  CHECK(peers["s1"] > 10);
  CHECK(peers["s2"] > 10);
  CHECK(h.sent.back().second.sequence == 49);
}

TEST_CASE("alone: the record is refreshed but nothing is sent") {
  Harness h;
  auto e = h.make(config("a"));
  e->tick();
  CHECK(h.sent.empty());
  CHECK(e->stats().lonely_ticks == 1);
  CHECK(e->find("a").has_value());
}

TEST_CASE("peers: live known nodes and unknown seeds, never ourselves or down nodes") {
  Harness h;
  auto e = h.make(config("a", {"a", "seed", "b"}));
  // b and c are live, d is down (older than down_after = 10 s).
  e->on_receive(window_from("b", {{"b", 0s}, {"c", 2s}, {"d", 30s}}));
  std::map<std::string, int> peers;
  for (int i = 0; i < 3000; ++i) {
    e->tick();
    h.now += 1ms;  // keep everyone's age below the bound
  }
  for (const auto& [peer, w] : h.sent) {
    ++peers[peer];
  }
  CHECK(peers.count("a") == 0);
  CHECK(peers.count("d") == 0);
  REQUIRE(peers.size() == 3);
  for (const auto& [peer, n] : peers) {
    CHECK(n > 850);  // uniform: 1000 each
    CHECK(n < 1150);
  }
}

TEST_CASE("ages follow the clock, not the number of ticks") {
  Harness h;
  auto e = h.make(config("a", {"b"}));
  e->on_receive(window_from("b", {{"b", 0s}, {"c", 1500ms}}));
  h.now += 300ms;
  e->tick();
  h.now += 2500ms;  // a late tick
  e->tick();
  CHECK(e->find("c")->age == 4300ms);
  CHECK(e->find("b")->age == 2800ms);
  h.now += 700ms;  // between ticks, a query still sees the elapsed time
  CHECK(e->find("c")->age == 5s);
  SUBCASE("a clock stepping back makes nothing younger") {
    h.now -= 10s;
    CHECK(e->find("c")->age == 5s);
    h.now += 10s + 1s;
    CHECK(e->find("c")->age == 6s);
  }
}

TEST_CASE("on_receive merges, adds the transit time, and ignores our own window") {
  Harness h;
  auto e = h.make(config("a", {"b"}));
  e->on_receive(window_from("b", {{"b", 0s}, {"c", 1s}}), 20ms);
  CHECK(e->find("b")->age == 20ms);
  CHECK(e->find("c")->age == 1020ms);
  e->on_receive(window_from("a", {{"x", 0s}}));
  CHECK_FALSE(e->find("x").has_value());
  CHECK(e->stats().windows_received == 1);
  CHECK(e->stats().windows_ignored == 1);
  CHECK(e->stats().merged.inserted == 2);
}

TEST_CASE("a silent node is presumed down after down_after and is back on its next record") {
  Harness h;
  auto e = h.make(config("a", {"b", "c"}));
  e->on_receive(window_from("b", {{"b", 0s}, {"c", 0s}}));
  for (int i = 0; i < 12; ++i) {
    h.now += 1s;
    e->tick();
    e->on_receive(window_from("b", {{"b", 0s}}, 10 + i));  // b keeps talking, c is silent
  }
  CHECK_FALSE(e->find("b")->down);
  CHECK(e->find("c")->down);
  CHECK(e->board().live_count() == 1);
  e->on_receive(window_from("b", {{"c", 3s}}, 50));  // someone heard from c
  CHECK_FALSE(e->find("c")->down);
  CHECK(e->find("c")->age == 3s);
}

TEST_CASE("a small cluster of engines learns everyone and keeps ages low") {
  Harness h;
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i) {
    names.push_back("n" + std::to_string(i));
  }
  std::vector<std::unique_ptr<Engine>> engines;
  std::map<std::string, Engine*> by_name;
  for (const auto& n : names) {
    EngineConfig c = config(n, names);
    c.window = 4;
    c.down_after = 60s;  // the model's 1e-9 quantile for N = 8, w = 4 is 40 s
    engines.push_back(h.make(std::move(c)));
    by_name[n] = engines.back().get();
  }
  for (int round = 0; round < 60; ++round) {
    h.now += 1s;
    for (auto& e : engines) {
      e->tick();
    }
    auto mail = std::move(h.sent);
    h.sent.clear();
    for (auto& [peer, w] : mail) {
      by_name.at(peer)->on_receive(w);
    }
  }
  for (auto& e : engines) {
    const auto snap = e->snapshot();
    CHECK(snap.size() == 8);
    for (const auto& v : snap) {
      CHECK_FALSE(v.down);
      CHECK(v.age <= 40s);
    }
  }
}
