// The modes of a live migration at the source beyond stop-and-copy
// (docs/migration.md, "Modes"): pre-copy's rounds while the body runs,
// post-copy's serving of the pages after it has left; and at the target,
// the end of post-copy's pager. SupervisorMigrate.cc has the exchange
// common to all three.

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <chrono>
#include <cstring>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "remote/detail/DirtyTracker.h"
#include "remote/detail/Inject.h"
#include "remote/detail/RdmaTransport.h"
#include "remote/detail/SupervisorImpl.h"

namespace mos::remote::detail {

namespace {

// Pre-copy: freeze once a round finds at most this much written (its copy
// then takes a few milliseconds), or after kMaxRounds, or when the rounds
// stop shrinking (the body writes as fast as the pages go), or after
// kPrecopyLimit in all.
constexpr std::uint64_t kFreezeBytes = 2 << 20;
constexpr std::uint32_t kMaxRounds = 12;
constexpr auto kPrecopyLimit = std::chrono::seconds(30);
// Post-copy: how much the source lets wait unsent in its socket while
// pushing (a page asked for waits behind at most this much).
constexpr int kPushBacklog = 256 << 10;

}  // namespace

void log_page_road(int program, const std::string& node, bool daemon_log, const RoadOffer& offer,
                   const PageRoad* road, const std::string& why) {
  static bool said = false;
  std::string line;
  if (!offer.kind().empty()) {
    line = fmt::format("migration: pages of {} to {} go {} ({})", program, node,
                       road != nullptr ? fmt::format("on the {} road", road->name())
                                       : std::string("on the channel"),
                       why);
  } else if (!said) {
    said = true;
    line = fmt::format("migration: pages to {} go over TCP ({})", node, why);
  } else {
    return;
  }
  if (daemon_log) {
    MOS_LOG_INFO("{}", line);
  } else {
    MOS_LOG_DEBUG("{}", line);
  }
}

std::expected<Supervisor::Precopied, std::string> Supervisor::precopy(Member& m,
                                                                      std::optional<Tracee>& t,
                                                                      user_regs_struct& regs,
                                                                      PageSink& out, bool& running,
                                                                      bool& sent_any) {
  running = false;
  sent_any = false;
  const auto t0 = MigrationClock::now();
  const Tracee::Pump inject = pump_for(m.host_pid, nullptr, Hold::kInject);
  const Tracee::Pump hold = pump_for(m.host_pid, &m, Hold::kHold);
  const Tracee::Pump freeze = pump_for(m.host_pid, &m, Hold::kFreeze);
  MOS_TRY(first, list_areas(m.host_pid));
  first->set_mode(wire::MODE_PRECOPY);
  fill_image(m, *first);
  for (const auto& a : first->areas()) {
    if (a.name() == "[vdso]") {
      if (auto r = t->use_vdso(a.start(), a.end()); !r) {
        return std::unexpected(r.error());
      }
    }
  }
  MOS_TRY(tracker, DirtyTracker::start(*t, m.pidfd.get(), *first, inject));
  sent_any = true;
  if (auto r = out.send(MsgType::kMigrateImage, *first); !r) {
    return std::unexpected(fmt::format("sending the areas: {}", r.error()));
  }
  // It runs on (its forwarded calls wait: the deputy is in exile) while
  // its pages go.
  running = true;
  if (auto r = resume_frozen(*t, regs, inject); !r) {
    kill_body(m);
    return std::unexpected(fmt::format("cannot resume the body for pre-copy: {}", r.error()));
  }
  const auto resumed = MigrationClock::now();  // (the time it runs is not frozen time)
  PageStats stats;
  Ranges have;  // what the target has
  std::uint32_t rounds = 0;
  {
    PageSender pages(*t, out);
    for (const auto& a : first->areas()) {
      if (kernel_area(a.name())) {
        continue;
      }
      for (const auto& [from, to] : area_pages(*t, a, &pages.stats.holes)) {
        if (auto r = pages.send(from, to); !r) {
          return std::unexpected(r.error());
        }
        have.emplace_back(from, to);
      }
      hold(0);
    }
    std::uint64_t before = ~0ull;
    for (rounds = 1; rounds <= kMaxRounds; ++rounds) {
      Ranges dirty;
      for (const auto& a : first->areas()) {
        if (kernel_area(a.name())) {
          continue;
        }
        MOS_TRY(w, tracker->take_written(a.start(), a.end()));
        dirty.insert(dirty.end(), w->begin(), w->end());
      }
      for (const auto& [from, to] : dirty) {
        if (auto r = pages.send(from, to, true); !r) {
          return std::unexpected(r.error());
        }
        have.emplace_back(from, to);
      }
      hold(0);
      const std::uint64_t now = bytes_of(dirty);
      MOS_LOG_DEBUG("pre-copy of {}: round {} sent {} bytes written since", m.program_pid, rounds,
                    now);
      if (now <= kFreezeBytes || (rounds >= 3 && now * 10 > before * 9) ||
          MigrationClock::now() - t0 > kPrecopyLimit) {
        break;
      }
      before = now;
    }
    rounds = std::min(rounds, kMaxRounds);
    stats = pages.stats;
  }
  // The freeze: what was written since the last round, and the state.
  auto s = Tracee::seize(m.host_pid);
  if (!s) {
    return std::unexpected(s.error());
  }
  t.reset();
  t.emplace(std::move(*s));
  const std::uint64_t precopy_us = micros_since(resumed);
  if (auto r = t->interrupt(std::chrono::seconds(5), freeze); !r) {
    t->detach();
    return std::unexpected(fmt::format("cannot freeze the body: {}", r.error()));
  }
  MOS_TRY(now, t->regs());
  regs = *now;
  running = false;
  MOS_TRY(last, dump_state(*t, inject));
  last->set_mode(wire::MODE_PRECOPY);
  fill_image(m, *last);
  MOS_TRY(plan, plan_final(*tracker, *first, *last, merged(std::move(have))));
  for (const auto& [from, to] : plan->fresh) {
    auto* r = last->add_fresh();
    r->set_start(from);
    r->set_end(to);
  }
  if (auto r = out.send(MsgType::kMigrateImage, *last); !r) {
    return std::unexpected(fmt::format("sending the image: {}", r.error()));
  }
  PageSender pages(*t, out);
  for (const auto& [from, to] : plan->fresh_send) {
    if (auto r = pages.send(from, to); !r) {
      return std::unexpected(r.error());
    }
  }
  for (const auto& [from, to] : plan->written) {
    if (auto r = pages.send(from, to, true); !r) {
      return std::unexpected(r.error());
    }
  }
  for (const auto& [from, to] : plan->zero) {
    if (auto r = pages.zero(from, to); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = out.send(MsgType::kMigrateEnd, wire::MigrateEnd{}); !r) {
    return std::unexpected(r.error());
  }
  MOS_LOG_DEBUG("pre-copy of {}: {} rounds in {} us, then {} bytes frozen ({} fresh ranges)",
                m.program_pid, rounds, precopy_us, pages.stats.sent, plan->fresh.size());
  stats.sent += pages.stats.sent;
  stats.holes += pages.stats.holes;
  return Precopied{std::move(*last), stats, rounds, precopy_us};
}

std::string Supervisor::postcopy_serve(Member& m, Tracee& t, PageSink& sink,
                                       const wire::MigrateImage& image, const Ranges& sent,
                                       wire::MigrateDone& done, bool& resume_here, bool& told) {
  resume_here = false;
  told = false;
  const auto t0 = MigrationClock::now();
  // What to push (a scan of every area), while the target restores.
  PageServer server(t, image, sink, sent);
  common::FramedChannel& out = sink.channel();
  auto f = out.receive_for(kRestoreTimeout);
  wire::MigrateRestored restored;
  if (!f || f->type != common::to_wire(MsgType::kMigrateRestored) ||
      !common::parse_payload(*f, restored) || !restored.error().empty()) {
    resume_here = true;
    return fmt::format("the target did not restore the body: {}", !f ? f.error()
                                                                  : restored.error().empty()
                                                                      ? "wrong answer"
                                                                      : restored.error());
  }
  done.set_later_bytes(server.remaining());
  if (m.link_gone || !m.link->send(MsgType::kMigrateDone, done)) {
    return "the deputy is gone";
  }
  told = true;
  (void)::setsockopt(out.fd(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &kPushBacklog, sizeof kPushBacklog);
  bool committed = false, target_done = false, target_gone = false, pushing = true;
  std::string problem;
  auto from_target = [&](const common::Frame& r) {
    if (r.type == common::to_wire(MsgType::kMigratePageRequest)) {
      if (auto s = server.serve(r); !s) {
        problem = s.error();
      }
    } else if (r.type == common::to_wire(MsgType::kMigratePostcopyDone)) {
      target_done = true;
    } else {
      problem = fmt::format("unexpected frame {} from the target", r.type);
    }
  };
  // False: the deputy is gone or said to resume here.
  auto from_deputy = [&](const common::Frame& c) {
    wire::MigrateCommit commit;
    if (c.type == common::to_wire(MsgType::kMigrateCommit) && common::parse_payload(c, commit)) {
      resume_here = commit.resume_here();
      committed = !resume_here;
      if (resume_here) {
        problem = "the target could not resume it";
      }
    } else if (c.type == common::to_wire(MsgType::kSyscallReply) ||
               c.type == common::to_wire(MsgType::kSignalBody)) {
      serve_link_frame(m, c);
    }
  };
  while (problem.empty() && !(committed && target_done)) {
    common::Frame r;
    while (!target_gone && problem.empty() && out.buffered(r) == common::FrameStatus::kOk) {
      from_target(r);
    }
    while (!committed && !m.link_gone && problem.empty() &&
           m.link->buffered(r) == common::FrameStatus::kOk) {
      from_deputy(r);
    }
    if (!problem.empty() || (committed && target_done)) {
      break;
    }
    if (target_gone && committed) {
      problem = "the target is gone before the last page";
      break;
    }
    const bool deputy = !committed && !m.link_gone;
    if (!committed && MigrationClock::now() - t0 > kCommitTimeout) {
      problem = "no word from the deputy";
      break;
    }
    pollfd fds[2] = {
        {target_gone ? -1 : out.fd(), static_cast<short>(POLLIN | (pushing ? POLLOUT : 0)), 0},
        {deputy ? m.link->fd() : -1, POLLIN, 0}};
    if (target_gone && !deputy) {
      problem = "both the target and the deputy are gone";
      break;
    }
    if (::poll(fds, 2, 1000) <= 0) {
      continue;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto q = out.receive();
      if (!q) {
        target_gone = true;  // the deputy says whether it ran there
      } else {
        from_target(*q);
      }
    } else if (fds[0].revents & POLLOUT) {
      auto more = server.push();
      if (!more) {
        target_gone = true;
      } else {
        pushing = *more;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto c = m.link->receive();
      if (!c) {
        m.link_gone = true;
        problem = "the deputy is gone";
      } else {
        from_deputy(*c);
      }
    }
  }
  MOS_LOG_DEBUG("post-copy of {}: {} requests, {} page bytes in {} us after the restore",
                m.program_pid, server.requests(), server.stats().sent, micros_since(t0));
  return problem;
}

bool Supervisor::hold_for_pager(const seccomp_notif& n) {
  if (!pager_) {
    return false;
  }
  const int nr = n.data.nr;
  if (nr != SYS_fork && nr != SYS_vfork && nr != SYS_clone && nr != SYS_clone3) {
    return false;
  }
  held_forks_.push_back(n);
  return true;
}

void Supervisor::pager_finished() {
  pager_->join();
  if (pager_->failed()) {
    MOS_LOG_ERROR("supervisor: post-copy failed: the program is killed");
  }
  pager_.reset();
  while (!held_forks_.empty()) {
    deferred_.push_front(held_forks_.back());
    held_forks_.pop_back();
  }
}

}  // namespace mos::remote::detail
