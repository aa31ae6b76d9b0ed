// Unit tests for gossip/Board.h: merge rules, ageing, window selection,
// down detection and recovery, forgetting, and the board's own hash index.

#include "gossip/Board.h"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mos::gossip::Board;
using mos::gossip::BoardOptions;
using mos::gossip::Duration;
using mos::gossip::LoadRecord;
using mos::gossip::RecordPtr;
using mos::gossip::WindowEntry;

RecordPtr record(const std::string& node, std::uint64_t sequence, double load = 0.0) {
  LoadRecord r;
  r.set_node(node);
  r.set_sequence(sequence);
  r.set_load_local(load);
  return std::make_shared<const LoadRecord>(std::move(r));
}

WindowEntry entry(const std::string& node, std::uint64_t sequence, Duration age) {
  return WindowEntry{record(node, sequence), age};
}

BoardOptions options(Duration down = 10s, Duration forget = 30s) {
  return {down, forget};
}

Duration age_of(const Board& b, const std::string& node) {
  const auto v = b.find(node);
  REQUIRE(v.has_value());
  return v->age;
}

std::uint64_t seq_of(const Board& b, const std::string& node) {
  const auto v = b.find(node);
  REQUIRE(v.has_value());
  return v->record->sequence();
}

}  // namespace

TEST_CASE("own record enters at age 0 and ages with age()") {
  Board b("a", options());
  b.refresh_self(record("a", 1));
  CHECK(age_of(b, "a") == 0s);
  b.age(1500ms);
  CHECK(age_of(b, "a") == 1500ms);
  b.refresh_self(record("a", 2));
  CHECK(age_of(b, "a") == 0s);
  CHECK(seq_of(b, "a") == 2);
}

TEST_CASE("age() ages every entry by the elapsed time; a negative step is ignored") {
  Board b("a", options(100s, 200s));
  b.merge(std::vector{entry("b", 1, 2s), entry("c", 1, 5s)});
  b.age(3s);
  CHECK(age_of(b, "b") == 5s);
  CHECK(age_of(b, "c") == 8s);
  b.age(-10s);
  CHECK(age_of(b, "b") == 5s);
  b.age(250ms);
  CHECK(age_of(b, "c") == 8250ms);
}

TEST_CASE("merge keeps the younger copy per node") {
  Board b("a", options(100s, 200s));
  auto s = b.merge(std::vector{entry("b", 5, 4s)});
  CHECK(s.inserted == 1);

  SUBCASE("a younger copy replaces") {
    s = b.merge(std::vector{entry("b", 6, 1s)});
    CHECK(s.replaced == 1);
    CHECK(age_of(b, "b") == 1s);
    CHECK(seq_of(b, "b") == 6);
  }
  SUBCASE("an older copy is dropped") {
    s = b.merge(std::vector{entry("b", 4, 9s)});
    CHECK(s.kept == 1);
    CHECK(age_of(b, "b") == 4s);
    CHECK(seq_of(b, "b") == 5);
  }
  SUBCASE("age, not sequence, decides when they disagree") {
    // A lower sequence number with a younger age: the paper's rule is age.
    s = b.merge(std::vector{entry("b", 3, 2s)});
    CHECK(s.replaced == 1);
    CHECK(age_of(b, "b") == 2s);
  }
}

TEST_CASE("equal ages: the higher sequence wins, stale and duplicate copies change nothing") {
  Board b("a", options(100s, 200s));
  b.merge(std::vector{entry("b", 7, 3s)});

  SUBCASE("duplicate") {
    const auto s = b.merge(std::vector{entry("b", 7, 3s), entry("b", 7, 3s)});
    CHECK(s.kept == 2);
    CHECK(seq_of(b, "b") == 7);
  }
  SUBCASE("stale record of equal age") {
    const auto s = b.merge(std::vector{entry("b", 6, 3s)});
    CHECK(s.kept == 1);
    CHECK(seq_of(b, "b") == 7);
  }
  SUBCASE("fresher record of equal age") {
    const auto s = b.merge(std::vector{entry("b", 8, 3s)});
    CHECK(s.replaced == 1);
    CHECK(seq_of(b, "b") == 8);
  }
  SUBCASE("merge order does not matter") {
    Board c("a", options(100s, 200s));
    c.merge(std::vector{entry("b", 8, 3s), entry("b", 7, 3s), entry("b", 9, 5s)});
    Board d("a", options(100s, 200s));
    d.merge(std::vector{entry("b", 9, 5s), entry("b", 7, 3s), entry("b", 8, 3s)});
    CHECK(seq_of(c, "b") == 8);
    CHECK(seq_of(d, "b") == 8);
    CHECK(age_of(c, "b") == age_of(d, "b"));
  }
}

