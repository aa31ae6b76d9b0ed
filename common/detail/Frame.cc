#include "common/Frame.h"

#include <cstring>

namespace mos::common {

std::string_view frame_status_name(FrameStatus s) {
  switch (s) {
    case FrameStatus::kOk:
      return "ok";
    case FrameStatus::kNeedMore:
      return "need more bytes";
    case FrameStatus::kBadMagic:
      return "bad magic (not a mosix stream)";
    case FrameStatus::kBadVersion:
      return "unsupported protocol version";
    case FrameStatus::kBadReserved:
      return "reserved header bits set";
    case FrameStatus::kBadType:
      return "invalid message type 0";
    case FrameStatus::kOversized:
      return "frame too large";
  }
  return "unknown frame status";
}

void encode_frame_header(const FrameHeader& h, std::uint8_t* out) {
  out[0] = kFrameMagic0;
  out[1] = kFrameMagic1;
  out[2] = h.version;
  out[3] = 0;
  out[4] = static_cast<std::uint8_t>(h.type >> 8);
  out[5] = static_cast<std::uint8_t>(h.type);
  out[6] = 0;
  out[7] = 0;
  out[8] = static_cast<std::uint8_t>(h.length >> 24);
  out[9] = static_cast<std::uint8_t>(h.length >> 16);
  out[10] = static_cast<std::uint8_t>(h.length >> 8);
  out[11] = static_cast<std::uint8_t>(h.length);
}

FrameStatus parse_frame_header(std::span<const std::uint8_t> b, FrameHeader& out,
                               std::uint32_t max_payload) {
  // Check each field as soon as its bytes are present, so garbage is refused
  // on its first byte instead of after waiting for a whole header.
  const std::size_t n = b.size();
  if (n >= 1 && b[0] != kFrameMagic0)
    return FrameStatus::kBadMagic;
  if (n >= 2 && b[1] != kFrameMagic1)
    return FrameStatus::kBadMagic;
  if (n >= 3 && b[2] != kWireVersion)
    return FrameStatus::kBadVersion;
  if (n >= 4 && b[3] != 0)
    return FrameStatus::kBadReserved;
  if (n >= 6 && b[4] == 0 && b[5] == 0)
    return FrameStatus::kBadType;
  if ((n >= 7 && b[6] != 0) || (n >= 8 && b[7] != 0))
    return FrameStatus::kBadReserved;
  // Missing low length bytes count as 0: the smallest the length can become.
  std::uint32_t len = 0;
  for (std::size_t i = 8; i < kFrameHeaderSize; ++i) {
    len = (len << 8) | (i < n ? b[i] : 0u);
  }
  if (n > 8 && (len > max_payload || len > kMaxFramePayload))
    return FrameStatus::kOversized;
  if (n < kFrameHeaderSize)
    return FrameStatus::kNeedMore;
  const std::uint16_t type = static_cast<std::uint16_t>((b[4] << 8) | b[5]);
  out.version = b[2];
  out.type = type;
  out.length = len;
  return FrameStatus::kOk;
}

std::vector<std::uint8_t> encode_frame(std::uint16_t type, std::string_view payload) {
  std::vector<std::uint8_t> out(kFrameHeaderSize + payload.size());
  encode_frame_header({kWireVersion, type, static_cast<std::uint32_t>(payload.size())}, out.data());
  if (!payload.empty()) {
    std::memcpy(out.data() + kFrameHeaderSize, payload.data(), payload.size());
  }
  return out;
}

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
  if (poisoned_ != FrameStatus::kOk) {
    return;
  }
  // Compact lazily: only when the consumed prefix dominates the buffer.
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

FrameStatus decode_frame(std::string_view bytes, Frame& out) {
  FrameReader reader;
  reader.feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  return reader.next(out);
}

std::size_t FrameReader::missing() const {
  const std::size_t have = buf_.size() - pos_;
  if (have == 0) {
    return 0;
  }
  if (have < kFrameHeaderSize) {
    return kFrameHeaderSize - have;
  }
  FrameHeader h;
  if (parse_frame_header(std::span(buf_.data() + pos_, have), h, max_) != FrameStatus::kOk) {
    return 0;
  }
  const std::size_t whole = kFrameHeaderSize + h.length;
  return have >= whole ? 0 : whole - have;
}

FrameStatus FrameReader::next(Frame& out) {
  if (poisoned_ != FrameStatus::kOk) {
    return poisoned_;
  }
  std::span<const std::uint8_t> avail(buf_.data() + pos_, buf_.size() - pos_);
  FrameHeader h;
  FrameStatus st = parse_frame_header(avail, h, max_);
  if (st == FrameStatus::kNeedMore) {
    return st;
  }
  if (st != FrameStatus::kOk) {
    poisoned_ = st;
    return st;
  }
  if (avail.size() < kFrameHeaderSize + h.length) {
    return FrameStatus::kNeedMore;
  }
  out.type = h.type;
  out.payload.assign(reinterpret_cast<const char*>(avail.data() + kFrameHeaderSize), h.length);
  pos_ += kFrameHeaderSize + h.length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return FrameStatus::kOk;
}

}  // namespace mos::common
