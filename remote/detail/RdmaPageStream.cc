// RdmaPageStream (RdmaTransport.h): the verbs side of the page stream. Its
// own file, to keep RdmaTransport.cc (the pure parts and the probe) short.

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <vector>

#include "common/Assert.h"
#include "remote/detail/RdmaTransport.h"

#if MOS_HAVE_RDMA
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#endif

namespace mos::remote::detail {

// ---- the stream ------------------------------------------------------------

RdmaPageStream::RdmaPageStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RdmaPageStream::RdmaPageStream(RdmaPageStream&&) noexcept = default;
RdmaPageStream& RdmaPageStream::operator=(RdmaPageStream&&) noexcept = default;

#if !MOS_HAVE_RDMA

struct RdmaPageStream::Impl {
  Rendezvous local;
};
RdmaPageStream::~RdmaPageStream() = default;

std::expected<RdmaPageStream, std::string> RdmaPageStream::open(RdmaRole, const std::string&,
                                                                std::uint8_t, std::uint32_t) {
  return std::unexpected("built without rdma-core");
}
const Rendezvous& RdmaPageStream::local() const {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  return impl_->local;
}
std::expected<void, std::string> RdmaPageStream::connect(const Rendezvous&) {
  return std::unexpected("built without rdma-core");
}
std::expected<void, std::string> RdmaPageStream::send_chunk(std::uint64_t,
                                                            std::span<const std::byte>,
                                                            std::chrono::milliseconds) {
  return std::unexpected("built without rdma-core");
}
std::expected<void, std::string> RdmaPageStream::finish(std::chrono::milliseconds) {
  return std::unexpected("built without rdma-core");
}
std::expected<RdmaPageStream::Chunk, std::string> RdmaPageStream::receive_chunk(
    std::chrono::milliseconds) {
  return std::unexpected("built without rdma-core");
}

#else  // MOS_HAVE_RDMA
// Everything below compiles against rdma-core but has never run on a device:
// the machine it was written on has no RDMA adapter (and no rxe or siw). It
// follows rdma-core's rc_pingpong; bring it up on hardware before trusting it.

namespace {

constexpr std::uint64_t kEndWrId = ~0ull;     // the sender's end marker
constexpr std::uint64_t kCreditWrId = ~1ull;  // the receiver's credit sends

std::unexpected<std::string> verbs_error(std::string_view what, int e) {
  return std::unexpected(fmt::format("{}: {}", what, std::strerror(e)));
}

}  // namespace

struct RdmaPageStream::Impl {
  Impl(RdmaRole r, ChunkRing g) : role(r), ring(g) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (qp != nullptr) {
      ibv_destroy_qp(qp);
    }
    if (mr != nullptr) {
      ibv_dereg_mr(mr);
    }
    if (cq != nullptr) {
      ibv_destroy_cq(cq);
    }
    if (channel != nullptr) {
      ibv_destroy_comp_channel(channel);
    }
    if (pd != nullptr) {
      ibv_dealloc_pd(pd);
    }
    if (ctx != nullptr) {
      ibv_close_device(ctx);
    }
    if (mem != nullptr) {
      ::munmap(mem, mem_bytes);
    }
  }

  std::byte* slot(std::uint32_t i) const { return mem + std::size_t{i} * kRdmaSlotStride; }
  std::expected<void, std::string> post_recv();
  std::expected<void, std::string> modify(ibv_qp_attr& a, int mask, std::string_view what);
  // Waits for one completion, until `deadline`, and handles it.
  std::expected<void, std::string> wait(std::chrono::steady_clock::time_point deadline);
  std::expected<void, std::string> handle(const ibv_wc& wc);

  RdmaRole role;
  ChunkRing ring;
  std::uint8_t port = 0;
  std::uint8_t link_layer = 0;
  ibv_context* ctx = nullptr;
  ibv_pd* pd = nullptr;
  ibv_comp_channel* channel = nullptr;
  ibv_cq* cq = nullptr;
  ibv_qp* qp = nullptr;
  ibv_mr* mr = nullptr;
  std::byte* mem = nullptr;  // the slots: the ring (receiver) or the staging (sender)
  std::size_t mem_bytes = 0;
  Rendezvous local, peer;
  bool connected = false;
  // Sender.
  std::vector<bool> writing;  // slot i: its write posted, the completion not seen
  std::uint32_t writes = 0;   // writes posted without their completion
  bool end_posted = false;
  // Receiver.
  std::deque<ChunkImm> arrived;       // accepted, not handed out yet
  std::optional<std::uint32_t> held;  // the slot of the chunk last handed out
  std::uint32_t credit_sends = 0;     // credit sends without their completion
  bool ended = false;
};