TEST_CASE("entries about ourselves and malformed entries are not merged") {
  Board b("a", options());
  b.refresh_self(record("a", 10));
  b.age(2s);
  std::vector<WindowEntry> w{entry("a", 11, 0s), WindowEntry{nullptr, 1s},
                             WindowEntry{record("", 1), 1s}, entry("c", 1, -1s), entry("d", 1, 1s)};
  const auto s = b.merge(w);
  CHECK(s.ignored == 1);
  CHECK(s.rejected == 3);
  CHECK(s.inserted == 1);
  CHECK(seq_of(b, "a") == 10);  // we are the authority on ourselves
  CHECK(age_of(b, "a") == 2s);
  CHECK_FALSE(b.contains("c"));
  CHECK(b.contains("d"));
}

TEST_CASE("select_window: own record first, then the youngest others, youngest first") {
  Board b("a", options(100s, 200s));
  b.merge(std::vector{entry("b", 1, 5s), entry("c", 1, 1s), entry("d", 1, 9s), entry("e", 1, 3s)});
  b.refresh_self(record("a", 1));

  auto names = [](const std::vector<WindowEntry>& w) {
    std::vector<std::string> out;
    for (const auto& e : w) {
      out.push_back(e.record->node());
    }
    return out;
  };
  CHECK(names(b.select_window(3)) == std::vector<std::string>{"a", "c", "e"});
  CHECK(names(b.select_window(1)) == std::vector<std::string>{"a"});
  CHECK(b.select_window(0).empty());
  CHECK(names(b.select_window(50)) == std::vector<std::string>{"a", "c", "e", "b", "d"});
  const auto w = b.select_window(3);
  CHECK(w[0].age == 0s);
  CHECK(w[1].age == 1s);
  CHECK(w[2].age == 3s);

  SUBCASE("without an own record yet, only others") {
    Board fresh("z", options());
    fresh.merge(std::vector{entry("b", 1, 5s), entry("c", 1, 1s)});
    CHECK(names(fresh.select_window(2)) == std::vector<std::string>{"c", "b"});
  }
}

TEST_CASE("select_window breaks ties deterministically but not in favour of fixed nodes") {
  std::vector<WindowEntry> tied;
  for (int i = 0; i < 40; ++i) {
    tied.push_back(entry("n" + std::to_string(i), 3, 2s));
  }
  std::map<std::string, int> picked;
  for (int board = 0; board < 200; ++board) {
    Board b("board" + std::to_string(board), options(100s, 200s));
    b.merge(tied);
    const auto w1 = b.select_window(4);
    const auto w2 = b.select_window(4);
    REQUIRE(w1.size() == 4);
    for (std::size_t i = 0; i < w1.size(); ++i) {
      CHECK(w1[i].record->node() == w2[i].record->node());  // same board, same answer
      ++picked[w1[i].record->node()];
    }
  }
  // 800 picks over 40 tied nodes: each should get ~20; a fixed order would
  // give 4 nodes 200 each and the rest none.
  CHECK(picked.size() == 40);
  for (const auto& [node, count] : picked) {
    CHECK(count < 60);
  }
}

