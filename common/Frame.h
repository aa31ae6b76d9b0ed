#pragma once
// The framing of every message between mosix processes and nodes.
//
// A frame is a fixed 12-byte header followed by `length` payload bytes (a
// serialized proto3 message whose type the header names). All integers are
// big-endian.
//
//   byte  0..1  magic      0x4D 0x58 ("MX"): rejects a stray client or a
//                          desynchronised stream on its first bytes.
//   byte  2     version    wire protocol version, kWireVersion. A frame of
//                          another version is refused: versions are agreed
//                          in the handshake, never mixed on one stream.
//   byte  3     flags      reserved, must be 0 (refused otherwise, so a
//                          future meaning can never be silently ignored).
//   byte  4..5  type       message type (MsgType), 0 is invalid.
//   byte  6..7  reserved   must be 0.
//   byte  8..11 length     payload length in bytes, at most kMaxFramePayload.
//
// This header and the parser deliberately avoid <expected> so the parser can
// be built by clang for the libFuzzer target (tests/fuzz/).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mos::common {

inline constexpr std::uint8_t kFrameMagic0 = 0x4D;
inline constexpr std::uint8_t kFrameMagic1 = 0x58;
inline constexpr std::uint8_t kWireVersion = 1;
inline constexpr std::size_t kFrameHeaderSize = 12;
// 16 MiB: larger than any control message, and than the 128 KiB memory chunks
// of migration; large enough for a whole board of 10,000 nodes.
inline constexpr std::uint32_t kMaxFramePayload = 16u << 20;

enum class FrameStatus {
  kOk,           // a whole frame was parsed
  kNeedMore,     // the bytes so far are a valid prefix; read more
  kBadMagic,     // not a mosix stream
  kBadVersion,   // another protocol version
  kBadReserved,  // flags or reserved bits set
  kBadType,      // type 0
  kOversized,    // length above kMaxFramePayload (or the reader's own limit)
};

std::string_view frame_status_name(FrameStatus s);

struct FrameHeader {
  std::uint8_t version = kWireVersion;
  std::uint16_t type = 0;
  std::uint32_t length = 0;
};

// Encodes a header into exactly kFrameHeaderSize bytes at `out`.
void encode_frame_header(const FrameHeader& h, std::uint8_t* out);

// Parses a header from the front of `bytes`. kNeedMore if fewer than
// kFrameHeaderSize bytes, but only when the bytes present are a valid prefix:
// a wrong magic is reported as soon as its first byte is seen.
FrameStatus parse_frame_header(std::span<const std::uint8_t> bytes, FrameHeader& out,
                               std::uint32_t max_payload = kMaxFramePayload);

// Builds header + payload into one buffer ready to write.
std::vector<std::uint8_t> encode_frame(std::uint16_t type, std::string_view payload);

struct Frame {
  std::uint16_t type = 0;
  std::string payload;
};

// Accumulates bytes from a stream and cuts them into frames. After an error
// status the reader is poisoned: the stream cannot be resynchronised and the
// caller must drop the connection.
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_payload = kMaxFramePayload) : max_(max_payload) {}

  void feed(std::span<const std::uint8_t> bytes);
  // kOk fills `out` and consumes it; kNeedMore when no whole frame is
  // buffered yet; any other status is final.
  FrameStatus next(Frame& out);
  std::size_t buffered() const { return buf_.size() - pos_; }
  // How many more bytes complete the frame (or the header) begun in the
  // buffer: 0 if nothing is buffered or a whole frame is.
  std::size_t missing() const;

 private:
  std::uint32_t max_;
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;
  FrameStatus poisoned_ = FrameStatus::kOk;
};

// The frame at the front of one datagram's bytes (kNeedMore: cut short).
FrameStatus decode_frame(std::string_view bytes, Frame& out);

}  // namespace mos::common
