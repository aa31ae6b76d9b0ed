// Unit tests for common/Frame.h: the header layout, the parser's split
// between "need more bytes" and "malformed", and FrameReader over a stream cut
// at every possible place.

#include "common/Frame.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mos::common {
// Found by argument-dependent lookup, so failed checks print "bad magic"
// rather than 2. Internal linkage: other test files may want their own.
static doctest::String toString(FrameStatus s) {
  const std::string_view name = frame_status_name(s);
  return doctest::String(name.data(), static_cast<doctest::String::size_type>(name.size()));
}
}  // namespace mos::common

namespace {

using mos::common::encode_frame;
using mos::common::encode_frame_header;
using mos::common::Frame;
using mos::common::FrameHeader;
using mos::common::FrameReader;
using mos::common::FrameStatus;
using mos::common::kFrameHeaderSize;
using mos::common::kMaxFramePayload;
using mos::common::kWireVersion;
using mos::common::parse_frame_header;

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t kNoLimit = std::numeric_limits<std::uint32_t>::max();

Bytes header(std::uint16_t type, std::uint32_t length, std::uint8_t version = kWireVersion) {
  Bytes out(kFrameHeaderSize);
  encode_frame_header({version, type, length}, out.data());
  return out;
}

std::span<const std::uint8_t> first(const Bytes& b, std::size_t n) {
  return {b.data(), n};
}

// Deterministic bytes that are not all alike, so a payload copied from the
// wrong offset cannot go unnoticed.
std::string noise(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng());
  }
  return s;
}

// Takes every frame the reader can give now; returns the status that stopped it.
FrameStatus drain(FrameReader& r, std::vector<Frame>& out) {
  for (;;) {
    Frame f;
    const FrameStatus st = r.next(f);
    if (st != FrameStatus::kOk) {
      return st;
    }
    out.push_back(std::move(f));
  }
}

bool same_frames(const std::vector<Frame>& a, const std::vector<Frame>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Frame& x, const Frame& y) {
    return x.type == y.type && x.payload == y.payload;
  });
}

struct Stream {
  Bytes bytes;
  std::vector<Frame> frames;
  std::vector<std::size_t> ends;  // offset just past each frame
};

Stream make_stream(std::vector<Frame> frames) {
  Stream s;
  for (const Frame& f : frames) {
    const Bytes b = encode_frame(f.type, f.payload);
    s.bytes.insert(s.bytes.end(), b.begin(), b.end());
    s.ends.push_back(s.bytes.size());
  }
  s.frames = std::move(frames);
  return s;
}

