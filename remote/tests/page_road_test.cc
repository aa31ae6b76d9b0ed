// The two roads of a migration's pages (remote/detail/PageRoad.h) without
// a device: a socket road of a few slots beside the channel. The receiver
// must see the sender's frames in the sender's order, whatever the ring's
// size, and bad input on either road must end in an error, not a hang.

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/FramedChannel.h"
#include "common/MsgType.h"
#include "remote/detail/PageRoad.h"

using namespace mos;
using namespace mos::remote::detail;
using common::MsgType;

namespace {

struct Pair {
  common::UniqueFd a, b;
};

Pair socket_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  return {common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
}

// Both ends: a channel and, with slots, a socket road beside it.
struct Roads {
  std::unique_ptr<common::FramedChannel> tx;
  std::unique_ptr<PageRoad> tx_road;
  std::unique_ptr<PageSource> rx;
};

Roads make_roads(std::uint32_t slots) {
  Roads r;
  auto ch = socket_pair();
  r.tx = std::make_unique<common::FramedChannel>(std::move(ch.a));
  std::unique_ptr<PageRoad> rx_road;
  if (slots != 0) {
    auto road = socket_pair();
    r.tx_road = make_socket_road(std::make_unique<common::FramedChannel>(std::move(road.a)), slots);
    rx_road = make_socket_road(std::make_unique<common::FramedChannel>(std::move(road.b)), slots);
    REQUIRE(r.tx_road);
    REQUIRE(rx_road);
  }
  r.rx = std::make_unique<PageSource>(std::make_unique<common::FramedChannel>(std::move(ch.b)),
                                      std::move(rx_road));
  return r;
}

std::string pattern(std::uint64_t addr, std::size_t len) {
  std::string s(len, '\0');
  for (std::size_t i = 0; i < len; ++i) {
    s[i] = static_cast<char>((addr >> 12) * 31 + i * 7);
  }
  return s;
}

std::uint64_t addr_of(const common::Frame& f) {
  std::uint64_t a = 0;
  std::memcpy(&a, f.payload.data(), 8);
  return a;
}

}  // namespace

TEST_CASE("pages on a second road arrive among the channel's frames in the order sent") {
  for (std::uint32_t slots : {0u, 1u, 2u, 4u, 16u}) {
    CAPTURE(slots);
    Roads r = make_roads(slots);
    PageSink sink(*r.tx, r.tx_road.get());
    // 300 runs of pages of every size (up to the 128 KiB a run may have),
    // a zero range after every 7th, the end last.
    constexpr int kRuns = 300;
    std::thread sender([&] {
      for (int i = 0; i < kRuns; ++i) {
        const std::uint64_t addr = 0x10000000ull + static_cast<std::uint64_t>(i) * kPageChunk;
        const std::size_t len = 4096 * (1 + (i * 13) % 32);
        REQUIRE(sink.pages(addr, pattern(addr, len)));
        if (i % 7 == 0) {
          std::uint64_t z[2] = {addr, 4096};
          REQUIRE(sink.send_parts(MsgType::kMigrateZero,
                                  {std::string_view(reinterpret_cast<char*>(z), sizeof z)}));
        }
      }
      REQUIRE(sink.send(MsgType::kMigrateEnd, wire::MigrateEnd{}));
    });
    int runs = 0, zeros = 0;
    bool ended = false;
    while (!ended) {
      auto f = r.rx->receive(std::chrono::seconds(10));
      REQUIRE_MESSAGE(f, (f ? "" : f.error()));
      if (f->type == common::to_wire(MsgType::kMigrateEnd)) {
        ended = true;
      } else if (f->type == common::to_wire(MsgType::kMigrateZero)) {
        // Right after the run it zeroes, never before it.
        CHECK(runs == zeros * 7 + 1);
        ++zeros;
      } else {
        REQUIRE(f->type == common::to_wire(MsgType::kMigratePages));
        const std::uint64_t want = 0x10000000ull + static_cast<std::uint64_t>(runs) * kPageChunk;
        CHECK(addr_of(*f) == want);
        CHECK(f->payload.substr(8) == pattern(want, 4096 * (1 + (runs * 13) % 32)));
        ++runs;
      }
    }
    sender.join();
    CHECK(runs == kRuns);
    CHECK(zeros == (kRuns + 6) / 7);
  }
}

