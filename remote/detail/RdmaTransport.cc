#include "remote/detail/RdmaTransport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/Log.h"
#include "common/Text.h"

#if MOS_HAVE_RDMA
#include <infiniband/verbs.h>

#include <cerrno>
#endif

namespace mos::remote::detail {

namespace {

constexpr std::uint32_t kImmLengthBits = 18;
constexpr std::uint32_t kImmMaxLength = (1u << kImmLengthBits) - 1;
constexpr std::uint32_t kImmSlotShift = kImmLengthBits;
constexpr std::uint32_t kImmSlotMask = kRdmaMaxSlots - 1;  // 10 bits
constexpr std::uint32_t kImmEnd = 1u << 31;
constexpr std::uint32_t kImmReserved = 0x7u << 28;
static_assert(kRdmaMaxSlots == 1u << 10, "the immediate has 10 bits of slot");
static_assert(kPageChunk <= kImmMaxLength, "a chunk's length must fit the immediate");

std::expected<void, std::string> check_geometry(std::uint32_t slots, std::size_t slot_size) {
  if (slots < 1 || slots > kRdmaMaxSlots) {
    return std::unexpected(fmt::format("{} slots (1..{})", slots, kRdmaMaxSlots));
  }
  if (slot_size < 1 || slot_size > kImmMaxLength) {
    return std::unexpected(fmt::format("a slot of {} bytes (1..{})", slot_size, kImmMaxLength));
  }
  return {};
}

std::expected<ChunkImm, std::string> check_imm(const ChunkImm& c, std::uint32_t slots,
                                               std::size_t slot_size) {
  if (auto g = check_geometry(slots, slot_size); !g) {
    return std::unexpected(g.error());
  }
  if (c.slot >= slots) {
    return std::unexpected(fmt::format("slot {} of a ring of {}", c.slot, slots));
  }
  if (c.end && c.length != 0) {
    return std::unexpected(fmt::format("an end marker with {} bytes", c.length));
  }
  if (!c.end && (c.length == 0 || c.length > slot_size)) {
    return std::unexpected(
        fmt::format("a chunk of {} bytes in a slot of {} (1..{})", c.length, slot_size, slot_size));
  }
  return c;
}

// Little-endian, byte by byte: the layout must not depend on the host.
template <typename T>
void put_le(std::string& out, std::size_t at, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[at + i] = static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * i) & 0xff);
  }
}

template <typename T>
T get_le(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return static_cast<T>(v);
}

RdmaChoice tcp(std::string reason) {
  return RdmaChoice{.use_rdma = false, .device = {}, .reason = std::move(reason), .port = 0};
}

#if MOS_HAVE_RDMA
const char* port_state_name(ibv_port_state s) {
  switch (s) {
    case IBV_PORT_DOWN:
      return "DOWN";
    case IBV_PORT_INIT:
      return "INIT";
    case IBV_PORT_ARMED:
      return "ARMED";
    case IBV_PORT_ACTIVE:
      return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER:
      return "ACTIVE_DEFER";
    default:
      return "in no known state";
  }
}

const char* link_layer_name(std::uint8_t l) {
  return l == IBV_LINK_LAYER_ETHERNET ? "RoCE" : "InfiniBand";
}

