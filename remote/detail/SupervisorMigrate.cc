// Live migration in the supervisor: a body of this tree leaves
// (migrate_out, on the deputy's Migrate), or a tree starts with a body that
// arrives (start_restored). See docs/migration.md for the whole exchange;
// the image itself is remote/detail/Image.h.

#include <fmt/format.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "remote/detail/Clocks.h"
#include "remote/detail/Image.h"
#include "remote/detail/PageRoad.h"
#include "remote/detail/ProcView.h"
#include "remote/detail/SupervisorImpl.h"

namespace mos::remote::detail {

namespace {

// How long a restored body waits for its deputy to dial.
constexpr auto kDeputyTimeout = std::chrono::seconds(10);
// How long the source waits for the target's new process before it freezes.
constexpr auto kReadyTimeout = std::chrono::seconds(15);
// How long a move waits for the pages of the last one (post-copy).
constexpr auto kPagesTimeout = std::chrono::milliseconds(60000);
// MODE_AUTO: pre-copy for a body with more resident memory than this.
constexpr unsigned long long kPrecopyAbove = 64ull << 20;

}  // namespace

// One notification: the migrating body's are answered here (freezing:
// -ERESTARTSYS, the interrupt's trap being pending, so its kernel restarts
// the call once it runs again, there; an injected call: run it) or kept
// (pre-copy), the others wait in deferred_ for the loop.
void Supervisor::take_notification(pid_t pid, Hold how) {
  seccomp_notif n{};
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) {
    return;
  }
  if (static_cast<pid_t>(n.pid) != pid) {
    deferred_.push_back(n);
    return;
  }
  switch (how) {
    case Hold::kFreeze:
      respond(n, {false, -kErestartSys});
      break;
    case Hold::kInject:
      respond(n, {true, 0});
      break;
    case Hold::kHold:
      held_notif_ = n;
      break;
  }
}

// While `pid` is migrating: its notifications are taken as `how` says,
// and (when it moves at its deputy's request: `m`) the replies and signals
// still coming on its link are applied, so the freeze completes what was
// under way.
Tracee::Pump Supervisor::pump_for(pid_t pid, Member* m, Hold how) {
  return [this, pid, m, how](int ms) {
    if (how == Hold::kFreeze && held_notif_) {
      // Kept during pre-copy; the interrupt is on its way now.
      respond(*held_notif_, {false, -kErestartSys});
      held_notif_.reset();
    }
    auto serve = [&](const common::Frame& f) {
      if (f.type == common::to_wire(MsgType::kSyscallReply) ||
          f.type == common::to_wire(MsgType::kSignalBody)) {
        serve_link_frame(*m, f);
      } else {
        MOS_LOG_WARN("supervisor: message {} from the deputy while its body moves", f.type);
      }
    };
    const bool link = m != nullptr && !m->link_gone;
    if (link) {
      common::Frame f;
      while (m->link->buffered(f) == common::FrameStatus::kOk) {
        serve(f);
      }
    }
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {link ? m->link->fd() : -1, POLLIN, 0}};
    if (::poll(fds, 2, ms) <= 0) {
      return;
    }
    if (fds[0].revents & POLLIN) {
      take_notification(pid, how);
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto f = m->link->receive();
      if (!f) {
        m->link_gone = true;
      } else {
        serve(*f);
      }
    }
  };
}

void Supervisor::fill_image(const Member& m, wire::MigrateImage& image) const {
  image.set_program_pid(m.program_pid);
  image.set_exe(program_exe(m));
  image.clear_rlimits();
  for (int res = 0; res < RLIM_NLIMITS; ++res) {
    rlimit rl{};
    if (::prlimit(m.host_pid, static_cast<__rlimit_resource>(res), nullptr, &rl) == 0) {
      auto* l = image.add_rlimits();
      l->set_resource(res);
      l->set_cur(rl.rlim_cur);
      l->set_max(rl.rlim_max);
    }
  }
}

wire::MigrateMode Supervisor::choose_mode(const Member& m, wire::MigrateMode asked) const {
  if (asked != wire::MODE_AUTO) {
    return asked;
  }
  if (auto mem = proc_memory(m.host_pid); mem && mem->rss_bytes > kPrecopyAbove) {
    return wire::MODE_PRECOPY;
  }
  return wire::MODE_STOP_COPY;
}