std::expected<void, std::string> RdmaPageStream::Impl::post_recv() {
  // Writes with immediate and zero-length sends consume a receive but no
  // buffer: no scatter list.
  ibv_recv_wr wr{};
  ibv_recv_wr* bad = nullptr;
  if (int e = ibv_post_recv(qp, &wr, &bad); e != 0) {
    return verbs_error("ibv_post_recv", e);
  }
  return {};
}

std::expected<void, std::string> RdmaPageStream::Impl::modify(ibv_qp_attr& a, int mask,
                                                              std::string_view what) {
  if (int e = ibv_modify_qp(qp, &a, mask); e != 0) {
    return verbs_error(fmt::format("queue pair to {}", what), e);
  }
  return {};
}

std::expected<void, std::string> RdmaPageStream::Impl::wait(
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    ibv_wc wc{};
    int n = ibv_poll_cq(cq, 1, &wc);
    if (n == 0) {
      // Armed, then polled again: a completion that came in between raises
      // no event.
      if (int e = ibv_req_notify_cq(cq, 0); e != 0) {
        return verbs_error("ibv_req_notify_cq", e);
      }
      n = ibv_poll_cq(cq, 1, &wc);
    }
    if (n < 0) {
      return std::unexpected("ibv_poll_cq failed");
    }
    if (n == 1) {
      return handle(wc);
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::unexpected("timed out");
    }
    pollfd pfd{.fd = channel->fd, .events = POLLIN, .revents = 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60000)));
    if (r < 0 && errno != EINTR) {
      return verbs_error("poll on the completion channel", errno);
    }
    if (r > 0) {
      ibv_cq* ev_cq = nullptr;
      void* ev_ctx = nullptr;
      if (ibv_get_cq_event(channel, &ev_cq, &ev_ctx) == 0) {
        ibv_ack_cq_events(ev_cq, 1);
      }
    }
  }
}

std::expected<void, std::string> RdmaPageStream::Impl::handle(const ibv_wc& wc) {
  if (wc.status != IBV_WC_SUCCESS) {
    return std::unexpected(fmt::format("RDMA completion failed: {} (is the peer gone?)",
                                       ibv_wc_status_str(wc.status)));
  }
  switch (wc.opcode) {
    case IBV_WC_RDMA_WRITE:  // sender: a chunk or the end marker is placed
      if (wc.wr_id != kEndWrId && wc.wr_id < writing.size()) {
        writing[wc.wr_id] = false;
      }
      writes -= writes > 0 ? 1 : 0;
      return {};
    case IBV_WC_RECV: {  // sender: a credit
      if ((wc.wc_flags & IBV_WC_WITH_IMM) == 0) {
        return std::unexpected("a message from the receiver without a credit");
      }
      if (auto r = post_recv(); !r) {
        return r;
      }
      if (auto r = ring.release(ntohl(wc.imm_data)); !r) {
        return std::unexpected("credit: " + r.error());
      }
      return {};
    }
    case IBV_WC_RECV_RDMA_WITH_IMM: {  // receiver: a chunk or the end marker
      if (auto r = post_recv(); !r) {
        return r;
      }
      auto c = decode_chunk_imm(ntohl(wc.imm_data), ring.slots(), ring.slot_size());
      if (!c) {
        return std::unexpected(c.error());
      }
      const std::size_t want = c->end ? 0 : kRdmaSlotHeader + c->length;
      if (wc.byte_len != want) {
        return std::unexpected(
            fmt::format("a write of {} bytes, its immediate says {}", wc.byte_len, want));
      }
      if (auto r = ring.accept(c->slot); !r) {
        return r;
      }
      arrived.push_back(*c);
      return {};
    }
    case IBV_WC_SEND:  // receiver: a credit went out
      credit_sends -= credit_sends > 0 ? 1 : 0;
      return {};
    default:
      return std::unexpected(
          fmt::format("unexpected RDMA completion (opcode {})", static_cast<int>(wc.opcode)));
  }
}

