// libFuzzer target for the frame parser (common/Frame.h).
//
// Input layout:
//   byte 0   picks the reader's max_payload from kLimits
//   byte 1   seeds the choice of cut points
//   rest     the byte stream, as a peer would send it
//
// The stream goes to one FrameReader in a single feed and to another in
// pieces whose sizes are derived from the seed and the stream bytes; both
// must give the same frames and the same final status, and every invariant
// of Frame.h is checked on the way. A broken invariant aborts, which libFuzzer
// reports as a crash.

#include "common/Frame.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <vector>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "frame_fuzz: invariant broken: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                             \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace {

using mos::common::encode_frame;
using mos::common::encode_frame_header;
using mos::common::Frame;
using mos::common::FrameHeader;
using mos::common::FrameReader;
using mos::common::FrameStatus;
using mos::common::kFrameHeaderSize;
using mos::common::kFrameMagic0;
using mos::common::kFrameMagic1;
using mos::common::kMaxFramePayload;
using mos::common::kWireVersion;
using mos::common::parse_frame_header;

using Bytes = std::span<const std::uint8_t>;

constexpr std::array<std::uint32_t, 8> kLimits = {kMaxFramePayload,
                                                  0,
                                                  1,
                                                  16,
                                                  100,
                                                  4096,
                                                  kMaxFramePayload - 1,
                                                  std::numeric_limits<std::uint32_t>::max()};

bool same(const Frame& a, const Frame& b) {
  return a.type == b.type && a.payload == b.payload;
}

bool payload_is(const Frame& f, Bytes bytes) {
  return f.payload.size() == bytes.size() &&
         std::equal(bytes.begin(), bytes.end(), f.payload.begin(),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
}

// The header parser on every prefix of the stream's first header.
void check_header_prefixes(Bytes stream, std::uint32_t limit) {
  const std::uint64_t cap = std::min<std::uint64_t>(limit, kMaxFramePayload);
  const std::size_t max_n = std::min(stream.size(), kFrameHeaderSize);
  FrameStatus decided = FrameStatus::kNeedMore;
  for (std::size_t n = 0; n <= max_n; ++n) {
    FrameHeader h;
    const FrameStatus st = parse_frame_header(stream.first(n), h, limit);
    // Once a prefix is decided, more bytes never change the verdict.
    if (decided != FrameStatus::kNeedMore) {
      FUZZ_CHECK(st == decided);
      continue;
    }
    decided = st;
    if (st == FrameStatus::kOk) {
      FUZZ_CHECK(n == kFrameHeaderSize);
      FUZZ_CHECK(h.type != 0);
      FUZZ_CHECK(h.version == kWireVersion);
      FUZZ_CHECK(h.length <= cap);
      std::uint8_t again[kFrameHeaderSize];
      encode_frame_header(h, again);
      FUZZ_CHECK(std::equal(again, again + kFrameHeaderSize, stream.begin()));
    } else if (st == FrameStatus::kNeedMore) {
      // kNeedMore only for a valid prefix: its smallest completion parses.
      FUZZ_CHECK(n < kFrameHeaderSize);
      std::uint8_t full[kFrameHeaderSize] = {kFrameMagic0, kFrameMagic1, kWireVersion};
      std::copy(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(n), full);
      if (n <= 5 && full[4] == 0) {
        full[5] = 1;
      }
      FUZZ_CHECK(parse_frame_header(full, h, limit) == FrameStatus::kOk);
    }
  }
}

struct Outcome {
  std::vector<Frame> frames;
  FrameStatus status = FrameStatus::kNeedMore;
  std::size_t consumed = 0;  // header and payload bytes of the frames
};

// Takes every frame the reader has, checking each against the stream bytes
// it must have come from.
void drain(FrameReader& r, Bytes stream, std::size_t fed, std::uint32_t limit, Outcome& o) {
  const std::uint64_t cap = std::min<std::uint64_t>(limit, kMaxFramePayload);
  for (;;) {
    Frame f;
    const FrameStatus st = r.next(f);
    if (st != FrameStatus::kOk) {
      if (o.status != FrameStatus::kNeedMore) {
        FUZZ_CHECK(st == o.status);  // poisoned for good
      }
      o.status = st;
      if (st == FrameStatus::kNeedMore) {
        FUZZ_CHECK(o.consumed + r.buffered() == fed);
      }
      return;
    }
    FUZZ_CHECK(o.status == FrameStatus::kNeedMore);  // never a frame after an error
    FUZZ_CHECK(f.type != 0);
    FUZZ_CHECK(f.payload.size() <= cap);
    FUZZ_CHECK(o.consumed + kFrameHeaderSize + f.payload.size() <= fed);
    FrameHeader h;
    FUZZ_CHECK(parse_frame_header(stream.subspan(o.consumed), h, limit) == FrameStatus::kOk);
    FUZZ_CHECK(h.type == f.type && h.length == f.payload.size());
    FUZZ_CHECK(payload_is(f, stream.subspan(o.consumed + kFrameHeaderSize, f.payload.size())));
    o.consumed += kFrameHeaderSize + f.payload.size();
    o.frames.push_back(std::move(f));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::uint32_t limit = kLimits[data[0] % kLimits.size()];
  const std::uint8_t seed = data[1];
  const Bytes stream(data + 2, size - 2);

  check_header_prefixes(stream, limit);

  Outcome whole;
  {
    FrameReader r(limit);
    r.feed(stream);
    drain(r, stream, stream.size(), limit, whole);
  }

  Outcome cut;
  FrameReader r(limit);
  std::uint32_t x = 0x9E3779B9u ^ seed;
  std::size_t fed = 0;
  do {
    x = x * 1103515245u + 12345u + (fed < stream.size() ? stream[fed] : 0u);
    const std::size_t n = std::min<std::size_t>((x >> 16) % 33, stream.size() - fed);
    r.feed(stream.subspan(fed, n));
    fed += n;
    drain(r, stream, fed, limit, cut);
  } while (fed < stream.size());

  FUZZ_CHECK(cut.status == whole.status);
  FUZZ_CHECK(cut.consumed == whole.consumed);
  FUZZ_CHECK(std::equal(cut.frames.begin(), cut.frames.end(), whole.frames.begin(),
                        whole.frames.end(), same));

  // Where the frames stop, the header parser must agree with the reader.
  FrameHeader h;
  const FrameStatus rest = parse_frame_header(stream.subspan(cut.consumed), h, limit);
  if (cut.status == FrameStatus::kNeedMore) {
    FUZZ_CHECK(
        rest == FrameStatus::kNeedMore ||
        (rest == FrameStatus::kOk && stream.size() - cut.consumed < kFrameHeaderSize + h.length));
  } else {
    FUZZ_CHECK(rest == cut.status);
    // A poisoned reader ignores whatever comes next, even a valid frame.
    const std::size_t left = r.buffered();
    const std::vector<std::uint8_t> valid = encode_frame(1, "ok");
    r.feed(valid);
    Frame f;
    FUZZ_CHECK(r.next(f) == cut.status);
    FUZZ_CHECK(r.buffered() == left);
  }
  return 0;
}