void Supervisor::migrate_out(Member& m, const wire::Migrate& req) {
  const auto t0 = MigrationClock::now();
  wire::MigrateDone done;
  auto refuse = [&](const std::string& why) {
    MOS_LOG_DEBUG("supervisor: {} stays here: {}", m.program_pid, why);
    done.set_error(why);
    if (held_notif_) {
      deferred_.push_back(*held_notif_);  // served now, by its deputy
      held_notif_.reset();
    }
    if (!m.link_gone) {
      (void)m.link->send(MsgType::kMigrateDone, done);
    }
  };
  if (m.exited || m.is_thread) {
    refuse(m.exited ? "the program has exited" : "a thread cannot move alone");
    return;
  }
  // Frozen first in every case: the deputy may already have answered a
  // call -ERESTARTSYS for the move, which only a stopped body may get.
  std::optional<Tracee> t;
  if (auto s = Tracee::seize(m.host_pid); !s) {
    refuse(s.error());
    return;
  } else {
    t.emplace(std::move(*s));
  }
  const Tracee::Pump freeze = pump_for(m.host_pid, &m, Hold::kFreeze);
  const Tracee::Pump inject = pump_for(m.host_pid, nullptr, Hold::kInject);
  // The target first, while the body still runs: it makes the new process
  // (in a time namespace continuing the body's clocks) as we freeze.
  // A failure before the freeze still freezes and resumes the body: the
  // deputy may have cut its call short for the move (answered with the
  // restart), which only a stopped body may get.
  auto refuse_running = [&](const std::string& why) {
    if (t->interrupt(std::chrono::seconds(5), freeze)) {
      if (auto r = t->regs(); r && resume_frozen(*t, *r, inject)) {
        refuse(why);
        return;
      }
      MOS_LOG_ERROR("supervisor: cannot resume {} after a failed move", m.program_pid);
      kill_body(m);
    }
    t->detach();
    refuse(why);
  };
  // A body that came by post-copy leaves only with all of its pages: what
  // has not come yet is nowhere in it to be read.
  if (pager_) {
    pollfd p{pager_->done_fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kPagesTimeout.count())) <= 0) {
      refuse_running("its pages are still arriving from its last move");
      return;
    }
    pager_finished();
  }
  const wire::MigrateMode mode = choose_mode(m, req.mode());
  done.set_mode(mode);
  auto fd = common::dial_session(req.address(), static_cast<std::uint16_t>(req.port()),
                                 std::chrono::seconds(5));
  if (!fd) {
    refuse_running(fmt::format("cannot reach {}: {}", req.node(), fd.error()));
    return;
  }
  common::FramedChannel out{std::move(*fd)};
  if (auto r = common::prove_session(out, req.token(), m.program_pid, true); !r) {
    refuse_running(fmt::format("{} refused the session: {}", req.node(), r.error()));
    return;
  }
  auto clock = clock_of(m.host_pid);
  RoadOffer offer = RoadOffer::make();
  if (clock) {
    offer.fill(*clock);
  }
  if (!clock || !out.send(MsgType::kMigrateClock, *clock)) {
    refuse_running(fmt::format("telling {} the body's clocks: {}", req.node(),
                               clock ? "the link failed" : clock.error()));
    return;
  }
  // Frozen only once the target's new process waits for the image.
  wire::MigrateReady ready;
  if (auto r = out.receive_for(kReadyTimeout); !r ||
                                               r->type != common::to_wire(MsgType::kMigrateReady) ||
                                               !common::parse_payload(*r, ready)) {
    refuse_running(fmt::format("{} could not make a process for the body ({})", req.node(),
                               r ? "wrong answer" : r.error()));
    return;
  }
  // The pages' road (the channel unless both ends agreed on another).
  std::string road_why;
  std::unique_ptr<PageRoad> road = offer.take(
      ready,
      [&]() -> std::expected<std::unique_ptr<common::FramedChannel>, std::string> {
        auto rfd = common::dial_session(req.address(), static_cast<std::uint16_t>(req.port()),
                                        std::chrono::seconds(5));
        if (!rfd) {
          return std::unexpected(rfd.error());
        }
        auto link = std::make_unique<common::FramedChannel>(std::move(*rfd));
        if (auto p = common::prove_session(*link, req.token(), m.program_pid, false); !p) {
          return std::unexpected(p.error());
        }
        return link;
      },
      road_why);
  log_page_road(m.program_pid, req.node(), guest(), offer, road.get(), road_why);
  if (road) {
    done.set_page_road(std::string(road->name()));
  }
  PageSink sink(out, road.get());
  // Until here the body ran (the dial, the last post-copy's pages): not
  // frozen time. (The deputy's clock started at its Migrate.)
  const auto freeze_at = MigrationClock::now();
  done.set_precopy_us(micros_since(t0));
  if (auto r = t->interrupt(std::chrono::seconds(5), freeze); !r) {
    t->detach();
    refuse(fmt::format("cannot freeze the body: {}", r.error()));
    return;
  }
  user_regs_struct regs{};
  if (auto r = t->regs(); !r) {
    t->detach();
    refuse(r.error());
    return;
  } else {
    regs = *r;
  }
  auto give_up = [&](const std::string& why) {
    if (auto r = resume_frozen(*t, regs, inject); !r) {
      MOS_LOG_ERROR("supervisor: cannot resume {} after a failed move: {}", m.program_pid,
                    r.error());
      kill_body(m);
    }
    refuse(why);
  };
  for (const auto& [pid, other] : members_) {
    if (other.is_thread && other.process_host_pid == m.host_pid && !other.exited) {
      give_up("the program has threads (only single-threaded programs move)");
      return;
    }
  }
  if (m.exec_pending || !m.bootstrapped) {
    done.set_retry(true);
    give_up("the program is still starting (in its exec)");
    return;
  }
  wire::MigrateImage image;
  PageStats pages;
  Ranges working_set;
  std::uint64_t frozen_us = micros_since(freeze_at);
  wire::MigrateMode how = mode;
  if (mode == wire::MODE_PRECOPY) {
    bool running = false, sent = false;
    auto pre = precopy(m, t, regs, sink, running, sent);
    if (!pre && !sent && req.mode() == wire::MODE_AUTO) {
      // (A kernel without async uffd write-protect: the whole body frozen.)
      MOS_LOG_INFO("supervisor: {} moves by stop-and-copy: {}", m.program_pid, pre.error());
      how = wire::MODE_STOP_COPY;
      done.set_mode(how);
    } else if (!pre) {
      const std::string why = fmt::format("pre-copy to {}: {}", req.node(), pre.error());
      if (running) {
        refuse(why);
      } else {
        give_up(why);
      }
      return;
    } else {
      image = std::move(pre->image);
      pages = pre->stats;
      done.set_precopy_us(done.precopy_us() + pre->precopy_us);
      done.set_rounds(pre->rounds);
      frozen_us = micros_since(freeze_at) - pre->precopy_us;
    }
  }
  if (how != wire::MODE_PRECOPY) {
    auto img = dump_state(*t, inject);
    if (!img) {
      give_up(img.error());
      return;
    }
    image = std::move(*img);
    image.set_mode(how);
    fill_image(m, image);
    if (auto r = sink.send(MsgType::kMigrateImage, image); !r) {
      give_up(fmt::format("sending the image to {}: {}", req.node(), r.error()));
      return;
    }
    std::expected<PageStats, std::string> sent =
        mode == wire::MODE_POSTCOPY ? send_working_set(*t, image, regs, sink, working_set)
                                    : send_pages(*t, image, sink);
    if (!sent) {
      give_up(fmt::format("sending the pages to {}: {}", req.node(), sent.error()));
      return;
    }
    pages = *sent;
  }
  const std::uint64_t dump_us = micros_since(t0);
  MOS_LOG_DEBUG("supervisor: {} frozen after {} us, pages sent at {} us", m.program_pid, frozen_us,
                dump_us);
  done.set_bytes(pages.sent + pages.holes);
  done.set_image_bytes(pages.sent);
  done.set_dump_us(dump_us);
  if (mode == wire::MODE_POSTCOPY) {
    bool resume_here = false, told = false;
    const std::string why =
        postcopy_serve(m, *t, sink, image, working_set, done, resume_here, told);
    if (resume_here) {
      if (!told) {
        give_up(why);  // the deputy is told by the refusal
        return;
      }
      MOS_LOG_INFO("supervisor: {} resumes here ({})", m.program_pid, why);
      if (auto r = resume_frozen(*t, regs, inject); !r) {
        kill_body(m);
      }
      return;
    }
    if (!why.empty()) {
      MOS_LOG_WARN("supervisor: post-copy of {} failed: {}", m.program_pid, why);
    }
  } else {
    auto f = out.receive_for(kRestoreTimeout);
    wire::MigrateRestored restored;
    if (!f || f->type != common::to_wire(MsgType::kMigrateRestored) ||
        !common::parse_payload(*f, restored)) {
      give_up(fmt::format("{} did not restore the body ({})", req.node(),
                          f ? "wrong answer" : f.error()));
      return;
    }
    if (!restored.error().empty()) {
      give_up(fmt::format("{} could not restore the body: {}", req.node(), restored.error()));
      return;
    }
    MOS_LOG_DEBUG("supervisor: {} restored at {} in {} us, {} us after the freeze", m.program_pid,
                  req.node(), restored.restore_us(), micros_since(freeze_at));
    // The body waits at the target; ours stays frozen until the deputy
    // says which one runs.
    if (m.link_gone || !m.link->send(MsgType::kMigrateDone, done)) {
      MOS_LOG_WARN("supervisor: the deputy of {} is gone during its move", m.program_pid);
      t->kill();
      m.exited = true;
      return;
    }
    bool resume_here = false;
    for (;;) {
      auto c = m.link->receive_for(kCommitTimeout);
      if (!c) {
        // No deputy: no program (and the target's copy goes with it).
        MOS_LOG_WARN("supervisor: no word from the deputy of {} after its move: {}", m.program_pid,
                     c.error());
        break;
      }
      wire::MigrateCommit commit;
      if (c->type == common::to_wire(MsgType::kMigrateCommit) &&
          common::parse_payload(*c, commit)) {
        resume_here = commit.resume_here();
        break;
      }
      MOS_LOG_WARN("supervisor: message {} from the deputy while waiting for its commit", c->type);
    }
    if (resume_here) {
      MOS_LOG_INFO("supervisor: {} resumes here (the target failed)", m.program_pid);
      if (auto r = resume_frozen(*t, regs, inject); !r) {
        kill_body(m);
      }
      return;
    }
  }
  // Gone from here: no exit to report, the deputy has a new link.
  m.exited = true;
  t->kill();
  m.link_gone = true;
  m.link.reset();
  m.pidfd.reset();
  MOS_LOG_DEBUG("supervisor: {} moved to {} ({} bytes, {} of them pages sent)", m.program_pid,
                req.node(), done.bytes(), done.image_bytes());
}