TEST_CASE("nothing waiting reads as need-more, then an announced chunk comes before the end") {
  Roads r = make_roads(4);
  PageSink sink(*r.tx, r.tx_road.get());
  common::Frame f;
  CHECK(r.rx->buffered(f) == common::FrameStatus::kNeedMore);
  REQUIRE(sink.pages(0x5000, pattern(0x5000, 4096)));
  REQUIRE(sink.send(MsgType::kMigrateEnd, wire::MigrateEnd{}));
  auto first = r.rx->receive(std::chrono::seconds(5));
  REQUIRE(first);
  CHECK(first->type == common::to_wire(MsgType::kMigratePages));
  CHECK(addr_of(*first) == 0x5000);
  auto end = r.rx->receive(std::chrono::seconds(5));
  REQUIRE(end);
  CHECK(end->type == common::to_wire(MsgType::kMigrateEnd));
}

TEST_CASE("an announcement without an agreed road, or a malformed one, is an error") {
  Roads r = make_roads(0);
  const std::uint32_t one = 1;
  REQUIRE(r.tx->send_parts(MsgType::kMigrateBulk,
                           {std::string_view(reinterpret_cast<const char*>(&one), 4)}));
  auto f = r.rx->receive(std::chrono::seconds(5));
  REQUIRE_FALSE(f);
  CHECK(f.error().find("not agreed") != std::string::npos);

  Roads s = make_roads(4);
  REQUIRE(s.tx->send_parts(MsgType::kMigrateBulk, {std::string_view("xy")}));
  auto g = s.rx->receive(std::chrono::seconds(5));
  REQUIRE_FALSE(g);
  CHECK(g.error().find("malformed") != std::string::npos);
}

TEST_CASE("a chunk announced but never written ends the wait with an error") {
  Roads r = make_roads(4);
  const std::uint32_t one = 1;
  REQUIRE(r.tx->send_parts(MsgType::kMigrateBulk,
                           {std::string_view(reinterpret_cast<const char*>(&one), 4)}));
  auto f = r.rx->receive(std::chrono::milliseconds(200));
  REQUIRE_FALSE(f);
  CHECK(f.error().find("socket page road") != std::string::npos);
  // The road's peer gone: the same, at once.
  Roads s = make_roads(4);
  REQUIRE(s.tx->send_parts(MsgType::kMigrateBulk,
                           {std::string_view(reinterpret_cast<const char*>(&one), 4)}));
  s.tx_road.reset();
  auto g = s.rx->receive(std::chrono::seconds(5));
  REQUIRE_FALSE(g);
}

TEST_CASE("a socket road rejects chunks out of ring order and lengths that lie") {
  auto road = socket_pair();
  auto raw = std::make_unique<common::FramedChannel>(std::move(road.a));
  auto rx = make_socket_road(std::make_unique<common::FramedChannel>(std::move(road.b)), 4);
  REQUIRE(rx);
  auto chunk = [&](std::uint32_t slot, std::uint32_t claimed, std::size_t real) {
    auto imm = encode_chunk_imm({slot, claimed, false}, 4);
    REQUIRE(imm);
    const std::uint32_t v = *imm;
    const std::uint64_t addr = 0x7000;
    const std::string bytes(real, 'p');
    REQUIRE(raw->send_parts(MsgType::kMigratePages,
                            {std::string_view(reinterpret_cast<const char*>(&v), 4),
                             std::string_view(reinterpret_cast<const char*>(&addr), 8), bytes}));
  };
  chunk(1, 4096, 4096);  // slot 0 comes first
  auto a = rx->receive_chunk(std::chrono::seconds(5));
  REQUIRE_FALSE(a);
  chunk(0, 4096, 100);  // length of the immediate is not what came
  auto b = rx->receive_chunk(std::chrono::seconds(5));
  REQUIRE_FALSE(b);
  chunk(0, 4096, 4096);
  auto c = rx->receive_chunk(std::chrono::seconds(5));
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  CHECK(c->addr == 0x7000);
  CHECK(c->bytes.size() == 4096);
}
