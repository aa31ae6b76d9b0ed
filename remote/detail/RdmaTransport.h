#pragma once
// The page stream of a live migration over RDMA (rdma-core verbs), where a
// device with an ACTIVE port exists; TCP (kMigratePages frames) otherwise.
//
//   choose_page_transport  probes the devices (or honours MOSIX_RDMA=off)
//                          and says, for the log, why RDMA is or is not used.
//   ChunkRing              the flow control, pure and device-free: N slots at
//                          the receiver, one credit per slot.
//   Rendezvous             what each side tells the other, over the already
//                          connected FramedChannel, before the verbs stream
//                          starts (a fixed 56-byte little-endian record).
//   RdmaPageStream         the verbs stream itself (RC queue pair).
//
// The stream, one RC QP per migration:
//   - the receiver registers a ring of `slots` slots; slot i starts at
//     addr + i * kRdmaSlotStride and holds an 8-byte little-endian address
//     (as a kMigratePages frame starts) followed by up to kPageChunk bytes.
//   - the sender copies (address, bytes) into its own registered slot i and
//     posts one RDMA WRITE WITH IMMEDIATE of 8 + length bytes into the
//     receiver's slot i; the immediate is (slot, length) as encode_chunk_imm
//     packs it. Slots are used in ring order: 0, 1, ..., slots-1, 0, ...
//   - the receiver, having copied slot i out, gives the credit back with a
//     zero-length SEND WITH IMMEDIATE carrying i; the sender may have at most
//     `slots` chunks without their credit back, so the receiver always has a
//     receive posted for each write (no RNR wait in the steady state).
//   - the end of the stream is a zero-length write whose immediate has the
//     end bit; it takes a credit like a chunk. Being on the same RC QP, it
//     completes after every chunk before it.
//
// RDMA or not, the image, kMigrateEnd and everything else still go over the
// FramedChannel; only the pages change road.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "remote/detail/Image.h"

namespace mos::remote::detail {

// The most slots a ring may have (10 bits of the immediate).
inline constexpr std::uint32_t kRdmaMaxSlots = 1024;
// 16 x 128 KiB = 2 MiB in flight: a few round trips' worth at 100 Gb/s,
// little enough to register on any node.
inline constexpr std::uint32_t kRdmaDefaultSlots = 16;
// The address in front of a slot's bytes.
inline constexpr std::size_t kRdmaSlotHeader = 8;
inline constexpr std::size_t kRdmaSlotStride = kRdmaSlotHeader + kPageChunk;

// ---- the choice --------------------------------------------------------

struct RdmaChoice {
  bool use_rdma = false;
  std::string device;     // e.g. "mlx5_0", empty for TCP
  std::string reason;     // for the log, never empty
  std::uint8_t port = 0;  // the ACTIVE port on `device` (1-based), 0 for TCP
};

// MOSIX_RDMA: unset, "auto" or "on" probe; "off" forces TCP; anything else
// is reported and also means TCP (a typo must not pick a road silently).
// Then every device and port: the first ACTIVE port wins. Logs the choice at
// debug level (the caller says it: log_page_road). Never blocks on the network;
// no device (or no kernel support) is an answer, not an error.
RdmaChoice choose_page_transport();

// Whether this build has the verbs code (rdma-core was found). Tests and
// callers outside mos_remote cannot see MOS_HAVE_RDMA.
bool rdma_built();

// ---- the immediate -----------------------------------------------------
//
// The 32-bit immediate of a write, as a host-order value (verbs carries it
// big-endian; RdmaPageStream converts):
//   bits  0..17  length of the chunk's bytes, the address not counted
//                (1..slot size; 0 for the end marker)
//   bits 18..27  slot index (0..slots-1)
//   bits 28..30  reserved, zero
//   bit  31      end of the stream
// The credit the receiver sends back carries a bare slot index.

struct ChunkImm {
  std::uint32_t slot = 0;
  std::uint32_t length = 0;
  bool end = false;
};

// Errors: slot >= slots, length 0 or > slot_size for a chunk, length != 0
// for the end marker, a geometry the layout cannot hold.
std::expected<std::uint32_t, std::string> encode_chunk_imm(const ChunkImm& c, std::uint32_t slots,
                                                           std::size_t slot_size = kPageChunk);
// The same checks, on what a peer sent, and reserved bits set.
std::expected<ChunkImm, std::string> decode_chunk_imm(std::uint32_t imm, std::uint32_t slots,
                                                      std::size_t slot_size = kPageChunk);

// ---- the credits -------------------------------------------------------

// A ring of slots, filled and released in ring order. The sender's copy
// counts credits (acquire before a write, release when the credit comes
// back); the receiver's copy checks that chunks arrive where they must
// (accept) and that it releases each slot once (release). Not thread-safe.
class ChunkRing {
 public:
  // Errors: slots outside 1..kRdmaMaxSlots, slot_size 0 or too large for
  // the immediate.
  static std::expected<ChunkRing, std::string> make(std::uint32_t slots,
                                                    std::size_t slot_size = kPageChunk);

  std::uint32_t slots() const { return slots_; }
  std::size_t slot_size() const { return slot_size_; }
  // Slots that may be filled now (the sender's credits).
  std::uint32_t credits() const { return slots_ - in_flight_; }
  std::uint32_t in_flight() const { return in_flight_; }
  // The slot the next chunk goes to, nullopt without a credit.
  std::optional<std::uint32_t> next() const;

