// The RDMA page stream's parts that need no device: the choice of transport
// on a machine without one, the credits of the slot ring, the immediate and
// the rendezvous record. The verbs stream itself is only seen failing to
// open (no device here, or a build without rdma-core).

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "remote/detail/RdmaTransport.h"

using namespace mos::remote::detail;

namespace {

// Sets an environment variable for one scope, and puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Whether the kernel shows any RDMA device (what libibverbs lists).
bool kernel_has_rdma_device() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/sys/class/infiniband", ec);
  return !ec && it != std::filesystem::directory_iterator();
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Rendezvous sample() {
  Rendezvous r;
  r.qp_num = 0x123456;
  r.psn = 0xabcdef;
  r.lid = 0x1234;
  for (std::size_t i = 0; i < r.gid.size(); ++i) {
    r.gid[i] = static_cast<std::uint8_t>(0xf0 + i);
  }
  r.mtu = 5;
  r.addr = 0x00007f0012345000ull;
  r.rkey = 0xdeadbeef;
  r.slots = 16;
  r.slot_size = kPageChunk;
  return r;
}

}  // namespace

TEST_CASE("rdma choice without a device falls back to TCP with a reason") {
  ScopedEnv env("MOSIX_RDMA", "auto");
  const RdmaChoice c = choose_page_transport();
  if (c.use_rdma) {
    CHECK_FALSE(c.device.empty());
    CHECK(c.port >= 1);
  } else {
    CHECK(c.device.empty());
    CHECK(c.port == 0);
  }
  CHECK_FALSE(c.reason.empty());
  if (!kernel_has_rdma_device()) {
    CHECK_FALSE(c.use_rdma);
    if (rdma_built()) {
      CHECK(contains(c.reason, "no RDMA device"));
    } else {
      CHECK(c.reason == "built without rdma-core");
    }
  }
}

TEST_CASE("rdma choice honours MOSIX_RDMA off and rejects unknown values") {
  {
    ScopedEnv env("MOSIX_RDMA", "off");
    const RdmaChoice c = choose_page_transport();
    CHECK_FALSE(c.use_rdma);
    CHECK(contains(c.reason, "MOSIX_RDMA=off"));
  }
  {
    ScopedEnv env("MOSIX_RDMA", "OFF");
    CHECK_FALSE(choose_page_transport().use_rdma);
  }
  {
    ScopedEnv env("MOSIX_RDMA", "fast-please");
    const RdmaChoice c = choose_page_transport();
    CHECK_FALSE(c.use_rdma);
    CHECK(contains(c.reason, "MOSIX_RDMA=fast-please"));
  }
}

TEST_CASE("rdma immediate round trips chunks and the end marker") {
  for (std::uint32_t slots : {1u, 2u, 16u, kRdmaMaxSlots}) {
    for (std::uint32_t slot : {0u, slots / 2, slots - 1}) {
      for (std::uint32_t length : {1u, 4096u, 12345u, static_cast<std::uint32_t>(kPageChunk)}) {
        auto imm = encode_chunk_imm({.slot = slot, .length = length, .end = false}, slots);
        REQUIRE(imm);
        auto c = decode_chunk_imm(*imm, slots);
        REQUIRE(c);
        CHECK(c->slot == slot);
        CHECK(c->length == length);
        CHECK_FALSE(c->end);
      }
      auto end = encode_chunk_imm({.slot = slot, .length = 0, .end = true}, slots);
      REQUIRE(end);
      CHECK((*end & 0x80000000u) != 0);
      auto c = decode_chunk_imm(*end, slots);
      REQUIRE(c);
      CHECK(c->end);
      CHECK(c->slot == slot);
      CHECK(c->length == 0);
    }
  }
  // The documented layout: length in bits 0..17, slot in bits 18..27.
  auto imm = encode_chunk_imm({.slot = 3, .length = 0x100, .end = false}, 16);
  REQUIRE(imm);
  CHECK(*imm == (3u << 18 | 0x100u));
}

