#include "remote/detail/Postcopy.h"

#include <fmt/format.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/Log.h"

namespace mos::remote::detail {

namespace {
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t chunk_of(std::uint64_t addr) {
  return addr & ~(static_cast<std::uint64_t>(kPageChunk) - 1);
}
}  // namespace

std::expected<PageStats, std::string> send_working_set(const Tracee& t,
                                                       const wire::MigrateImage& image,
                                                       const user_regs_struct& regs, PageSink& out,
                                                       Ranges& sent) {
  const std::uint64_t ip = regs.rip & ~(kPage - 1), sp = regs.rsp & ~(kPage - 1);
  Ranges want = {{ip, ip + kPage}, {sp - (64 << 10), sp + (16 << 10)}};
  if (image.rseq_ptr() != 0) {
    const std::uint64_t r = image.rseq_ptr() & ~(kPage - 1);
    want.emplace_back(r, r + 2 * kPage);
  }
  want = subtract(std::move(want), {});
  PageSender pages(t, out);
  for (const auto& a : image.areas()) {
    if (kernel_area(a.name())) {
      continue;
    }
    // (Only these pieces looked at: a scan of a whole large area would
    // cost milliseconds of the freeze.)
    Ranges here;
    const bool file = !a.name().empty() && a.name()[0] != '[';
    for (const auto& [from, to] : intersect(want, {{a.start(), a.end()}})) {
      auto have = file ? std::nullopt : t.populated(from, to);
      if (!have) {
        here.emplace_back(from, to);
      } else {
        here.insert(here.end(), have->begin(), have->end());
      }
    }
    for (const auto& [from, to] : here) {
      if (auto r = pages.send(from, to); !r) {
        return std::unexpected(r.error());
      }
      sent.emplace_back(from, to);
    }
  }
  if (auto r = out.send(common::MsgType::kMigrateEnd, wire::MigrateEnd{}); !r) {
    return std::unexpected(r.error());
  }
  return pages.stats;
}

std::expected<void, std::string> enable_pager_features(int uffd) {
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_UNMAP;
  if (::ioctl(uffd, UFFDIO_API, &api) != 0) {
    return std::unexpected(fmt::format("UFFDIO_API: {}", std::strerror(errno)));
  }
  return {};
}

Pager::Pager()
    : done_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      go_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    started_ = std::unexpected(fmt::format("cannot start the pager: {}", e.what()));
  }
}

Pager::~Pager() {
  stop();
  join();
}

void Pager::begin(common::UniqueFd uffd, std::unique_ptr<PageSource> source, int body_pidfd,
                  int program_pid) {
  program_pid_ = program_pid;
  begun_ = std::chrono::steady_clock::now();
  uffd_ = std::move(uffd);
  source_ = std::move(source);
  body_pidfd_ = body_pidfd;
  const std::uint64_t one = 1;
  (void)!::write(go_.get(), &one, sizeof one);  // (the thread reads the above after this)
}

void Pager::run() {
  pollfd fds[2] = {{go_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0) {
  }
  if (fds[0].revents & POLLIN) {
    serve();
  }
  const std::uint64_t one = 1;
  (void)!::write(done_.get(), &one, sizeof one);
}

void Pager::stop() {
  const std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
}

void Pager::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::uint64_t Pager::here(std::uint64_t a) const {
  for (const auto& m : moves_) {
    if (a >= m.from && a < m.from + m.len) {
      a = a - m.from + m.to;
    }
  }
  return a;
}

std::uint64_t Pager::there(std::uint64_t a) const {
  for (auto it = moves_.rbegin(); it != moves_.rend(); ++it) {
    if (a >= it->to && a < it->to + it->len) {
      a = a - it->to + it->from;
    }
  }
  return a;
}

bool Pager::discarded(std::uint64_t addr) const {
  for (const auto& [s, e] : discarded_) {
    if (addr >= s && addr < e) {
      return true;
    }
  }
  return false;
}

// The body's events: faults (ask for the chunk), and what it does to its
// memory meanwhile. False if the userfaultfd failed.
bool Pager::on_event() {
  uffd_msg msgs[16];
  for (;;) {
    const ssize_t n = ::read(uffd_.get(), msgs, sizeof msgs);
    if (n < 0) {
      return errno == EAGAIN || errno == EINTR;
    }
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(uffd_msg)); ++i) {
      const uffd_msg& m = msgs[i];
      switch (m.event) {
        case UFFD_EVENT_PAGEFAULT: {
          const std::uint64_t addr = m.arg.pagefault.address & ~(kPage - 1);
          ++faults_;
          if (discarded(addr)) {
            put_zeros(addr, kPage);
            break;
          }
          const std::uint64_t src = there(addr);
          if (asked_.insert(chunk_of(src)).second) {
            char head[8];
            std::memcpy(head, &src, sizeof head);
            if (!source_->channel().send_parts(common::MsgType::kMigratePageRequest,
                                               {std::string_view(head, sizeof head)})) {
              return false;
            }
          }
          break;
        }
        case UFFD_EVENT_REMOVE:
          discarded_.emplace_back(m.arg.remove.start, m.arg.remove.end);
          discarded_ = subtract(std::move(discarded_), {});
          break;
        case UFFD_EVENT_REMAP:
          moves_.push_back({m.arg.remap.from, m.arg.remap.to, m.arg.remap.len});
          break;
        default:
          break;  // an unmap: copies there fail with ENOENT, and are dropped
      }
    }
  }
}