bool Supervisor::start_restored(Member& first) {
  RestoreSource& rs = *opts_.restore;
  const pid_t program = opts_.deputy_pid;
  // Post-copy's thread, in case: none can start once the namespace is made.
  auto pager = std::make_unique<Pager>();
  // The source dials before it freezes the body and says its clocks; the
  // new process is made meanwhile (namespaces, sandbox, filter: none of it
  // costs freeze time), in a time namespace that continues them if ours
  // would not.
  auto src = common::accept_deputy(opts_.guest->listener.get(), opts_.guest->token, kDeputyTimeout);
  if (!src || !src->hello.first() || src->hello.pid() != program) {
    MOS_LOG_ERROR("supervisor: the body of {} never came: {}", program,
                  src ? "not its source" : src.error());
    return false;
  }
  rs.source = std::move(src->link);
  auto cf = rs.source->receive_for(common::tuning::kSessionHandshake);
  wire::MigrateClock clock;
  if (!cf || cf->type != common::to_wire(MsgType::kMigrateClock) ||
      !common::parse_payload(*cf, clock)) {
    MOS_LOG_ERROR("supervisor: the source of {} did not say its clocks", program);
    return false;
  }
  auto here = kernel_clocks();
  auto mine = read_time_offsets(0);
  if (!here || !mine) {
    MOS_LOG_ERROR("supervisor: cannot read this node's clocks: {}",
                  here ? mine.error() : here.error());
    return false;
  }
  BodySpec spec = opts_.body;
  if (const TimeOffsets want = continuing_offsets(clock, *here); want != *mine) {
    spec.time = want;
    MOS_LOG_DEBUG("supervisor: {} gets a time namespace (monotonic {:+} ns, boottime {:+} ns)",
                  program, want.monotonic_ns, want.boottime_ns);
  }
  auto ns = BodyNamespace::create(&spec);
  if (!ns) {
    MOS_LOG_ERROR("supervisor: cannot make a namespace for {}: {}", program, ns.error());
    return false;
  }
  ns_ = std::move(*ns);
  if (auto r = ns_->set_next_pid(program); !r) {
    MOS_LOG_WARN("supervisor: the body will not get PID {}: {}", program, r.error());
  }
  spec.restore_stub = true;
  spec.argv = {"mos-restore"};
  spec.path = "/";
  auto body = spawn_body(spec, &*ns_);
  if (!body) {
    MOS_LOG_ERROR("supervisor: cannot start a process for {}: {}", program, body.error());
    return false;
  }
  listener_ = std::move(body->listener);
  auto t = Tracee::seize(body->pid);
  if (!t) {
    ::syscall(SYS_pidfd_send_signal, body->pidfd.get(), SIGKILL, nullptr, 0);
    MOS_LOG_ERROR("supervisor: {}", t.error());
    return false;
  }
  const Tracee::Pump pump = pump_for(body->pid, nullptr, Hold::kInject);
  auto stopped = t->interrupt(std::chrono::seconds(5), pump);
  // What needs no image, while the source freezes and dumps: its fds of
  // the start closed (a copy of the listener; the userfaultfd, taken first:
  // post-copy's), a scratch page, its own areas unmapped.
  RestoreOptions how;
  if (const int fd = find_listener_fd(body->pid); fd >= 0) {
    how.close_fds.push_back(fd);  // stopped before it closed its copy
  }
  common::UniqueFd uffd;
  if (const int fd = find_anon_fd(body->pid, "anon_inode:[userfaultfd]"); fd >= 0) {
    how.close_fds.push_back(fd);
    uffd.reset(static_cast<int>(::syscall(SYS_pidfd_getfd, body->pidfd.get(), fd, 0)));
  }
  if (stopped) {
    stopped = prepare_stub(*t, pump, how.close_fds);
    how.prepared = true;
  }
  wire::MigrateReady ready;
  RoadAnswer road = answer_road(clock, ready);
  if (!ready.road_refused().empty()) {
    MOS_LOG_INFO("supervisor: the pages of {} come on the channel: {}", program,
                 ready.road_refused());
  }
  if (!stopped || !rs.source->send(MsgType::kMigrateReady, ready)) {
    MOS_LOG_ERROR("supervisor: no process for {}: {}", program,
                  stopped ? "the source is gone" : stopped.error());
    t->kill();
    return false;
  }
  if (road.accept_socket) {
    // (Dialled like a deputy's link, as the program's non-first one; if it
    // does not come the pages come on the channel.)
    auto r = common::accept_deputy(opts_.guest->listener.get(), opts_.guest->token,
                                   common::tuning::kSessionHandshake);
    if (r && !r->hello.first() && r->hello.pid() == program) {
      road.road = make_socket_road(std::move(r->link));
    } else {
      MOS_LOG_WARN("supervisor: the socket page road of {} did not come: {}", program,
                   r ? "not its source" : r.error());
    }
  }
  auto mf = rs.source->receive_for(common::tuning::kSessionHandshake);
  if (!mf || mf->type != common::to_wire(MsgType::kMigrateImage) ||
      !common::parse_payload(*mf, rs.image) || rs.image.program_pid() != program) {
    MOS_LOG_ERROR("supervisor: the source of {} sent no image", program);
    t->kill();
    return false;
  }
  wire::MigrateImage& img = rs.image;
  const auto t0 = MigrationClock::now();
  auto in = std::make_unique<PageSource>(std::move(rs.source), std::move(road.road));
  auto answer = [&](const std::string& error) {
    wire::MigrateRestored r;
    r.set_error(error);
    r.set_restore_us(micros_since(t0));
    (void)in->channel().send(MsgType::kMigrateRestored, r);
    if (!error.empty()) {
      MOS_LOG_ERROR("supervisor: cannot restore {}: {}", img.program_pid(), error);
    }
    return error.empty();
  };
  if (img.mode() == wire::MODE_POSTCOPY) {
    if (!pager->started()) {
      t->kill();
      return answer(pager->started().error());
    }
    if (!uffd) {
      t->kill();
      return answer("no userfaultfd for post-copy here");
    }
    if (auto e = enable_pager_features(uffd.get()); !e) {
      t->kill();
      return answer(e.error());
    }
    how.uffd = uffd.get();
  } else {
    uffd.reset();
  }
  auto r = stopped ? restore(*t, img, *in, pump, how) : std::unexpected(stopped.error());
  if (!r) {
    t->kill();
    return answer(r.error());
  }
  MOS_LOG_DEBUG("supervisor: {} restored in {} us", img.program_pid(), micros_since(t0));
  if (!answer("")) {
    t->kill();
    return false;
  }
  auto dep = common::accept_deputy(opts_.guest->listener.get(), opts_.guest->token, kDeputyTimeout);
  if (!dep || !dep->hello.first() || dep->hello.pid() != img.program_pid()) {
    MOS_LOG_ERROR("supervisor: the deputy of {} never came to resume it: {}", img.program_pid(),
                  dep ? "not its deputy" : dep.error());
    t->kill();
    return false;
  }
  auto f = dep->link->receive_for(common::tuning::kSessionHandshake);
  wire::BodyResume resume;
  if (!f || f->type != common::to_wire(MsgType::kBodyResume) ||
      !common::parse_payload(*f, resume)) {
    MOS_LOG_ERROR("supervisor: the deputy of {} sent no resume", img.program_pid());
    t->kill();
    return false;
  }
  first.link = std::move(dep->link);
  first.hidden.assign(resume.hidden().begin(), resume.hidden().end());
  first.program_pid = img.program_pid();
  first.process_pid = img.program_pid();
  first.host_pid = body->pid;
  first.process_host_pid = body->pid;
  first.pidfd = std::move(body->pidfd);
  first.our_child = !ns_->via_init();
  first.bootstrapped = true;
  first.same_pid = innermost_pid(body->pid) == first.program_pid;
  first.exe = img.exe();
  if (uffd) {
    // From here its missing pages are fetched as it touches them.
    pager->begin(std::move(uffd), std::move(in), first.pidfd.get(), first.program_pid);
    pager_ = std::move(pager);
  }
  t->detach();
  (void)first.link->send(MsgType::kBodyResumed, wire::BodyResumed{});
  MOS_LOG_INFO("supervisor: {} runs here ({} us from its image to running)", first.program_pid,
               micros_since(t0));
  return true;
}