RdmaPageStream::~RdmaPageStream() = default;

std::expected<RdmaPageStream, std::string> RdmaPageStream::open(RdmaRole role,
                                                                const std::string& device,
                                                                std::uint8_t port,
                                                                std::uint32_t slots) {
  auto ring = ChunkRing::make(slots);
  if (!ring) {
    return std::unexpected(ring.error());
  }
  auto s = std::make_unique<Impl>(role, *ring);
  s->port = port;
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list == nullptr) {
    return verbs_error("no RDMA device (ibv_get_device_list)", errno);
  }
  for (int i = 0; i < n && s->ctx == nullptr; ++i) {
    if (device == ibv_get_device_name(list[i])) {
      s->ctx = ibv_open_device(list[i]);
      if (s->ctx == nullptr) {
        ibv_free_device_list(list);
        return verbs_error(fmt::format("cannot open {}", device), errno);
      }
    }
  }
  ibv_free_device_list(list);  // an opened context outlives the list
  if (s->ctx == nullptr) {
    return std::unexpected(fmt::format("no RDMA device named {}", device));
  }
  ibv_port_attr pa{};
  if (int e = ibv_query_port(s->ctx, port, &pa); e != 0) {
    return verbs_error(fmt::format("{} port {}", device, port), e);
  }
  if (pa.state != IBV_PORT_ACTIVE) {
    return std::unexpected(
        fmt::format("{} port {} is {}", device, port, ibv_port_state_str(pa.state)));
  }
  s->link_layer = pa.link_layer;
  // GID index 0: the port GID on InfiniBand, RoCE v1 link-local on
  // Ethernet. RoCE v2 across subnets would need the index chosen; untested.
  ibv_gid gid{};
  if (ibv_query_gid(s->ctx, port, 0, &gid) != 0) {
    gid = ibv_gid{};
  }
  if ((s->pd = ibv_alloc_pd(s->ctx)) == nullptr) {
    return verbs_error("ibv_alloc_pd", errno);
  }
  if ((s->channel = ibv_create_comp_channel(s->ctx)) == nullptr) {
    return verbs_error("ibv_create_comp_channel", errno);
  }
  // Sender: slots writes + the end marker + slots credits; receiver: slots
  // writes + the end marker + slots credit sends.
  const int depth = static_cast<int>(2 * slots + 2);
  if ((s->cq = ibv_create_cq(s->ctx, depth, nullptr, s->channel, 0)) == nullptr) {
    return verbs_error("ibv_create_cq", errno);
  }
  s->mem_bytes = std::size_t{slots} * kRdmaSlotStride;
  void* m =
      ::mmap(nullptr, s->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    return verbs_error("mmap of the slots", errno);
  }
  s->mem = static_cast<std::byte*>(m);
  const int access = role == RdmaRole::kReceiver ? IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE
                                                 : IBV_ACCESS_LOCAL_WRITE;
  if ((s->mr = ibv_reg_mr(s->pd, s->mem, s->mem_bytes, access)) == nullptr) {
    return verbs_error("ibv_reg_mr of the slots", errno);
  }
  ibv_qp_init_attr qa{};
  qa.send_cq = s->cq;
  qa.recv_cq = s->cq;
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = slots + 1;
  qa.cap.max_recv_wr = slots + 1;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_sge = 1;
  if ((s->qp = ibv_create_qp(s->pd, &qa)) == nullptr) {
    return verbs_error("ibv_create_qp", errno);
  }
  ibv_qp_attr a{};
  a.qp_state = IBV_QPS_INIT;
  a.pkey_index = 0;
  a.port_num = port;
  a.qp_access_flags = role == RdmaRole::kReceiver ? IBV_ACCESS_REMOTE_WRITE : 0;
  if (auto r = s->modify(a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
                         "INIT");
      !r) {
    return std::unexpected(r.error());
  }
  // Receives may be posted in INIT: they are there before the peer can send.
  for (std::uint32_t i = 0; i < slots; ++i) {
    if (auto r = s->post_recv(); !r) {
      return std::unexpected(r.error());
    }
  }
  std::random_device rd;
  s->local =
      Rendezvous{.qp_num = s->qp->qp_num,
                 .psn = rd() & 0xffffff,
                 .lid = pa.lid,
                 .gid = {},
                 .mtu = static_cast<std::uint8_t>(pa.active_mtu),
                 .addr = role == RdmaRole::kReceiver ? reinterpret_cast<std::uintptr_t>(m) : 0,
                 .rkey = role == RdmaRole::kReceiver ? s->mr->rkey : 0,
                 .slots = slots,
                 .slot_size = static_cast<std::uint32_t>(kPageChunk)};
  std::memcpy(s->local.gid.data(), gid.raw, sizeof gid.raw);
  return RdmaPageStream(std::move(s));
}

