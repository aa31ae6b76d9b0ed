#pragma once
// The roads a migration's pages take (docs/migration.md, "Page roads").
//
// The source and target supervisors share one FramedChannel: the image,
// kMigrateZero, kMigrateEnd, post-copy's requests, everything. The pages
// (kMigratePages) may take a second road beside it, a PageRoad: RDMA
// where both nodes have a device. The channel stays the one order of the
// stream:
//
//   PageSink    (source) each run of pages onto the road, after a
//               kMigrateBulk{1} on the channel: "the next chunk of the road
//               comes here". Told before it is written, the receiver reads
//               every chunk written and gives back its slot: a sender out
//               of credits (or blocked on a full socket) always waits for
//               something the receiver is doing. (Telling after a batch
//               would save the small frames but deadlock a road that
//               blocks its writer, as a socket does.)
//   PageSource  (target) the frames in the order sent: the channel's, and
//               for a kMigrateBulk{n} the next n chunks of the road, each
//               as a kMigratePages frame.
//
// Without a road (TCP) both are the channel itself. Which road is taken is
// agreed before the freeze (kMigrateClock offers, kMigrateReady answers)
// and either side may fall back to the channel: a road that cannot be
// opened is logged, never an error of the move.
//
// Roads:
//   RdmaRoad    RdmaPageStream (RDMA WRITE WITH IMMEDIATE into a ring of
//               slots, credits back), offered where choose_page_transport
//               finds an ACTIVE port.
//   SocketRoad  the same ring and immediates over a second TCP connection
//               (dialled like a deputy's, proving the session token):
//               MOSIX_PAGE_ROAD=socket. It exists to run the two-road
//               ordering on machines without RDMA (the tests do); it is
//               no faster than the channel.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/FramedChannel.h"
#include "common/migrate.pb.h"
#include "remote/detail/RdmaTransport.h"

namespace mos::remote::detail {

class PageRoad {
 public:
  struct Chunk {
    std::uint64_t addr = 0;
    std::span<const char> bytes;  // valid until the next receive_chunk()
  };
  virtual ~PageRoad() = default;
  virtual std::string_view name() const = 0;
  // Sender: at most kPageChunk bytes; returns once they may be reused.
  // Waits up to `timeout` for a slot.
  virtual std::expected<void, std::string> send_chunk(std::uint64_t addr,
                                                      std::span<const char> bytes,
                                                      std::chrono::milliseconds timeout) = 0;
  // Receiver: the next chunk in the order sent (the previous one's slot is
  // given back first).
  virtual std::expected<Chunk, std::string> receive_chunk(std::chrono::milliseconds timeout) = 0;
};

// Over a connected FramedChannel: chunk frames (kMigratePages: the 32-bit
// immediate, the 8-byte address, the bytes) one way, credits (kMigrateBulk:
// a slot index) the other, with ChunkRing's checks on both sides.
std::unique_ptr<PageRoad> make_socket_road(std::unique_ptr<common::FramedChannel> link,
                                           std::uint32_t slots = kRdmaDefaultSlots);
// A connected RdmaPageStream as a road.
std::unique_ptr<PageRoad> make_rdma_road(RdmaPageStream stream);

class PageSink {
 public:
  // `road` may be null (every page on the channel); it must outlive us.
  explicit PageSink(common::FramedChannel& out, PageRoad* road = nullptr)
      : out_(out), road_(road) {}

  // One run of pages (at most kPageChunk bytes).
  std::expected<void, std::string> pages(std::uint64_t addr, std::string_view bytes);
  // Any other frame: after every page before it.
  std::expected<void, std::string> send(common::MsgType type,
                                        const google::protobuf::MessageLite& msg) {
    return out_.send(type, msg);
  }
  std::expected<void, std::string> send_parts(common::MsgType type,
                                              std::initializer_list<std::string_view> parts) {
    return out_.send_parts(type, parts);
  }

  common::FramedChannel& channel() { return out_; }
  bool on_road() const { return road_ != nullptr; }

 private:
  common::FramedChannel& out_;
  PageRoad* road_;
};

class PageSource {
 public:
  explicit PageSource(std::unique_ptr<common::FramedChannel> in,
                      std::unique_ptr<PageRoad> road = nullptr)
      : in_(std::move(in)), road_(std::move(road)) {}

  // The next frame, waiting up to `timeout` (for the channel and for each
  // chunk a kMigrateBulk announced).
  std::expected<common::Frame, std::string> receive(std::chrono::milliseconds timeout);
  // Without waiting for the channel: kOk with a frame, kNeedMore without
  // one. Chunks announced are read (they were sent before the
  // announcement; a road that does not bring them within `timeout` is an
  // error, kBadType with `error` said).
  common::FrameStatus buffered(common::Frame& out, std::string* error = nullptr);

  common::FramedChannel& channel() { return *in_; }
  int fd() const { return in_->fd(); }

 private:
  std::expected<common::Frame, std::string> next_chunk(std::chrono::milliseconds timeout);
  std::expected<bool, std::string> take(common::Frame& f);  // true: f is a frame to give

  std::unique_ptr<common::FramedChannel> in_;
  std::unique_ptr<PageRoad> road_;
  std::uint32_t due_ = 0;  // chunks announced, not read yet
};

// ---- agreeing on a road, before the freeze ------------------------------

// Source: what MOSIX_PAGE_ROAD (unset: "auto"; "tcp"; "socket"; "rdma")
// and the devices allow, put in the kMigrateClock. Keeps an RDMA sender
// stream open for the answer.
class RoadOffer {
 public:
  static RoadOffer make();
  void fill(wire::MigrateClock& clock) const;
  // With the target's kMigrateReady: the road, or null (the channel) and
  // why in `why`. `dial` makes a socket road's connection (the session's
  // address, port and token, proved as the program's non-first link).
  using Dial = std::function<std::expected<std::unique_ptr<common::FramedChannel>, std::string>()>;
  std::unique_ptr<PageRoad> take(const wire::MigrateReady& ready, const Dial& dial,
                                 std::string& why);
  const std::string& kind() const { return kind_; }
  // Why the offer is what it is (for the log).
  const std::string& reason() const { return reason_; }

 private:
  std::string kind_;  // "", "socket", "rdma"
  std::string reason_;
  std::shared_ptr<RdmaPageStream> rdma_;  // (shared: RoadOffer is copyable)
};

// Target: the answer to `clock`'s offer, in `ready`. RDMA is connected
// here (the source connects when it reads the answer); a socket road is
// accepted by the caller after sending `ready` (accept_road).
struct RoadAnswer {
  std::unique_ptr<PageRoad> road;  // rdma: ready
  bool accept_socket = false;      // socket: accept its connection next
};
RoadAnswer answer_road(const wire::MigrateClock& clock, wire::MigrateReady& ready);

}  // namespace mos::remote::detail