// What mosps shows of each body, about once a second (the deputy keeps the
// latest).
void Supervisor::report_usage() {
  const auto now = MigrationClock::now();
  if (now - last_usage_ < std::chrono::seconds(1)) {
    return;
  }
  last_usage_ = now;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  for (auto& [pid, m] : members_) {
    // (Not while a forwarded call waits at the deputy: a frame then would
    // interrupt it, see watch_calls_begin; its usage changes little anyway.)
    if (m.exited || m.link_gone || m.is_thread || m.pending) {
      continue;
    }
    wire::BodyUsage u;
    if (auto mem = proc_memory(m.host_pid)) {
      u.set_vm_bytes(mem->vm_bytes);
      u.set_rss_bytes(mem->rss_bytes);
    }
    const auto st = proc_stat_fields(m.host_pid);
    u.set_cpu_ms((st[14] + st[15]) * 1000 / static_cast<std::uint64_t>(ticks));  // utime + stime
    // What it adds to a node's load (the board counts runnable tasks),
    // whatever share of a crowded CPU it gets.
    m.runnable = 0.5 * m.runnable + 0.5 * (st[3] == 'R' ? 1.0 : 0.0);
    u.set_runnable(m.runnable);
    (void)m.link->send(MsgType::kBodyUsage, u);
  }
}

}  // namespace mos::remote::detail