TEST_CASE("rdma immediate rejects bad slots, lengths and reserved bits") {
  using C = ChunkImm;
  CHECK_FALSE(encode_chunk_imm(C{.slot = 16, .length = 1, .end = false}, 16));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = 0, .end = false}, 16));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = kPageChunk + 1, .end = false}, 16));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = 8, .end = true}, 16));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = 1, .end = false}, 0));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = 1, .end = false}, kRdmaMaxSlots + 1));
  // A smaller slot size bounds the length too.
  CHECK(encode_chunk_imm(C{.slot = 0, .length = 4096, .end = false}, 4, 4096));
  CHECK_FALSE(encode_chunk_imm(C{.slot = 0, .length = 4097, .end = false}, 4, 4096));

  auto err = decode_chunk_imm(5u << 18 | 10u, 4);  // slot 5 of 4
  REQUIRE_FALSE(err);
  CHECK(contains(err.error(), "slot 5"));
  CHECK_FALSE(decode_chunk_imm(0u, 16));                                          // empty chunk
  CHECK_FALSE(decode_chunk_imm(static_cast<std::uint32_t>(kPageChunk) + 1, 16));  // too long
  CHECK_FALSE(decode_chunk_imm(0x80000000u | 7u, 16));                            // end with bytes
  for (std::uint32_t bit : {28u, 29u, 30u}) {
    auto r = decode_chunk_imm(1u << bit | 1u, 16);
    REQUIRE_FALSE(r);
    CHECK(contains(r.error(), "reserved"));
  }
  CHECK_FALSE(decode_chunk_imm(0xffffffffu, kRdmaMaxSlots));
}

TEST_CASE("rdma chunk ring counts credits in ring order") {
  CHECK_FALSE(ChunkRing::make(0));
  CHECK_FALSE(ChunkRing::make(kRdmaMaxSlots + 1));
  CHECK_FALSE(ChunkRing::make(4, 0));
  CHECK_FALSE(ChunkRing::make(4, 1u << 20));  // over the immediate's 18 bits
  CHECK(ChunkRing::make(kRdmaMaxSlots));

  auto ring = ChunkRing::make(3);
  REQUIRE(ring);
  CHECK(ring->slots() == 3);
  CHECK(ring->slot_size() == kPageChunk);
  CHECK(ring->credits() == 3);
  CHECK(ring->acquire() == 0u);
  CHECK(ring->acquire() == 1u);
  CHECK(ring->acquire() == 2u);
  CHECK(ring->credits() == 0);
  CHECK(ring->in_flight() == 3);
  CHECK_FALSE(ring->next());
  CHECK_FALSE(ring->acquire());  // no credit: nothing taken
  CHECK(ring->in_flight() == 3);

  CHECK_FALSE(ring->release(1));  // not the oldest
  CHECK_FALSE(ring->release(3));  // out of range
  REQUIRE(ring->release(0));
  CHECK(ring->credits() == 1);
  CHECK(ring->next() == 0u);  // the ring wraps
  auto twice = ring->release(0);
  REQUIRE_FALSE(twice);
  CHECK(contains(twice.error(), "not in flight"));
  CHECK(ring->credits() == 1);  // a refused release changes nothing

  // Many laps: acquire and release stay in step.
  for (int i = 0; i < 1000; ++i) {
    auto s = ring->acquire();
    REQUIRE(s);
    CHECK(*s == static_cast<std::uint32_t>(i % 3));
    REQUIRE(ring->release((*s + 1) % 3));
  }
  // 999 % 3 == 0 went last: slots 2 and 0 are in flight, 2 the older.
  CHECK(ring->in_flight() == 2);
  CHECK_FALSE(ring->release(0));
  REQUIRE(ring->release(2));
  REQUIRE(ring->release(0));
  CHECK(ring->in_flight() == 0);
  auto over = ring->release(0);
  REQUIRE_FALSE(over);
  CHECK(contains(over.error(), "nothing in flight"));
}