void Pager::put(std::uint64_t src_addr, const char* data, std::uint64_t len) {
  bytes_ += len;
  for (std::uint64_t off = 0; off < len && !mm_gone_;) {
    const std::uint64_t addr = here(src_addr + off);
    if (discarded(addr)) {
      off += kPage;
      continue;
    }
    // As far as the next discarded page or the end.
    std::uint64_t n = kPage;
    while (off + n < len && !discarded(here(src_addr + off + n)) &&
           here(src_addr + off + n) == addr + n) {
      n += kPage;
    }
    uffdio_copy c{};
    c.dst = addr;
    c.src = reinterpret_cast<std::uint64_t>(data + off);
    c.len = n;
    if (::ioctl(uffd_.get(), UFFDIO_COPY, &c) == 0) {
      off += n;
      continue;
    }
    const int e = errno;
    off += c.copy > 0 ? static_cast<std::uint64_t>(c.copy) : 0;
    if (e == EAGAIN) {
      (void)on_event();  // the body changes its mappings: hear about it first
    } else if (e == ESRCH) {
      mm_gone_ = true;  // the body exited or exec'd: nothing to fill
    } else {
      if (e != EEXIST && e != ENOENT) {
        MOS_LOG_WARN("post-copy: UFFDIO_COPY at {:#x}: {}", addr, std::strerror(e));
      }
      off += kPage;  // there already (EEXIST), or unmapped since (ENOENT)
    }
  }
}

void Pager::put_zeros(std::uint64_t addr, std::uint64_t len) {
  for (std::uint64_t off = 0; off < len && !mm_gone_;) {
    uffdio_zeropage z{};
    z.range.start = addr + off;
    z.range.len = len - off;
    if (::ioctl(uffd_.get(), UFFDIO_ZEROPAGE, &z) == 0) {
      return;
    }
    const int e = errno;
    off += z.zeropage > 0 ? static_cast<std::uint64_t>(z.zeropage) : 0;
    if (e == EAGAIN) {
      (void)on_event();
    } else if (e == ESRCH) {
      mm_gone_ = true;
    } else {
      if (e != EEXIST && e != ENOENT) {
        MOS_LOG_WARN("post-copy: UFFDIO_ZEROPAGE at {:#x}: {}", addr + off, std::strerror(e));
      }
      off += kPage;
    }
  }
}

// A frame of pages or zeros; false for anything else.
bool Pager::on_frame(const common::Frame& f) {
  if (f.type == common::to_wire(common::MsgType::kMigratePages) && f.payload.size() > 8) {
    std::uint64_t addr = 0;
    std::memcpy(&addr, f.payload.data(), 8);
    put(addr, f.payload.data() + 8, f.payload.size() - 8);
    return true;
  }
  if (f.type == common::to_wire(common::MsgType::kMigrateZero) && f.payload.size() == 16) {
    std::uint64_t range[2];
    std::memcpy(range, f.payload.data(), sizeof range);
    for (std::uint64_t off = 0; off < range[1]; off += kPage) {
      const std::uint64_t addr = here(range[0] + off);
      if (!discarded(addr)) {
        put_zeros(addr, kPage);
      }
    }
    return true;
  }
  MOS_LOG_ERROR("post-copy: unexpected frame {} from the source", f.type);
  return false;
}