// A few frames whose payloads include bytes that look like headers: the
// reader must never look for a header anywhere but at a frame boundary.
Stream sample_stream() {
  const Bytes inner = encode_frame(9, "nested");
  return make_stream({
      {1, ""},
      {0x0102, "x"},
      {0xFFFF, std::string(inner.begin(), inner.end())},
      {7, noise(300, 7)},
      {3, std::string("MX\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12)},
      {0x8000, ""},
  });
}

TEST_CASE("the header is laid out exactly as Frame.h documents") {
  const Bytes h = header(0x0102, 0x00A0B0C0);
  const Bytes want{0x4D, 0x58, kWireVersion, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0xA0, 0xB0, 0xC0};
  CHECK(h == want);

  FrameHeader out;
  REQUIRE(parse_frame_header(h, out, kNoLimit) == FrameStatus::kOk);
  CHECK(out.version == kWireVersion);
  CHECK(out.type == 0x0102);
  CHECK(out.length == 0x00A0B0C0);

  const Bytes f = encode_frame(0xABCD, "hi");
  CHECK(f == Bytes{0x4D, 0x58, kWireVersion, 0, 0xAB, 0xCD, 0, 0, 0, 0, 0, 2, 'h', 'i'});
}

TEST_CASE("every status has a distinct, non-empty name") {
  const FrameStatus all[] = {FrameStatus::kOk,          FrameStatus::kNeedMore,
                             FrameStatus::kBadMagic,    FrameStatus::kBadVersion,
                             FrameStatus::kBadReserved, FrameStatus::kBadType,
                             FrameStatus::kOversized};
  std::vector<std::string_view> names;
  for (FrameStatus s : all) {
    CHECK_FALSE(frame_status_name(s).empty());
    names.push_back(frame_status_name(s));
  }
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}

TEST_CASE("encode then parse round-trips types and payload sizes") {
  const std::uint16_t types[] = {1, 2, 0x00FF, 0x0100, 0x1234, 0xFFFF};
  const std::size_t sizes[] = {0, 1, 2, 11, 12, 13, 4096, 127 * 1024};
  for (std::uint16_t type : types) {
    for (std::size_t size : sizes) {
      CAPTURE(type);
      CAPTURE(size);
      const std::string payload = noise(size, type);
      const Bytes wire = encode_frame(type, payload);
      REQUIRE(wire.size() == kFrameHeaderSize + size);

      FrameHeader h;
      REQUIRE(parse_frame_header(wire, h) == FrameStatus::kOk);
      CHECK(h.type == type);
      CHECK(h.length == size);
      CHECK(std::equal(payload.begin(), payload.end(), wire.begin() + kFrameHeaderSize,
                       [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }));

      FrameReader r;
      r.feed(wire);
      CHECK(r.buffered() == wire.size());
      Frame f;
      REQUIRE(r.next(f) == FrameStatus::kOk);
      CHECK(f.type == type);
      CHECK(f.payload == payload);
      CHECK(r.buffered() == 0);
      CHECK(r.next(f) == FrameStatus::kNeedMore);
    }
  }
}

TEST_CASE("a payload of exactly kMaxFramePayload is accepted, one byte more is refused") {
  SUBCASE("exactly the maximum, fed in 64 KiB reads") {
    const std::string payload = noise(kMaxFramePayload, 16);
    const Bytes wire = encode_frame(5, payload);
    FrameHeader h;
    REQUIRE(parse_frame_header(wire, h) == FrameStatus::kOk);
    CHECK(h.length == kMaxFramePayload);

    FrameReader r;
    const std::size_t chunk = 64 * 1024;
    Frame f;
    for (std::size_t off = 0; off < wire.size(); off += chunk) {
      const std::size_t n = std::min(chunk, wire.size() - off);
      r.feed(std::span<const std::uint8_t>(wire).subspan(off, n));
      if (off + n < wire.size()) {
        REQUIRE(r.next(f) == FrameStatus::kNeedMore);
      }
    }
    REQUIRE(r.next(f) == FrameStatus::kOk);
    CHECK(f.type == 5);
    CHECK(f.payload == payload);
    CHECK(r.buffered() == 0);
  }

  SUBCASE("one byte over is refused at the header, before any payload arrives") {
    FrameHeader h;
    CHECK(parse_frame_header(header(5, kMaxFramePayload + 1), h) == FrameStatus::kOversized);
    CHECK(parse_frame_header(header(5, kNoLimit), h) == FrameStatus::kOversized);
    // A larger per-call limit cannot lift the global one.
    CHECK(parse_frame_header(header(5, kMaxFramePayload + 1), h, kNoLimit) ==
          FrameStatus::kOversized);

    const Bytes wire = encode_frame(5, std::string(kMaxFramePayload + 1, 'z'));
    FrameReader r(kNoLimit);
    r.feed(first(wire, kFrameHeaderSize));
    Frame f;
    CHECK(r.next(f) == FrameStatus::kOversized);

    FrameReader whole;
    whole.feed(wire);
    CHECK(whole.next(f) == FrameStatus::kOversized);
  }
}

TEST_CASE("a reader's own smaller max_payload is enforced") {
  for (std::uint32_t limit : {0u, 1u, 100u, 4096u}) {
    CAPTURE(limit);
    FrameHeader h;
    CHECK(parse_frame_header(header(2, limit), h, limit) == FrameStatus::kOk);
    CHECK(parse_frame_header(header(2, limit + 1), h, limit) == FrameStatus::kOversized);
    CHECK(parse_frame_header(header(2, limit + 1), h) == FrameStatus::kOk);

    FrameReader r(limit);
    const std::string at_limit = noise(limit, limit);
    r.feed(encode_frame(2, at_limit));
    Frame f;
    REQUIRE(r.next(f) == FrameStatus::kOk);
    CHECK(f.payload == at_limit);
    r.feed(encode_frame(2, noise(limit + 1, limit)));
    CHECK(r.next(f) == FrameStatus::kOversized);
  }
}

TEST_CASE("a stream cut anywhere yields the same frames") {
  const Stream s = sample_stream();
  const std::span<const std::uint8_t> all(s.bytes);

  SUBCASE("concatenated frames in one feed") {
    FrameReader r;
    r.feed(all);
    std::vector<Frame> got;
    CHECK(drain(r, got) == FrameStatus::kNeedMore);
    CHECK(same_frames(got, s.frames));
    CHECK(r.buffered() == 0);
  }

  SUBCASE("two pieces, split at every byte boundary") {
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
      CAPTURE(cut);
      FrameReader r;
      std::vector<Frame> got;
      r.feed(all.first(cut));
      REQUIRE(drain(r, got) == FrameStatus::kNeedMore);
      // Exactly the frames wholly inside the first piece, no more.
      const auto whole = std::upper_bound(s.ends.begin(), s.ends.end(), cut) - s.ends.begin();
      CHECK(got.size() == static_cast<std::size_t>(whole));
      CHECK(r.buffered() == cut - (whole == 0 ? 0 : s.ends[whole - 1]));
      r.feed(all.subspan(cut));
      REQUIRE(drain(r, got) == FrameStatus::kNeedMore);
      CHECK(same_frames(got, s.frames));
      CHECK(r.buffered() == 0);
    }
  }

  SUBCASE("byte by byte, each frame appearing with its last byte") {
    FrameReader r;
    std::vector<Frame> got;
    std::size_t next_end = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      CAPTURE(i);
      r.feed(all.subspan(i, 1));
      const std::size_t before = got.size();
      REQUIRE(drain(r, got) == FrameStatus::kNeedMore);
      if (i + 1 == s.ends[next_end]) {
        REQUIRE(got.size() == before + 1);
        ++next_end;
      } else {
        REQUIRE(got.size() == before);
      }
    }
    CHECK(same_frames(got, s.frames));
    CHECK(r.buffered() == 0);
  }

  SUBCASE("three pieces, every pair of cuts") {
    for (std::size_t a = 0; a <= all.size(); ++a) {
      for (std::size_t b = a; b <= all.size(); ++b) {
        FrameReader r;
        std::vector<Frame> got;
        r.feed(all.first(a));
        drain(r, got);
        r.feed(all.subspan(a, b - a));
        drain(r, got);
        r.feed(all.subspan(b));
        const FrameStatus st = drain(r, got);
        if (st != FrameStatus::kNeedMore || !same_frames(got, s.frames) || r.buffered() != 0) {
          CAPTURE(a);
          CAPTURE(b);
          FAIL("frames differ when cut in three");
        }
      }
    }
  }
}

