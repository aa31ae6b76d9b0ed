// The roads of a migration's pages (remote/detail/PageRoad.h).

#include "remote/detail/PageRoad.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/Log.h"
#include "common/MsgType.h"
#include "common/Text.h"

namespace mos::remote::detail {

namespace {

using common::MsgType;

constexpr auto kRoadTimeout = std::chrono::seconds(30);

std::string_view bytes_of_u32(const std::uint32_t& v) {
  return {reinterpret_cast<const char*>(&v), sizeof v};
}

std::optional<std::uint32_t> u32_of(const std::string& payload) {
  if (payload.size() != 4) {
    return std::nullopt;
  }
  std::uint32_t v = 0;
  std::memcpy(&v, payload.data(), 4);
  return v;
}

// ---- over a second connection ----------------------------------------------

class SocketRoad final : public PageRoad {
 public:
  SocketRoad(std::unique_ptr<common::FramedChannel> link, ChunkRing ring)
      : link_(std::move(link)), ring_(ring) {}

  std::string_view name() const override { return "socket"; }

  std::expected<void, std::string> send_chunk(std::uint64_t addr, std::span<const char> bytes,
                                              std::chrono::milliseconds timeout) override {
    // Credits already here first, then wait for one if none is left.
    common::Frame f;
    while (link_->buffered(f) == common::FrameStatus::kOk) {
      if (auto r = take_credit(f); !r) {
        return r;
      }
    }
    std::optional<std::uint32_t> slot;
    while (!(slot = ring_.acquire())) {
      auto c = link_->receive_for(timeout);
      if (!c) {
        return std::unexpected(fmt::format("no credit from the receiver: {}", c.error()));
      }
      if (auto r = take_credit(*c); !r) {
        return r;
      }
    }
    auto imm = encode_chunk_imm({*slot, static_cast<std::uint32_t>(bytes.size()), false},
                                ring_.slots(), ring_.slot_size());
    if (!imm) {
      return std::unexpected(imm.error());
    }
    const std::uint32_t v = *imm;
    return link_->send_parts(
        MsgType::kMigratePages,
        {bytes_of_u32(v), std::string_view(reinterpret_cast<const char*>(&addr), 8),
         std::string_view(bytes.data(), bytes.size())});
  }

  std::expected<Chunk, std::string> receive_chunk(std::chrono::milliseconds timeout) override {
    if (held_) {
      const std::uint32_t slot = *held_;
      held_.reset();
      if (auto r = ring_.release(slot); !r) {
        return std::unexpected(r.error());
      }
      if (auto r = link_->send_parts(MsgType::kMigrateBulk, {bytes_of_u32(slot)}); !r) {
        return std::unexpected(r.error());
      }
    }
    auto f = link_->receive_bulk(timeout);
    if (!f) {
      return std::unexpected(fmt::format("the page road ended: {}", f.error()));
    }
    if (f->type != common::to_wire(MsgType::kMigratePages) || f->payload.size() < 12) {
      return std::unexpected(
          fmt::format("frame {} ({} bytes) on the page road", f->type, f->payload.size()));
    }
    std::uint32_t v = 0;
    std::memcpy(&v, f->payload.data(), 4);
    auto imm = decode_chunk_imm(v, ring_.slots(), ring_.slot_size());
    if (!imm) {
      return std::unexpected(imm.error());
    }
    if (imm->end || imm->length != f->payload.size() - 12) {
      return std::unexpected(std::string("a chunk whose length is not its immediate's"));
    }
    if (auto r = ring_.accept(imm->slot); !r) {
      return std::unexpected(r.error());
    }
    held_ = imm->slot;
    buf_ = std::move(f->payload);
    Chunk c;
    std::memcpy(&c.addr, buf_.data() + 4, 8);
    c.bytes = std::span<const char>(buf_.data() + 12, imm->length);
    return c;
  }

 private:
  std::expected<void, std::string> take_credit(const common::Frame& f) {
    auto slot = u32_of(f.payload);
    if (f.type != common::to_wire(MsgType::kMigrateBulk) || !slot) {
      return std::unexpected(fmt::format("frame {} where a credit was due", f.type));
    }
    return ring_.release(*slot);
  }

  std::unique_ptr<common::FramedChannel> link_;
  ChunkRing ring_;
  std::optional<std::uint32_t> held_;  // the receiver's slot not given back yet
  std::string buf_;
};

// ---- over RDMA ------------------------------------------------------------

class RdmaRoad final : public PageRoad {
 public:
  explicit RdmaRoad(RdmaPageStream stream) : s_(std::move(stream)) {}