  // Sender: takes the credit of the next slot; nullopt (nothing taken)
  // when all `slots` are in flight: wait for a credit.
  std::optional<std::uint32_t> acquire();
  // Receiver: a chunk arrived in `slot`. An error (a sender that overran
  // its credits or skipped a slot) leaves the ring as it was.
  std::expected<void, std::string> accept(std::uint32_t slot);
  // Either side: the oldest slot in flight is free again. Errors, leaving
  // the ring as it was: nothing in flight (over-release), `slot` out of
  // range, `slot` not in flight (double release), `slot` not the oldest.
  std::expected<void, std::string> release(std::uint32_t slot);

 private:
  ChunkRing(std::uint32_t slots, std::size_t slot_size) : slots_(slots), slot_size_(slot_size) {}
  bool in_flight_slot(std::uint32_t slot) const;

  std::uint32_t slots_;
  std::size_t slot_size_;
  std::uint32_t head_ = 0;       // the next slot to fill
  std::uint32_t in_flight_ = 0;  // filled, not released: head_ - in_flight_ .. head_ - 1
};

// ---- the rendezvous ----------------------------------------------------
//
// 56 bytes, little-endian:
//    0  u32 magic  "MRDV" (0x5644524d)
//    4  u16 version (1)
//    6  u8  path MTU, as enum ibv_mtu (1 = 256 .. 5 = 4096)
//    7  u8  reserved, zero
//    8  u32 QP number (24 bits)
//   12  u32 first packet sequence number (24 bits)
//   16  u16 LID (InfiniBand; 0 on RoCE)
//   18  u16 reserved, zero
//   20  16  GID (the port's, index 0; all zero when unused)
//   36  u64 ring address (receiver; 0 from the sender)
//   44  u32 rkey (receiver; 0 from the sender)
//   48  u32 slot count (1..1024)
//   52  u32 slot size (== kPageChunk; the stride adds the 8-byte address)

inline constexpr std::uint32_t kRendezvousMagic = 0x5644524d;
inline constexpr std::uint16_t kRendezvousVersion = 1;
inline constexpr std::size_t kRendezvousSize = 56;

struct Rendezvous {
  std::uint32_t qp_num = 0;
  std::uint32_t psn = 0;
  std::uint16_t lid = 0;
  std::array<std::uint8_t, 16> gid{};
  std::uint8_t mtu = 0;
  std::uint64_t addr = 0;
  std::uint32_t rkey = 0;
  std::uint32_t slots = 0;
  std::uint32_t slot_size = 0;

  bool operator==(const Rendezvous&) const = default;
};

// No message type carries it (common/MsgType.h): the caller frames the
// bytes (a field of its own message, or raw).
std::string encode_rendezvous(const Rendezvous& r);
// Errors: size != kRendezvousSize, wrong magic or version, reserved bytes
// set, QP number or PSN over 24 bits, MTU outside 1..5, slot count outside
// 1..kRdmaMaxSlots, slot size other than kPageChunk.
std::expected<Rendezvous, std::string> decode_rendezvous(std::string_view bytes);

// ---- the stream --------------------------------------------------------

enum class RdmaRole { kSender, kReceiver };

// One side of the page stream. Built only with rdma-core; elsewhere open()
// answers "built without rdma-core". NOT RUN on a device yet: the build
// machine has none, so only its failure to open is tested; the verbs calls
// follow rdma-core's own examples (rc_pingpong) but are unproven here.
// Single-threaded, move-only.
//
// The other side dying: its writes or credits stop coming and waits end in
// "timed out" (ours), or the adapter gives up retrying (a completion error,
// after about half a second with the retry settings used).
class RdmaPageStream {
 public:
  struct Chunk {
    std::uint64_t addr = 0;
    std::span<const std::byte> bytes;  // valid until the next receive_chunk()
    bool end = false;                  // the end marker: no bytes, the stream is over
  };

  // Opens `device` on `port` (as choose_page_transport found them): a
  // protection domain, a completion queue with its channel, an RC queue
  // pair in INIT, `slots` registered slots; posts the receives the role
  // needs. local() is then what to send to the peer.
  static std::expected<RdmaPageStream, std::string> open(RdmaRole role, const std::string& device,
                                                         std::uint8_t port,
                                                         std::uint32_t slots = kRdmaDefaultSlots);
  RdmaPageStream(RdmaPageStream&&) noexcept;
  RdmaPageStream& operator=(RdmaPageStream&&) noexcept;
  ~RdmaPageStream();

  const Rendezvous& local() const;
  // INIT -> RTR -> RTS with the peer's record. Both sides must be connected
  // before the first chunk: the caller confirms it over the FramedChannel
  // (the receiver says so after its connect()). Errors: geometries that
  // differ, a receiver's record without a ring, the adapter refusing.
  std::expected<void, std::string> connect(const Rendezvous& peer);

  // Sender: one chunk (at most kPageChunk bytes), copied into a slot and
  // written; waits up to `timeout` for a credit. Returns once posted: the
  // bytes may be reused at once.
  std::expected<void, std::string> send_chunk(std::uint64_t addr, std::span<const std::byte> bytes,
                                              std::chrono::milliseconds timeout);
  // Sender: the end marker, then waits until every write has completed.
  std::expected<void, std::string> finish(std::chrono::milliseconds timeout);

  // Receiver: the next chunk, in the order sent. Releases the slot of the
  // previous chunk first (its credit goes back), so the previous chunk's
  // bytes are gone. Errors: a malformed immediate, a chunk out of order, a
  // completion error, nothing within `timeout`.
  std::expected<Chunk, std::string> receive_chunk(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit RdmaPageStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mos::remote::detail