TEST_CASE("a truncated frame is need-more forever, never a frame") {
  for (std::size_t size : {0u, 1u, 300u}) {
    const Bytes wire = encode_frame(4, noise(size, 4));
    for (std::size_t n = 0; n < wire.size(); ++n) {
      CAPTURE(size);
      CAPTURE(n);
      if (n < kFrameHeaderSize) {
        FrameHeader h;
        CHECK(parse_frame_header(first(wire, n), h) == FrameStatus::kNeedMore);
      }
      FrameReader r;
      r.feed(first(wire, n));
      Frame f;
      for (int i = 0; i < 3; ++i) {
        REQUIRE(r.next(f) == FrameStatus::kNeedMore);
      }
      CHECK(r.buffered() == n);
      r.feed(std::span<const std::uint8_t>(wire).subspan(n));
      REQUIRE(r.next(f) == FrameStatus::kOk);
      CHECK(f.payload.size() == size);
    }
  }
}

struct Malformed {
  const char* what;
  std::function<void(Bytes&)> spoil;
  FrameStatus want;
  std::size_t decided_at;  // the fewest bytes that already prove it malformed
  std::uint32_t limit = kMaxFramePayload;
};

void set_length(Bytes& b, std::uint32_t len) {
  b[8] = static_cast<std::uint8_t>(len >> 24);
  b[9] = static_cast<std::uint8_t>(len >> 16);
  b[10] = static_cast<std::uint8_t>(len >> 8);
  b[11] = static_cast<std::uint8_t>(len);
}