void Pager::serve() {
  enum { kMore, kEnd, kLost, kStopped } state = kMore;
  while (state == kMore) {
    common::Frame f;
    std::string bad;
    common::FrameStatus st;
    while (state == kMore && (st = source_->buffered(f, &bad)) == common::FrameStatus::kOk) {
      if (f.type == common::to_wire(common::MsgType::kMigrateEnd)) {
        state = kEnd;
      } else if (!on_frame(f)) {
        state = kLost;
      }
    }
    if (state == kMore && st != common::FrameStatus::kNeedMore) {
      MOS_LOG_ERROR("post-copy: the source's stream broke: {}",
                    bad.empty() ? std::string(common::frame_status_name(st)) : bad);
      state = kLost;
    }
    if (state != kMore) {
      break;
    }
    pollfd fds[3] = {
        {uffd_.get(), POLLIN, 0}, {source_->fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      continue;
    }
    if (fds[2].revents & POLLIN) {
      state = kStopped;
      break;
    }
    if ((fds[0].revents & POLLIN) && !on_event()) {
      MOS_LOG_ERROR("post-copy: the body's userfaultfd failed: {}", std::strerror(errno));
      state = kLost;
      break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto r = source_->receive(std::chrono::seconds(30));
      if (!r) {
        MOS_LOG_ERROR("post-copy: the source is gone before the last page: {}", r.error());
        state = kLost;
      } else if (r->type == common::to_wire(common::MsgType::kMigrateEnd)) {
        state = kEnd;
      } else if (!on_frame(*r)) {
        state = kLost;
      }
    }
  }
  if (state == kLost) {
    // Its pages are nowhere else now: the program ends (killed).
    failed_ = true;
    ::syscall(SYS_pidfd_send_signal, body_pidfd_, SIGKILL, nullptr, 0);
  }
  // Closing the userfaultfd unregisters the areas (what never came reads as
  // zeros: holes) and wakes anyone still waiting.
  uffd_.reset();
  if (state == kEnd) {
    (void)source_->channel().send(common::MsgType::kMigratePostcopyDone, wire::MigrateEnd{});
    MOS_LOG_INFO("post-copy of {}: every page in {} ms after it resumed ({} faults, {} bytes)",
                 program_pid_,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - begun_)
                     .count(),
                 faults_, bytes_);
  }
}

PageServer::PageServer(const Tracee& t, const wire::MigrateImage& image, PageSink& out,
                       const Ranges& sent)
    : t_(t), image_(image), out_(out), pages_(t, out) {
  for (const auto& a : image.areas()) {
    if (kernel_area(a.name())) {
      continue;
    }
    for (auto [from, to] : subtract(area_pages(t, a, nullptr), sent)) {
      while (from < to) {
        const std::uint64_t end = std::min(to, chunk_of(from) + kPageChunk);
        todo_.emplace_back(from, end);
        remaining_ += end - from;
        from = end;
      }
    }
  }
}

std::expected<void, std::string> PageServer::serve(const common::Frame& request) {
  if (request.payload.size() != 8) {
    return std::unexpected(std::string("malformed page request"));
  }
  std::uint64_t addr = 0;
  std::memcpy(&addr, request.payload.data(), 8);
  ++requests_;
  // The whole chunk, in every area it touches: the target asks once a chunk.
  const std::uint64_t base = chunk_of(addr);
  bool mine = false;
  for (const auto& a : image_.areas()) {
    const std::uint64_t from = std::max(base, a.start()), to = std::min(base + kPageChunk, a.end());
    if (kernel_area(a.name()) || from >= to) {
      continue;
    }
    mine = mine || (addr >= a.start() && addr < a.end());
    if (auto r = pages_.send(from, to, true); !r) {
      return r;
    }
  }
  served_.insert(base);
  if (mine) {
    return {};
  }
  // Not the body's memory at the freeze: zeros.
  const std::uint64_t page = addr & ~(kPage - 1);
  return pages_.zero(page, page + kPage);
}

std::expected<bool, std::string> PageServer::push() {
  while (!todo_.empty() && served_.contains(chunk_of(todo_.front().first))) {
    remaining_ -= todo_.front().second - todo_.front().first;
    todo_.pop_front();
  }
  if (todo_.empty()) {
    if (!ended_) {
      ended_ = true;
      if (auto r = out_.send(common::MsgType::kMigrateEnd, wire::MigrateEnd{}); !r) {
        return std::unexpected(r.error());
      }
    }
    return false;
  }
  const auto [from, to] = todo_.front();
  todo_.pop_front();
  remaining_ -= to - from;
  if (auto r = pages_.send(from, to); !r) {
    return std::unexpected(r.error());
  }
  return true;
}

}  // namespace mos::remote::detail
