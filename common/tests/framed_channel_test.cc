// FramedChannel over a socketpair: bulk frames (send_parts, receive_bulk)
// interleaved with ordinary ones, whatever the ordinary receive had read
// ahead, arrive whole and in order; a peer that hangs up mid-frame or
// sends garbage is an error, never a hang.

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/control.pb.h"

using namespace mos;
using namespace mos::common;
using namespace std::chrono_literals;

TEST_CASE("receive_bulk takes over from receive at any point of the stream") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  FramedChannel tx{UniqueFd(sv[0])};
  FramedChannel rx{UniqueFd(sv[1])};
  auto payload = [](int i) {
    return std::string(static_cast<std::size_t>(1000 + i * 7919 % 200000),
                       static_cast<char>('a' + i % 26));
  };
  std::thread sender([&] {
    wire::StatusRequest first;
    REQUIRE(tx.send(MsgType::kStatusRequest, first));
    for (int i = 0; i < 200; ++i) {
      const std::string p = payload(i);
      REQUIRE(tx.send_parts(MsgType::kMigratePages, {std::string_view("hdr:"), p}));
    }
    REQUIRE(tx.send(MsgType::kMigrateEnd, wire::StatusRequest{}));
  });
  auto f = rx.receive();  // reads ahead into the frames that follow
  REQUIRE(f);
  CHECK(f->type == to_wire(MsgType::kStatusRequest));
  for (int i = 0; i < 200; ++i) {
    auto b = rx.receive_bulk(5s);
    REQUIRE(b);
    CHECK(b->type == to_wire(MsgType::kMigratePages));
    REQUIRE(b->payload == "hdr:" + payload(i));
  }
  auto end = rx.receive_bulk(5s);
  REQUIRE(end);
  CHECK(end->type == to_wire(MsgType::kMigrateEnd));
  sender.join();
}

TEST_CASE("receive_bulk fails on a peer that hangs up mid-frame or sends garbage") {
  for (const std::string& bytes : {std::string("MX\x01\x00\x00\x05\x00\x00\x00\x10\x00\x00"
                                               "abc",
                                               15),
                                   std::string("garbage, not a frame")}) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    FramedChannel rx{UniqueFd(sv[1])};
    REQUIRE(::write(sv[0], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(sv[0]);
    auto f = rx.receive_bulk(2s);
    CHECK_FALSE(f);
  }
}

TEST_CASE("receive_bulk reads small frames of every size exactly") {
  // Sizes around the library's small-string buffer, where a growing
  // string's capacity is not the size asked for.
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  FramedChannel tx{UniqueFd(sv[0])};
  FramedChannel rx{UniqueFd(sv[1])};
  std::thread sender([&] {
    for (std::size_t n = 0; n <= 80; ++n) {
      const std::string p(n, static_cast<char>('A' + n % 26));
      REQUIRE(tx.send_parts(MsgType::kMigrateZero, {p}));
    }
  });
  for (std::size_t n = 0; n <= 80; ++n) {
    auto b = rx.receive_bulk(5s);
    REQUIRE(b);
    CHECK(b->type == to_wire(MsgType::kMigrateZero));
    REQUIRE(b->payload == std::string(n, static_cast<char>('A' + n % 26)));
  }
  sender.join();
}