TEST_CASE("rdma chunk ring at the receiver accepts chunks only where they belong") {
  auto ring = ChunkRing::make(2);
  REQUIRE(ring);
  CHECK_FALSE(ring->accept(1));  // skipped slot 0
  CHECK_FALSE(ring->accept(2));  // out of range
  REQUIRE(ring->accept(0));
  REQUIRE(ring->accept(1));
  auto overrun = ring->accept(0);  // every slot full
  REQUIRE_FALSE(overrun);
  CHECK(contains(overrun.error(), "overran"));
  REQUIRE(ring->release(0));
  REQUIRE(ring->accept(0));
  CHECK_FALSE(ring->release(0));  // slot 1 is older
  REQUIRE(ring->release(1));
  REQUIRE(ring->release(0));
  CHECK_FALSE(ring->release(0));
}

TEST_CASE("rdma rendezvous round trips in a fixed little-endian layout") {
  const Rendezvous r = sample();
  const std::string b = encode_rendezvous(r);
  REQUIRE(b.size() == kRendezvousSize);
  CHECK(b.substr(0, 4) == "MRDV");
  CHECK(static_cast<unsigned char>(b[4]) == kRendezvousVersion);
  CHECK(static_cast<unsigned char>(b[8]) == 0x56);   // QP number, low byte first
  CHECK(static_cast<unsigned char>(b[44]) == 0xef);  // rkey, low byte first
  auto back = decode_rendezvous(b);
  REQUIRE(back);
  CHECK(*back == r);

  Rendezvous sender = sample();  // a sender's record has no ring
  sender.addr = 0;
  sender.rkey = 0;
  sender.lid = 0;
  auto s = decode_rendezvous(encode_rendezvous(sender));
  REQUIRE(s);
  CHECK(*s == sender);
}

TEST_CASE("rdma rendezvous rejects truncated, garbage and out-of-range records") {
  const std::string good = encode_rendezvous(sample());
  auto rejects = [](std::string b, std::string_view why) {
    auto r = decode_rendezvous(b);
    REQUIRE_FALSE(r);
    CHECK(contains(r.error(), why));
  };
  for (std::size_t n = 0; n < good.size(); ++n) {
    rejects(good.substr(0, n), "bytes");
  }
  rejects(good + '\0', "bytes");
  rejects(std::string(kRendezvousSize, '\0'), "magic");
  rejects(std::string(kRendezvousSize, '\xa5'), "magic");
  auto with = [&](std::size_t at, char v) {
    std::string b = good;
    b[at] = v;
    return b;
  };
  rejects(with(0, 'm'), "magic");
  rejects(with(4, 2), "version");
  rejects(with(6, 0), "MTU");
  rejects(with(6, 6), "MTU");
  rejects(with(7, 1), "reserved");
  rejects(with(19, 1), "reserved");
  rejects(with(11, 1), "24 bits");  // QP number
  rejects(with(15, 1), "24 bits");  // PSN

  Rendezvous r = sample();
  r.slots = 0;
  rejects(encode_rendezvous(r), "slots");
  r.slots = kRdmaMaxSlots + 1;
  rejects(encode_rendezvous(r), "slots");
  r.slots = kRdmaMaxSlots;
  CHECK(decode_rendezvous(encode_rendezvous(r)));
  r.slot_size = kPageChunk / 2;
  rejects(encode_rendezvous(r), "bytes, expected");
  r.slot_size = kPageChunk + kRdmaSlotHeader;  // the stride is not the slot size
  rejects(encode_rendezvous(r), "bytes, expected");
}

TEST_CASE("rdma page stream cannot open without a device") {
  auto s = RdmaPageStream::open(RdmaRole::kReceiver, "mlx5_0", 1);
  if (!rdma_built()) {
    REQUIRE_FALSE(s);
    CHECK(s.error() == "built without rdma-core");
  } else if (!kernel_has_rdma_device()) {
    REQUIRE_FALSE(s);
    CHECK_FALSE(s.error().empty());
  }
  auto bad = RdmaPageStream::open(RdmaRole::kSender, "no-such-device", 1, 0);
  REQUIRE_FALSE(bad);
  CHECK_FALSE(bad.error().empty());
}