  std::string_view name() const override { return "rdma"; }

  std::expected<void, std::string> send_chunk(std::uint64_t addr, std::span<const char> bytes,
                                              std::chrono::milliseconds timeout) override {
    return s_.send_chunk(addr, std::as_bytes(bytes), timeout);
  }

  std::expected<Chunk, std::string> receive_chunk(std::chrono::milliseconds timeout) override {
    auto c = s_.receive_chunk(timeout);
    if (!c) {
      return std::unexpected(c.error());
    }
    if (c->end) {
      return std::unexpected(std::string("the RDMA stream ended where a chunk was announced"));
    }
    return Chunk{c->addr, std::span<const char>(reinterpret_cast<const char*>(c->bytes.data()),
                                                c->bytes.size())};
  }

 private:
  RdmaPageStream s_;
};

}  // namespace

std::unique_ptr<PageRoad> make_socket_road(std::unique_ptr<common::FramedChannel> link,
                                           std::uint32_t slots) {
  auto ring = ChunkRing::make(slots);
  if (!ring || link == nullptr) {
    return nullptr;
  }
  return std::make_unique<SocketRoad>(std::move(link), *ring);
}

std::unique_ptr<PageRoad> make_rdma_road(RdmaPageStream stream) {
  return std::make_unique<RdmaRoad>(std::move(stream));
}

// ---- the source's side -------------------------------------------------------

std::expected<void, std::string> PageSink::pages(std::uint64_t addr, std::string_view bytes) {
  if (road_ == nullptr) {
    return out_.send_parts(MsgType::kMigratePages,
                           {std::string_view(reinterpret_cast<const char*>(&addr), 8), bytes});
  }
  // Told before it is written: the receiver then reads every chunk the
  // road holds (and gives its slot back), whatever the road buffers.
  const std::uint32_t one = 1;
  if (auto r = out_.send_parts(MsgType::kMigrateBulk, {bytes_of_u32(one)}); !r) {
    return r;
  }
  if (auto r =
          road_->send_chunk(addr, std::span<const char>(bytes.data(), bytes.size()), kRoadTimeout);
      !r) {
    return std::unexpected(fmt::format("{} page road: {}", road_->name(), r.error()));
  }
  return {};
}

// ---- the target's side -------------------------------------------------------

std::expected<bool, std::string> PageSource::take(common::Frame& f) {
  if (f.type != common::to_wire(MsgType::kMigrateBulk)) {
    return true;
  }
  auto n = u32_of(f.payload);
  if (!n || *n == 0 || road_ == nullptr) {
    return std::unexpected(road_ == nullptr ? std::string("pages announced on a road not agreed")
                                            : std::string("a malformed page announcement"));
  }
  due_ += *n;
  return false;
}

std::expected<common::Frame, std::string> PageSource::next_chunk(
    std::chrono::milliseconds timeout) {
  auto c = road_->receive_chunk(timeout);
  if (!c) {
    return std::unexpected(fmt::format("{} page road: {}", road_->name(), c.error()));
  }
  --due_;
  common::Frame f;
  f.type = common::to_wire(MsgType::kMigratePages);
  f.payload.resize(8 + c->bytes.size());
  std::memcpy(f.payload.data(), &c->addr, 8);
  std::memcpy(f.payload.data() + 8, c->bytes.data(), c->bytes.size());
  return f;
}

std::expected<common::Frame, std::string> PageSource::receive(std::chrono::milliseconds timeout) {
  while (due_ == 0) {
    auto f = in_->receive_bulk(timeout);
    if (!f) {
      return f;
    }
    auto give = take(*f);
    if (!give) {
      return std::unexpected(give.error());
    }
    if (*give) {
      return f;
    }
  }
  return next_chunk(timeout);
}

common::FrameStatus PageSource::buffered(common::Frame& out, std::string* error) {
  auto failed = [&](const std::string& why) {
    if (error != nullptr) {
      *error = why;
    }
    return common::FrameStatus::kBadType;
  };
  while (due_ == 0) {
    const common::FrameStatus st = in_->buffered(out);
    if (st != common::FrameStatus::kOk) {
      return st;
    }
    auto give = take(out);
    if (!give) {
      return failed(give.error());
    }
    if (*give) {
      return st;
    }
  }
  auto c = next_chunk(kRoadTimeout);
  if (!c) {
    return failed(c.error());
  }
  out = std::move(*c);
  return common::FrameStatus::kOk;
}

// ---- agreeing ----------------------------------------------------------------

RoadOffer RoadOffer::make() {
  RoadOffer o;
  const std::string want = common::lower_env("MOSIX_PAGE_ROAD");
  if (want == "socket") {
    o.kind_ = "socket";
    o.reason_ = "MOSIX_PAGE_ROAD=socket: a second TCP connection (a test road)";
    return o;
  }
  if (want == "tcp") {
    o.reason_ = "MOSIX_PAGE_ROAD=tcp";
    return o;
  }
  const RdmaChoice c = choose_page_transport();
  std::string unknown;
  if (!want.empty() && want != "auto" && want != "rdma") {
    unknown = fmt::format(" (MOSIX_PAGE_ROAD={} is not tcp, socket, rdma or auto)", want);
  }
  if (!c.use_rdma) {
    o.reason_ = c.reason + unknown;
    return o;
  }
  auto s = RdmaPageStream::open(RdmaRole::kSender, c.device, c.port);
  if (!s) {
    o.reason_ = fmt::format("RDMA on {} could not be opened: {}", c.device, s.error());
    return o;
  }
  o.rdma_ = std::make_shared<RdmaPageStream>(std::move(*s));
  o.kind_ = "rdma";
  o.reason_ = c.reason + unknown;
  return o;
}

void RoadOffer::fill(wire::MigrateClock& clock) const {
  clock.set_page_road(kind_);
  if (rdma_) {
    clock.set_road_rendezvous(encode_rendezvous(rdma_->local()));
  }
}

std::unique_ptr<PageRoad> RoadOffer::take(const wire::MigrateReady& ready, const Dial& dial,
                                          std::string& why) {
  if (kind_.empty()) {
    why = reason_;
    return nullptr;
  }
  if (ready.page_road() != kind_) {
    why = fmt::format("the target did not take the {} road: {}", kind_,
                      ready.road_refused().empty() ? "no reason given" : ready.road_refused());
    return nullptr;
  }
  if (kind_ == "socket") {
    auto link = dial();
    if (!link) {
      why = fmt::format("the socket road could not be dialled: {}", link.error());
      return nullptr;
    }
    auto road = make_socket_road(std::move(*link));
    why = reason_;
    return road;
  }
  auto peer = decode_rendezvous(ready.road_rendezvous());
  if (!peer) {
    why = fmt::format("the target's RDMA record: {}", peer.error());
    return nullptr;
  }
  if (auto r = rdma_->connect(*peer); !r) {
    why = fmt::format("connecting the RDMA stream: {}", r.error());
    return nullptr;
  }
  auto road = make_rdma_road(std::move(*rdma_));
  rdma_.reset();
  why = reason_;
  return road;
}

RoadAnswer answer_road(const wire::MigrateClock& clock, wire::MigrateReady& ready) {
  RoadAnswer a;
  const std::string& kind = clock.page_road();
  if (kind.empty()) {
    return a;
  }
  if (kind == "socket") {
    ready.set_page_road(kind);
    a.accept_socket = true;
    return a;
  }
  if (kind != "rdma") {
    ready.set_road_refused(fmt::format("no road called '{}' here", kind));
    return a;
  }
  auto peer = decode_rendezvous(clock.road_rendezvous());
  if (!peer) {
    ready.set_road_refused(fmt::format("the source's RDMA record: {}", peer.error()));
    return a;
  }
  const RdmaChoice c = choose_page_transport();
  if (!c.use_rdma) {
    ready.set_road_refused(c.reason);
    return a;
  }
  auto s = RdmaPageStream::open(RdmaRole::kReceiver, c.device, c.port, peer->slots);
  if (!s) {
    ready.set_road_refused(fmt::format("opening RDMA on {}: {}", c.device, s.error()));
    return a;
  }
  if (auto r = s->connect(*peer); !r) {
    ready.set_road_refused(fmt::format("connecting the RDMA stream: {}", r.error()));
    return a;
  }
  ready.set_page_road(kind);
  ready.set_road_rendezvous(encode_rendezvous(s->local()));
  a.road = make_rdma_road(std::move(*s));
  return a;
}

}  // namespace mos::remote::detail