std::vector<Malformed> malformed_headers() {
  using S = FrameStatus;
  std::vector<Malformed> v = {
      {"first magic byte zero", [](Bytes& b) { b[0] = 0; }, S::kBadMagic, 1},
      {"HTTP on the wire", [](Bytes& b) { b[0] = 'G'; }, S::kBadMagic, 1},
      {"magic swapped",
       [](Bytes& b) {
         b[0] = 0x58;
         b[1] = 0x4D;
       },
       S::kBadMagic, 1},
      {"second magic byte wrong", [](Bytes& b) { b[1] = 0x59; }, S::kBadMagic, 2},
      {"version 0", [](Bytes& b) { b[2] = 0; }, S::kBadVersion, 3},
      {"version 2", [](Bytes& b) { b[2] = kWireVersion + 1; }, S::kBadVersion, 3},
      {"version 255", [](Bytes& b) { b[2] = 0xFF; }, S::kBadVersion, 3},
      {"type 0",
       [](Bytes& b) {
         b[4] = 0;
         b[5] = 0;
       },
       S::kBadType, 6},
      // Type is checked before the reserved bytes that follow it.
      {"type 0 and reserved set",
       [](Bytes& b) {
         b[4] = 0;
         b[5] = 0;
         b[6] = 1;
       },
       S::kBadType, 6},
      {"length all ones", [](Bytes& b) { set_length(b, 0xFFFFFFFF); }, S::kOversized, 9},
      {"length twice the maximum", [](Bytes& b) { set_length(b, 2 * kMaxFramePayload); },
       S::kOversized, 9},
      {"length maximum + 1", [](Bytes& b) { set_length(b, kMaxFramePayload + 1); }, S::kOversized,
       12},
      {"length 101 over a limit of 100", [](Bytes& b) { set_length(b, 101); }, S::kOversized, 12,
       100},
      {"length 256 over a limit of 100", [](Bytes& b) { set_length(b, 256); }, S::kOversized, 11,
       100},
      {"length 64 KiB over a limit of 100", [](Bytes& b) { set_length(b, 1 << 16); }, S::kOversized,
       10, 100},
  };
  for (int bit = 0; bit < 8; ++bit) {
    const auto mask = static_cast<std::uint8_t>(1u << bit);
    v.push_back({"flag bit set", [mask](Bytes& b) { b[3] = mask; }, S::kBadReserved, 4});
    v.push_back({"reserved byte 6 bit set", [mask](Bytes& b) { b[6] = mask; }, S::kBadReserved, 7});
    v.push_back({"reserved byte 7 bit set", [mask](Bytes& b) { b[7] = mask; }, S::kBadReserved, 8});
  }
  return v;
}

TEST_CASE("a malformed header is refused as soon as the byte that proves it arrives") {
  for (const Malformed& m : malformed_headers()) {
    Bytes wire = encode_frame(0x0203, "hello");
    m.spoil(wire);
    const std::string what = m.what;
    CAPTURE(what);
    CAPTURE(m.limit);

    for (std::size_t n = 0; n <= wire.size(); ++n) {
      CAPTURE(n);
      FrameHeader h;
      const FrameStatus want = n < m.decided_at ? FrameStatus::kNeedMore : m.want;
      CHECK(parse_frame_header(first(wire, n), h, m.limit) == want);
    }

    FrameReader r(m.limit);
    Frame f;
    for (std::size_t i = 0; i < wire.size(); ++i) {
      CAPTURE(i);
      r.feed(std::span<const std::uint8_t>(wire).subspan(i, 1));
      REQUIRE(r.next(f) == (i + 1 < m.decided_at ? FrameStatus::kNeedMore : m.want));
    }
  }
}

TEST_CASE("an HTTP request is refused on its first byte") {
  const std::string_view req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  FrameReader r;
  r.feed({reinterpret_cast<const std::uint8_t*>(req.data()), 1});
  Frame f;
  CHECK(r.next(f) == FrameStatus::kBadMagic);
}

TEST_CASE("after an error the reader stays poisoned") {
  for (const Malformed& m : malformed_headers()) {
    const std::string what = m.what;
    CAPTURE(what);
    Bytes bad = encode_frame(0x0203, "hello");
    m.spoil(bad);
    const Stream good = make_stream({{1, "a"}, {2, "bb"}});

    FrameReader r(m.limit);
    r.feed(good.bytes);
    r.feed(bad);
    r.feed(encode_frame(3, "after"));
    std::vector<Frame> got;
    CHECK(drain(r, got) == m.want);
    CHECK(same_frames(got, good.frames));

    const std::size_t left = r.buffered();
    Frame f;
    for (int i = 0; i < 3; ++i) {
      CHECK(r.next(f) == m.want);
    }
    // A valid frame afterwards cannot resynchronise the stream.
    r.feed(encode_frame(4, "valid"));
    CHECK(r.next(f) == m.want);
    CHECK(r.buffered() == left);
  }
}