const Rendezvous& RdmaPageStream::local() const {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  return impl_->local;
}

std::expected<void, std::string> RdmaPageStream::connect(const Rendezvous& peer) {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  Impl& s = *impl_;
  if (s.connected) {
    return std::unexpected("already connected");
  }
  if (peer.slots != s.local.slots || peer.slot_size != s.local.slot_size) {
    return std::unexpected(fmt::format("the peer has {} slots of {} bytes, this side {} of {}",
                                       peer.slots, peer.slot_size, s.local.slots,
                                       s.local.slot_size));
  }
  const bool peer_has_ring = peer.addr != 0 && peer.rkey != 0;
  if (peer_has_ring != (s.role == RdmaRole::kSender)) {
    return std::unexpected("both sides of the page stream have the same role");
  }
  ibv_qp_attr a{};
  a.qp_state = IBV_QPS_RTR;
  a.path_mtu = static_cast<ibv_mtu>(std::min(s.local.mtu, peer.mtu));
  a.dest_qp_num = peer.qp_num;
  a.rq_psn = peer.psn;
  a.max_dest_rd_atomic = 1;
  a.min_rnr_timer = 12;  // 0.64 ms
  a.ah_attr.dlid = peer.lid;
  a.ah_attr.port_num = s.port;
  if (s.link_layer == IBV_LINK_LAYER_ETHERNET || peer.lid == 0) {
    a.ah_attr.is_global = 1;  // RoCE addresses by GID only
    std::memcpy(a.ah_attr.grh.dgid.raw, peer.gid.data(), peer.gid.size());
    a.ah_attr.grh.sgid_index = 0;
    a.ah_attr.grh.hop_limit = 1;
  }
  if (auto r = s.modify(a,
                        IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
                            IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
                        "RTR");
      !r) {
    return r;
  }
  a = ibv_qp_attr{};
  a.qp_state = IBV_QPS_RTS;
  a.timeout = 14;  // 4.096 us << 14 = 67 ms per try
  a.retry_cnt = 7;
  a.rnr_retry = 7;  // 7: retry for ever on "receiver not ready"
  a.sq_psn = s.local.psn;
  a.max_rd_atomic = 1;
  if (auto r = s.modify(a,
                        IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                            IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
                        "RTS");
      !r) {
    return r;
  }
  s.peer = peer;
  s.writing.assign(s.ring.slots(), false);
  s.connected = true;
  return {};
}

std::expected<void, std::string> RdmaPageStream::send_chunk(std::uint64_t addr,
                                                            std::span<const std::byte> bytes,
                                                            std::chrono::milliseconds timeout) {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  Impl& s = *impl_;
  if (!s.connected || s.role != RdmaRole::kSender || s.end_posted) {
    return std::unexpected("send_chunk on a stream that is not an open sender");
  }
  if (bytes.empty() || bytes.size() > s.ring.slot_size()) {
    return std::unexpected(fmt::format("a chunk of {} bytes (1..{})", bytes.size(), kPageChunk));
  }
  const auto len = static_cast<std::uint32_t>(bytes.size());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A credit, and the staging slot's previous write completed.
  while (!s.ring.next() || s.writing[*s.ring.next()]) {
    if (auto r = s.wait(deadline); !r) {
      return std::unexpected("waiting for a credit: " + r.error());
    }
  }
  const std::uint32_t slot = *s.ring.acquire();
  std::byte* p = s.slot(slot);
  for (std::size_t i = 0; i < kRdmaSlotHeader; ++i) {
    p[i] = static_cast<std::byte>(addr >> (8 * i) & 0xff);
  }
  std::memcpy(p + kRdmaSlotHeader, bytes.data(), len);
  const auto imm = encode_chunk_imm({.slot = slot, .length = len, .end = false}, s.ring.slots(),
                                    s.ring.slot_size());
  MOS_ASSERT(imm.has_value(), "a checked chunk's immediate");
  ibv_sge sge{.addr = reinterpret_cast<std::uintptr_t>(p),
              .length = static_cast<std::uint32_t>(kRdmaSlotHeader) + len,
              .lkey = s.mr->lkey};
  ibv_send_wr wr{};
  ibv_send_wr* bad = nullptr;
  wr.wr_id = slot;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.imm_data = htonl(*imm);
  wr.wr.rdma.remote_addr = s.peer.addr + std::uint64_t{slot} * kRdmaSlotStride;
  wr.wr.rdma.rkey = s.peer.rkey;
  if (int e = ibv_post_send(s.qp, &wr, &bad); e != 0) {
    return verbs_error("ibv_post_send of a chunk (the stream is lost)", e);
  }
  s.writing[slot] = true;
  ++s.writes;
  return {};
}