// The devices, probed in the order the library lists them.
RdmaChoice probe_devices() {
  int n = 0;
  errno = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list == nullptr) {
    return tcp(fmt::format("no RDMA device (ibv_get_device_list: {})", std::strerror(errno)));
  }
  std::vector<std::string> why;
  RdmaChoice found;
  for (int i = 0; i < n && !found.use_rdma; ++i) {
    const std::string name = ibv_get_device_name(list[i]);
    ibv_context* ctx = ibv_open_device(list[i]);
    if (ctx == nullptr) {
      why.push_back(fmt::format("{} cannot be opened ({})", name, std::strerror(errno)));
      continue;
    }
    ibv_device_attr dev{};
    if (int e = ibv_query_device(ctx, &dev); e != 0) {
      why.push_back(fmt::format("{} cannot be queried ({})", name, std::strerror(e)));
    }
    for (int p = 1; p <= dev.phys_port_cnt && !found.use_rdma; ++p) {
      ibv_port_attr pa{};
      if (int e = ibv_query_port(ctx, static_cast<std::uint8_t>(p), &pa); e != 0) {
        why.push_back(fmt::format("{} port {} cannot be queried ({})", name, p, std::strerror(e)));
      } else if (pa.state != IBV_PORT_ACTIVE) {
        why.push_back(fmt::format("{} port {} is {}", name, p, port_state_name(pa.state)));
      } else {
        found = RdmaChoice{
            .use_rdma = true,
            .device = name,
            .reason = fmt::format("{} port {} is ACTIVE ({}, MTU {})", name, p,
                                  link_layer_name(pa.link_layer), 256 << (pa.active_mtu - 1)),
            .port = static_cast<std::uint8_t>(p)};
      }
    }
    ibv_close_device(ctx);
  }
  ibv_free_device_list(list);
  if (found.use_rdma) {
    return found;
  }
  if (n == 0) {
    return tcp("no RDMA device");
  }
  std::string all;
  for (const auto& w : why) {
    all += (all.empty() ? "" : "; ") + w;
  }
  return tcp(all.empty() ? "no RDMA device with a port" : all);
}
#endif

}  // namespace

bool rdma_built() {
#if MOS_HAVE_RDMA
  return true;
#else
  return false;
#endif
}

RdmaChoice choose_page_transport() {
  RdmaChoice c;
  const std::string env = common::lower_env("MOSIX_RDMA");
  if (env == "off") {
    c = tcp("RDMA turned off by MOSIX_RDMA=off");
  } else if (!env.empty() && env != "on" && env != "auto") {
    c = tcp(fmt::format("MOSIX_RDMA={} is not understood (off, on, auto): using TCP",
                        std::getenv("MOSIX_RDMA")));
  } else {
#if MOS_HAVE_RDMA
    c = probe_devices();
#else
    c = tcp("built without rdma-core");
#endif
  }
  if (c.use_rdma) {
    MOS_LOG_DEBUG("page transport: RDMA on {} port {} ({})", c.device, c.port, c.reason);
  } else {
    MOS_LOG_DEBUG("page transport: TCP ({})", c.reason);
  }
  return c;
}

// ---- the immediate ---------------------------------------------------------

std::expected<std::uint32_t, std::string> encode_chunk_imm(const ChunkImm& c, std::uint32_t slots,
                                                           std::size_t slot_size) {
  auto ok = check_imm(c, slots, slot_size);
  if (!ok) {
    return std::unexpected(ok.error());
  }
  return (c.end ? kImmEnd : 0) | c.slot << kImmSlotShift | c.length;
}

std::expected<ChunkImm, std::string> decode_chunk_imm(std::uint32_t imm, std::uint32_t slots,
                                                      std::size_t slot_size) {
  if ((imm & kImmReserved) != 0) {
    return std::unexpected(fmt::format("immediate {:#010x} has reserved bits set", imm));
  }
  const ChunkImm c{.slot = imm >> kImmSlotShift & kImmSlotMask,
                   .length = imm & kImmMaxLength,
                   .end = (imm & kImmEnd) != 0};
  auto ok = check_imm(c, slots, slot_size);
  if (!ok) {
    return std::unexpected(fmt::format("immediate {:#010x}: {}", imm, ok.error()));
  }
  return c;
}

// ---- the credits -----------------------------------------------------------

std::expected<ChunkRing, std::string> ChunkRing::make(std::uint32_t slots, std::size_t slot_size) {
  if (auto g = check_geometry(slots, slot_size); !g) {
    return std::unexpected("a ring of " + g.error());
  }
  return ChunkRing(slots, slot_size);
}

std::optional<std::uint32_t> ChunkRing::next() const {
  if (in_flight_ == slots_) {
    return std::nullopt;
  }
  return head_;
}

bool ChunkRing::in_flight_slot(std::uint32_t slot) const {
  const std::uint32_t oldest = (head_ + slots_ - in_flight_) % slots_;
  return (slot + slots_ - oldest) % slots_ < in_flight_;
}

std::optional<std::uint32_t> ChunkRing::acquire() {
  auto s = next();
  if (s) {
    head_ = (head_ + 1) % slots_;
    ++in_flight_;
  }
  return s;
}