// One reader fed `in` in random pieces and drained after each; checks every
// invariant of the reader against a reader fed `in` at once. Returns a
// description of the first broken invariant, or "" if none.
std::string check_reader(const Bytes& in, std::uint32_t limit, std::mt19937_64& rng) {
  const std::uint64_t cap = std::min<std::uint64_t>(limit, kMaxFramePayload);
  FrameReader oneshot(limit);
  oneshot.feed(in);
  std::vector<Frame> want;
  const FrameStatus want_st = drain(oneshot, want);

  FrameReader r(limit);
  std::vector<Frame> got;
  FrameStatus st = FrameStatus::kNeedMore;
  std::size_t fed = 0;
  std::size_t consumed = 0;
  do {
    const std::size_t n = std::min<std::size_t>(in.size() - fed, rng() % 24);
    r.feed(std::span<const std::uint8_t>(in).subspan(fed, n));
    fed += n;
    for (;;) {
      Frame f;
      const FrameStatus s = r.next(f);
      if (s == FrameStatus::kOk) {
        if (st != FrameStatus::kNeedMore) {
          return "a frame after an error";
        }
        if (f.type == 0 || f.payload.size() > cap) {
          return "ok frame breaks the header rules";
        }
        if (consumed + kFrameHeaderSize + f.payload.size() > fed ||
            !std::equal(f.payload.begin(), f.payload.end(),
                        in.begin() + static_cast<std::ptrdiff_t>(consumed + kFrameHeaderSize),
                        [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
          return "payload is not the bytes after its header";
        }
        consumed += kFrameHeaderSize + f.payload.size();
        got.push_back(std::move(f));
        continue;
      }
      if (st != FrameStatus::kNeedMore && s != st) {
        return "an error did not stick";
      }
      st = s;
      break;
    }
    if (st == FrameStatus::kNeedMore && r.buffered() != fed - consumed) {
      return "buffered() does not account for the bytes fed";
    }
  } while (fed < in.size());
  if (st != want_st || !same_frames(got, want)) {
    return "result depends on how the stream was cut";
  }
  return "";
}

TEST_CASE("random garbage never crashes and never yields an oversized frame") {
  std::mt19937_64 rng(0x6d6f7378);  // fixed: a failure must reproduce
  const std::uint32_t limits[] = {0, 1, 16, 100, kMaxFramePayload, kNoLimit};
  for (int iter = 0; iter < 6000; ++iter) {
    Bytes in;
    switch (iter % 3) {
      case 0: {  // pure noise
        in.resize(rng() % 64);
        for (auto& b : in) {
          b = static_cast<std::uint8_t>(rng());
        }
        break;
      }
      case 1: {  // valid frames with a few bytes flipped, to get past the magic
        const int frames = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < frames; ++i) {
          const auto type = static_cast<std::uint16_t>(1 + rng() % 4);
          const Bytes f = encode_frame(type, noise(rng() % 40, static_cast<std::uint32_t>(rng())));
          in.insert(in.end(), f.begin(), f.end());
        }
        for (int flips = static_cast<int>(rng() % 4); flips > 0; --flips) {
          in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
        break;
      }
      default: {  // a valid-looking start followed by noise
        in = {0x4D, 0x58, kWireVersion, 0};
        in.resize(4 + rng() % 60);
        for (std::size_t i = 4; i < in.size(); ++i) {
          in[i] = static_cast<std::uint8_t>(rng() % 3 == 0 ? 0 : rng());
        }
        break;
      }
    }
    const std::uint32_t limit = limits[rng() % std::size(limits)];
    CAPTURE(iter);
    CAPTURE(limit);

    FrameHeader h;
    const FrameStatus st = parse_frame_header(in, h, limit);
    if (st == FrameStatus::kOk) {
      REQUIRE(h.length <= std::min(limit, kMaxFramePayload));
      Bytes again(kFrameHeaderSize);
      encode_frame_header(h, again.data());
      REQUIRE(std::equal(again.begin(), again.end(), in.begin()));
    }
    const std::string broken = check_reader(in, limit, rng);
    if (!broken.empty()) {
      FAIL(broken);
    }
  }
}

}  // namespace