std::expected<void, std::string> RdmaPageStream::finish(std::chrono::milliseconds timeout) {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  Impl& s = *impl_;
  if (!s.connected || s.role != RdmaRole::kSender || s.end_posted) {
    return std::unexpected("finish on a stream that is not an open sender");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!s.ring.next()) {
    if (auto r = s.wait(deadline); !r) {
      return std::unexpected("waiting for a credit: " + r.error());
    }
  }
  const std::uint32_t slot = *s.ring.acquire();
  const auto imm = encode_chunk_imm({.slot = slot, .length = 0, .end = true}, s.ring.slots(),
                                    s.ring.slot_size());
  MOS_ASSERT(imm.has_value(), "the end marker's immediate");
  ibv_send_wr wr{};
  ibv_send_wr* bad = nullptr;
  wr.wr_id = kEndWrId;
  wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.imm_data = htonl(*imm);
  wr.wr.rdma.remote_addr = s.peer.addr + std::uint64_t{slot} * kRdmaSlotStride;
  wr.wr.rdma.rkey = s.peer.rkey;
  if (int e = ibv_post_send(s.qp, &wr, &bad); e != 0) {
    return verbs_error("ibv_post_send of the end marker", e);
  }
  s.end_posted = true;
  ++s.writes;
  while (s.writes > 0) {
    if (auto r = s.wait(deadline); !r) {
      return std::unexpected("waiting for the last writes: " + r.error());
    }
  }
  return {};
}

std::expected<RdmaPageStream::Chunk, std::string> RdmaPageStream::receive_chunk(
    std::chrono::milliseconds timeout) {
  MOS_ASSERT(impl_ != nullptr, "RdmaPageStream used after a move");
  Impl& s = *impl_;
  if (!s.connected || s.role != RdmaRole::kReceiver || s.ended) {
    return std::unexpected("receive_chunk on a stream that is not an open receiver");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (s.held) {
    while (s.credit_sends > s.ring.slots()) {  // room in the send queue
      if (auto r = s.wait(deadline); !r) {
        return std::unexpected("waiting to send a credit: " + r.error());
      }
    }
    if (auto r = s.ring.release(*s.held); !r) {
      return std::unexpected(r.error());
    }
    ibv_send_wr wr{};
    ibv_send_wr* bad = nullptr;
    wr.wr_id = kCreditWrId;
    wr.opcode = IBV_WR_SEND_WITH_IMM;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.imm_data = htonl(*s.held);
    if (int e = ibv_post_send(s.qp, &wr, &bad); e != 0) {
      return verbs_error("ibv_post_send of a credit", e);
    }
    ++s.credit_sends;
    s.held.reset();
  }
  while (s.arrived.empty()) {
    if (auto r = s.wait(deadline); !r) {
      return std::unexpected("waiting for pages: " + r.error());
    }
  }
  const ChunkImm c = s.arrived.front();
  s.arrived.pop_front();
  if (c.end) {
    s.ended = true;
    return Chunk{.addr = 0, .bytes = {}, .end = true};
  }
  const std::byte* p = s.slot(c.slot);
  std::uint64_t addr = 0;
  for (std::size_t i = 0; i < kRdmaSlotHeader; ++i) {
    addr |= std::uint64_t{std::to_integer<std::uint8_t>(p[i])} << (8 * i);
  }
  s.held = c.slot;
  return Chunk{.addr = addr, .bytes = {p + kRdmaSlotHeader, c.length}, .end = false};
}
#endif

}  // namespace mos::remote::detail