std::expected<void, std::string> ChunkRing::accept(std::uint32_t slot) {
  if (slot >= slots_) {
    return std::unexpected(fmt::format("a chunk in slot {} of a ring of {}", slot, slots_));
  }
  if (in_flight_ == slots_) {
    return std::unexpected(fmt::format(
        "a chunk in slot {} with all {} slots full: the sender overran its credits", slot, slots_));
  }
  if (slot != head_) {
    return std::unexpected(fmt::format("a chunk in slot {}, expected slot {}", slot, head_));
  }
  acquire();
  return {};
}

std::expected<void, std::string> ChunkRing::release(std::uint32_t slot) {
  if (slot >= slots_) {
    return std::unexpected(fmt::format("release of slot {} of a ring of {}", slot, slots_));
  }
  if (in_flight_ == 0) {
    return std::unexpected(fmt::format("release of slot {} with nothing in flight", slot));
  }
  if (!in_flight_slot(slot)) {
    return std::unexpected(fmt::format("release of slot {}, which is not in flight", slot));
  }
  const std::uint32_t oldest = (head_ + slots_ - in_flight_) % slots_;
  if (slot != oldest) {
    return std::unexpected(fmt::format("release of slot {} before slot {}", slot, oldest));
  }
  --in_flight_;
  return {};
}

// ---- the rendezvous --------------------------------------------------------

std::string encode_rendezvous(const Rendezvous& r) {
  std::string out(kRendezvousSize, '\0');
  put_le(out, 0, kRendezvousMagic);
  put_le(out, 4, kRendezvousVersion);
  put_le(out, 6, r.mtu);
  put_le(out, 8, r.qp_num);
  put_le(out, 12, r.psn);
  put_le(out, 16, r.lid);
  std::memcpy(out.data() + 20, r.gid.data(), r.gid.size());
  put_le(out, 36, r.addr);
  put_le(out, 44, r.rkey);
  put_le(out, 48, r.slots);
  put_le(out, 52, r.slot_size);
  return out;
}

std::expected<Rendezvous, std::string> decode_rendezvous(std::string_view b) {
  auto bad = [](std::string why) {
    return std::unexpected("RDMA rendezvous record: " + std::move(why));
  };
  if (b.size() != kRendezvousSize) {
    return bad(fmt::format("{} bytes, expected {}", b.size(), kRendezvousSize));
  }
  if (const auto m = get_le<std::uint32_t>(b, 0); m != kRendezvousMagic) {
    return bad(fmt::format("magic {:#010x}, expected {:#010x}", m, kRendezvousMagic));
  }
  if (const auto v = get_le<std::uint16_t>(b, 4); v != kRendezvousVersion) {
    return bad(fmt::format("version {}, this node speaks {}", v, kRendezvousVersion));
  }
  if (b[7] != 0 || b[18] != 0 || b[19] != 0) {
    return bad("reserved bytes set");
  }
  Rendezvous r;
  r.mtu = get_le<std::uint8_t>(b, 6);
  r.qp_num = get_le<std::uint32_t>(b, 8);
  r.psn = get_le<std::uint32_t>(b, 12);
  r.lid = get_le<std::uint16_t>(b, 16);
  std::memcpy(r.gid.data(), b.data() + 20, r.gid.size());
  r.addr = get_le<std::uint64_t>(b, 36);
  r.rkey = get_le<std::uint32_t>(b, 44);
  r.slots = get_le<std::uint32_t>(b, 48);
  r.slot_size = get_le<std::uint32_t>(b, 52);
  if (r.mtu < 1 || r.mtu > 5) {
    return bad(fmt::format("path MTU code {} (1..5)", r.mtu));
  }
  if (r.qp_num > 0xffffff || r.psn > 0xffffff) {
    return bad(fmt::format("QP number {:#x} or PSN {:#x} over 24 bits", r.qp_num, r.psn));
  }
  if (r.slots < 1 || r.slots > kRdmaMaxSlots) {
    return bad(fmt::format("{} slots (1..{})", r.slots, kRdmaMaxSlots));
  }
  if (r.slot_size != kPageChunk) {
    return bad(fmt::format("slots of {} bytes, expected {}", r.slot_size, kPageChunk));
  }
  return r;
}

}  // namespace mos::remote::detail