TEST_CASE("down after down_after, back as soon as a younger record arrives") {
  Board b("a", options(10s, 30s));
  b.merge(std::vector{entry("b", 1, 0s)});
  b.age(10s);
  CHECK_FALSE(b.find("b")->down);  // exactly at the bound: not yet
  CHECK(b.live_count() == 1);
  b.age(1ms);
  CHECK(b.find("b")->down);
  CHECK(b.live_count() == 0);
  b.age(5s);
  CHECK(b.contains("b"));  // down, but not forgotten

  SUBCASE("a younger record brings it back") {
    b.merge(std::vector{entry("b", 2, 4s)});
    CHECK_FALSE(b.find("b")->down);
    CHECK(b.find("b")->age == 4s);
  }
  SUBCASE("an older copy of it does not") {
    b.merge(std::vector{entry("b", 1, 20s)});
    CHECK(b.find("b")->down);
  }
  SUBCASE("deleted once older than forget_after, relearned afterwards") {
    b.age(15s);  // age 30.001 s
    CHECK_FALSE(b.contains("b"));
    b.merge(std::vector{entry("b", 3, 1s)});
    CHECK(b.contains("b"));
    CHECK_FALSE(b.find("b")->down);
  }
}

TEST_CASE("forgetting: only old entries go, our own record never, too-old input is ignored") {
  Board b("a", options(5s, 5s));  // forget == down: never reported down
  b.refresh_self(record("a", 1));
  b.merge(std::vector{entry("b", 1, 0s), entry("c", 1, 4s)});
  b.age(2s);
  CHECK(b.contains("b"));
  CHECK_FALSE(b.contains("c"));
  CHECK(b.contains("a"));
  b.age(60s);
  CHECK(b.contains("a"));
  CHECK(b.size() == 1);
  const auto s = b.merge(std::vector{entry("d", 1, 6s)});
  CHECK(s.ignored == 1);
  CHECK_FALSE(b.contains("d"));
}

TEST_CASE("snapshot lists every entry sorted by name, ourselves included") {
  Board b("m", options(10s, 30s));
  b.refresh_self(record("m", 1));
  b.merge(std::vector{entry("z", 1, 1s), entry("b", 1, 20s), entry("k", 1, 2s)});
  const auto snap = b.snapshot();
  REQUIRE(snap.size() == 4);
  CHECK(snap[0].node() == "b");
  CHECK(snap[0].down);
  CHECK(snap[1].node() == "k");
  CHECK(snap[2].node() == "m");
  CHECK(snap[3].node() == "z");
  CHECK_FALSE(snap[3].down);
}

TEST_CASE("the index stays consistent through many inserts, updates and deletions") {
  // Reference: node -> (sequence, age). Random merges of random ages and
  // random ageing steps; forget_after deletes. Compare after every step.
  std::mt19937_64 rng(42);
  Board b("self", options(40s, 40s));
  std::map<std::string, std::pair<std::uint64_t, Duration>> ref;
  std::uint64_t seq = 1;
  for (int step = 0; step < 4000; ++step) {
    if (rng() % 5 == 0) {
      const Duration dt = std::chrono::milliseconds(rng() % 3000);
      b.age(dt);
      for (auto it = ref.begin(); it != ref.end();) {
        it->second.second += dt;
        it = it->second.second > 40s ? ref.erase(it) : std::next(it);
      }
    } else {
      const std::string node = "n" + std::to_string(rng() % 300);
      const Duration age = std::chrono::milliseconds(rng() % 45000);
      b.merge(std::vector{entry(node, seq, age)});
      if (age <= 40s) {
        auto it = ref.find(node);
        // Sequence numbers only grow here, so equal age also replaces.
        if (it == ref.end() || age <= it->second.second) {
          ref[node] = {seq, age};
        }
      }
      ++seq;
    }
    REQUIRE(b.size() == ref.size());
  }
  for (const auto& [node, v] : ref) {
    const auto e = b.find(node);
    REQUIRE(e.has_value());
    CHECK(e->record->sequence() == v.first);
    CHECK(e->age == v.second);
  }
  std::set<std::string> seen;
  b.for_each([&](const mos::gossip::NodeView& v) { seen.insert(v.node()); });
  CHECK(seen.size() == ref.size());
}
