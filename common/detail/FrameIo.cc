#include "common/FrameIo.h"

#include "common/Assert.h"

namespace mos::common {

std::vector<std::uint8_t> make_frame(MsgType type, const google::protobuf::MessageLite& msg) {
  const std::size_t n = msg.ByteSizeLong();
  MOS_ASSERT(n <= kMaxFramePayload, "message larger than a frame");
  std::vector<std::uint8_t> out(kFrameHeaderSize + n);
  encode_frame_header({kWireVersion, to_wire(type), static_cast<std::uint32_t>(n)}, out.data());
  msg.SerializeWithCachedSizesToArray(out.data() + kFrameHeaderSize);
  return out;
}

}  // namespace mos::common
