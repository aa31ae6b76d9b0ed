// The deputy's part of a live migration (docs/migration.md, "The exchange";
// the control thread's part is home/detail/DeputyControl.cc).

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "home/Executor.h"
#include "home/detail/DeputyImpl.h"

namespace mos::home::detail {

// The main thread's part of a migration: Migrate goes to the supervisor
// of the body (which freezes it and sends it to the order's target); from
// here until the body runs again the program is in exile: signals wait in
// order, calls the body had already sent are answered with the restart.
void Deputy::begin_migration(const detail::MigrateOrder& o) {
  wire::Migrate m;
  m.set_node(o.node);
  m.set_address(o.address);
  m.set_port(o.port);
  m.set_token(o.token);
  m.set_mode(static_cast<wire::MigrateMode>(o.mode));
  moving_ = o;
  moving_since_ = std::chrono::steady_clock::now();
  exile_ = true;
  if (auto r = link_.send(MsgType::kMigrate, m); !r) {
    body_lost(r.error());
  }
}

void Deputy::flush_exiled() {
  exile_ = false;
  for (int sig : exiled_signals_) {
    wire::SignalBody s;
    s.set_signo(sig);
    (void)link_.send(MsgType::kSignalBody, s);
  }
  exiled_signals_.clear();
}

// The supervisor's answer: the body could not move (it runs on there), or
// it waits at the target, where we dial it and let it run; the source
// drops its copy only then (MigrateCommit), and resumes it if we cannot.
void Deputy::finish_migration(const wire::MigrateDone& done) {
  wire::MigrateReply reply;
  reply.set_from(setup_.remote ? setup_.target.node : "home");
  if (!moving_) {
    MOS_LOG_WARN("mosrun: a migration answer nobody asked for");
    return;
  }
  const detail::MigrateOrder o = *moving_;
  moving_.reset();
  reply.set_to(o.node);
  if (!done.error().empty()) {
    flush_exiled();
    reply.set_errno_code(done.retry() ? EAGAIN : ENOEXEC);
    reply.set_error(done.error());
    detail::control_finish(reply);
    return;
  }
  std::string why;
  std::unique_ptr<common::FramedChannel> next;
  std::vector<int> hidden;
  if (auto fd = common::dial_session(o.address, o.port, std::chrono::seconds(5)); !fd) {
    why = fd.error();
  } else {
    const int nfd = hide_fd(fd->release());
    next = std::make_unique<common::FramedChannel>(common::UniqueFd(nfd));
    hidden = {nfd, setup_.signal_read, setup_.signal_write};
    if (setup_.control_fd >= 0) {
      hidden.push_back(setup_.control_fd);
    }
    wire::BodyResume resume;
    for (int h : hidden) {
      resume.add_hidden(h);
    }
    auto r = common::prove_session(*next, o.token, ::getpid(), true);
    if (r) {
      r = next->send(MsgType::kBodyResume, resume);
    }
    if (r) {
      auto f = next->receive_for(std::chrono::seconds(10));
      wire::BodyResumed resumed;
      if (!f) {
        r = std::unexpected(f.error());
      } else if (f->type != common::to_wire(MsgType::kBodyResumed) ||
                 !common::parse_payload(*f, resumed) || !resumed.error().empty()) {
        r = std::unexpected(std::string("the target did not resume the body"));
      }
    }
    if (!r) {
      why = r.error();
    }
  }
  wire::MigrateCommit commit;
  commit.set_resume_here(!why.empty());
  (void)link_.send(MsgType::kMigrateCommit, commit);
  if (!why.empty()) {
    flush_exiled();  // on the old link: the body runs on where it was
    reply.set_errno_code(EHOSTUNREACH);
    reply.set_error(fmt::format("{} could not take the body: {}", o.node, why));
    detail::control_finish(reply);
    return;
  }
  link_ = std::move(*next);
  setup_.link_fd = link_.fd();
  setup_.hidden = hidden;
  if (!setup_.remote) {
    // Off the terminal's process group now: its signals reach only us.
    setup_.remote = true;
    g_body_remote = true;
    pass_job_control_signals();
  }
  setup_.target = RemoteTarget{o.node, o.address, o.port, o.token};
  detail::control_set_where(o.node, true);
  flush_exiled();
  reply.set_frozen_us(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - moving_since_)
                                     .count()));
  reply.set_bytes(done.image_bytes());
  reply.set_mode(done.mode());
  reply.set_precopy_us(done.precopy_us());
  reply.set_rounds(done.rounds());
  reply.set_later_bytes(done.later_bytes());
  reply.set_page_road(done.page_road());
  // The program was frozen from the end of the pre-copy rounds only.
  reply.set_frozen_us(reply.frozen_us() - std::min(reply.frozen_us(), done.precopy_us()));
  detail::control_finish(reply);
}

}  // namespace mos::home::detail
