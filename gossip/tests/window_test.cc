// Unit tests for gossip/Window.h: the wire round trip and the refusal of
// malformed windows.

#include "gossip/Window.h"

#include "gossip/Tuning.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;
using mos::gossip::from_proto;
using mos::gossip::GossipWindow;
using mos::gossip::LoadRecord;
using mos::gossip::Window;
using mos::gossip::WindowEntry;

WindowEntry entry(const std::string& node, std::chrono::nanoseconds age) {
  LoadRecord r;
  r.set_node(node);
  r.set_address("10.0.0.1:4700");
  r.set_cores(8);
  r.set_load_local(1.25);
  r.add_accepts_clusters("partner");
  r.set_sequence(42);
  return WindowEntry{std::make_shared<const LoadRecord>(std::move(r)), age};
}

}  // namespace

TEST_CASE("a window survives serialisation; ages round to the nearest millisecond") {
  Window w;
  w.sender = "a";
  w.cluster = "lab";
  w.sequence = 9;
  w.entries = {entry("a", 0ns), entry("b", 1499us), entry("c", 1500us), entry("d", 7s)};
  std::string bytes;
  REQUIRE(to_proto(w).SerializeToString(&bytes));
  GossipWindow parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  const auto back = from_proto(parsed);
  REQUIRE(back.has_value());
  CHECK(back->sender == "a");
  CHECK(back->cluster == "lab");
  CHECK(back->sequence == 9);
  REQUIRE(back->entries.size() == 4);
  CHECK(back->entries[1].record->node() == "b");
  CHECK(back->entries[1].age == 1ms);
  CHECK(back->entries[2].age == 2ms);
  CHECK(back->entries[3].age == 7s);
  CHECK(back->entries[3].record->address() == "10.0.0.1:4700");
  CHECK(back->entries[3].record->accepts_clusters(0) == "partner");
  CHECK(back->entries[3].record->sequence() == 42);
}

TEST_CASE("malformed windows are refused whole, with a reason") {
  GossipWindow m;
  m.set_sender("a");
  auto* e = m.add_entries();
  e->mutable_record()->set_node("b");
  e->set_age_ms(5);
  REQUIRE(from_proto(m).has_value());

  SUBCASE("no sender") {
    m.clear_sender();
    CHECK_FALSE(from_proto(m).has_value());
  }
  SUBCASE("an entry without a record or name") {
    m.add_entries()->set_age_ms(1);
    const auto r = from_proto(m);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("entry 1") != std::string::npos);
  }
  SUBCASE("an absurd age") {
    e->set_age_ms(mos::gossip::kMaxAgeMs + 1);
    CHECK_FALSE(from_proto(m).has_value());
  }
  SUBCASE("a name longer than any real one") {
    e->mutable_record()->set_node(std::string(mos::gossip::kMaxNodeNameLength + 1, 'x'));
    CHECK_FALSE(from_proto(m).has_value());
  }
  SUBCASE("too many entries") {
    for (std::size_t i = 0; i < mos::gossip::kMaxWindowEntries; ++i) {
      auto* x = m.add_entries();
      x->mutable_record()->set_node("n");
    }
    CHECK_FALSE(from_proto(m).has_value());
  }
  SUBCASE("garbage bytes never reach from_proto as a valid window") {
    GossipWindow g;
    const std::string junk = "\xff\xff\xff\xff\x0f garbage";
    if (g.ParseFromString(junk)) {
      CHECK_FALSE(from_proto(g).has_value());
    }
  }
}
