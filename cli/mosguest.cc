// mosguest: the supervisor of one guest body tree, a body whose home is
// another node (mosrun -r). Started by mosixd, never by hand: fd 3 is a
// socketpair to the daemon that brings a GuestSpec and takes back a
// GuestReady (the port it listens on, or why it cannot).
//
// It makes a private mount namespace with a tmpfs that becomes the bodies'
// whole file system (remote/Sandbox.h, BodySpec::Guest), listens on the
// node's address, admits the deputy that proves the session token, takes
// the program from it (BodyStart) and supervises the body tree until it
// ends or the home side goes away. Everything it made vanishes with it:
// the namespace and its tmpfs, the bodies (they die with their supervisor).

#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/guest.pb.h"
#include "common/session.pb.h"
#include "remote/Supervisor.h"

namespace {

using namespace mos;
using common::MsgType;

// Where the staging tmpfs is mounted, in our private namespace only.
constexpr const char* kStagingDir = "/run/mosix/guests";
// A deputy that does not dial within this long after GuestReady has gone.
constexpr auto kDeputyDialTimeout = std::chrono::seconds(10);

int report(common::FramedChannel& ctl, const std::string& error, std::uint16_t port = 0) {
  wire::GuestReady r;
  r.set_port(port);
  r.set_error(error);
  r.set_pid(static_cast<std::uint32_t>(::getpid()));
  (void)ctl.send(MsgType::kGuestReady, r);
  if (!error.empty()) {
    MOS_LOG_ERROR("{}", error);
    return 1;
  }
  return 0;
}

std::string errno_text(const std::string& what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

}  // namespace

int main() {
  common::init_log_from_env();
  common::set_log_tag("mosguest");
  ::prctl(PR_SET_NAME, "mos-guest");
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2, SIGWINCH}) {
    ::signal(sig, SIG_IGN);
  }
  common::FramedChannel ctl{common::UniqueFd(3)};
  auto f = ctl.receive_for(std::chrono::seconds(5));
  wire::GuestSpec spec;
  if (!f || f->type != common::to_wire(MsgType::kGuestSpec) || !common::parse_payload(*f, spec)) {
    MOS_LOG_ERROR("no guest spec from the daemon (started by hand?)");
    return 2;
  }
  common::set_log_tag(fmt::format("mosguest[{}:{}]", spec.home(), spec.home_pid()));

  // The staging root: a tmpfs seen by us and our bodies only.
  ::mkdir("/run/mosix", 0755);
  if (::mkdir(kStagingDir, 0755) != 0 && errno != EEXIST) {
    return report(ctl, errno_text(fmt::format("mkdir {}", kStagingDir)));
  }
  if (::unshare(CLONE_NEWNS) != 0) {
    return report(ctl, errno_text("unshare(CLONE_NEWNS)"));
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return report(ctl, errno_text("making mounts private"));
  }
  if (::mount("mos-guest", kStagingDir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return report(ctl, errno_text("mount tmpfs"));
  }

  std::uint16_t port = 0;
  auto listener = common::listen_session(spec.bind_address(), port);
  if (!listener) {
    return report(ctl, listener.error());
  }
  report(ctl, "", port);
  ctl = common::FramedChannel(common::UniqueFd());

  remote::SupervisorOptions so;
  remote::BodySpec::Guest g;
  g.root = kStagingDir;
  g.uid = spec.guest_uid();
  g.gid = spec.guest_gid();
  so.body.keep_fds.clear();
  std::optional<common::AcceptedDeputy> dep;
  if (!spec.restore()) {
    auto d = common::accept_deputy(listener->get(), spec.token(), kDeputyDialTimeout);
    if (!d || !d->hello.first()) {
      MOS_LOG_ERROR("the deputy never came: {}", d ? "not the first deputy" : d.error());
      return 1;
    }
    dep = std::move(*d);
  }
  if (spec.restore()) {
    // A migration: the supervisor makes the process first, then takes the
    // source's connection and image (remote/Supervisor.h, RestoreSource).
    so.deputy_pid = static_cast<pid_t>(spec.home_pid());
    so.restore.emplace();
  } else {
    auto sf = dep->link->receive_for(common::tuning::kSessionHandshake);
    wire::BodyStart start;
    if (!sf || sf->type != common::to_wire(MsgType::kBodyStart) ||
        !common::parse_payload(*sf, start) || start.argv_size() == 0) {
      MOS_LOG_ERROR("the deputy sent no program");
      return 1;
    }
    so.deputy_pid = dep->hello.pid();
    so.link = std::move(dep->link);
    so.body.path = start.path();
    so.body.argv.assign(start.argv().begin(), start.argv().end());
    so.body.envp.assign(start.envp().begin(), start.envp().end());
    for (const auto& l : start.rlimits()) {
      g.rlimits.push_back({l.resource(), l.cur(), l.max()});
    }
    so.hidden_fds.assign(start.hidden().begin(), start.hidden().end());
    MOS_LOG_DEBUG("running {} for {} pid {}", start.path(), spec.home(), spec.home_pid());
  }
  so.body.guest = std::move(g);
  remote::GuestPlacement place;
  place.staging_root = kStagingDir;
  place.listener = std::move(*listener);
  place.token = spec.token();
  place.home = spec.home();
  so.guest = std::move(place);
  remote::run_supervisor(std::move(so));
  return 0;
}
