#pragma once
// The sandbox supervisor: serves one body's seccomp notifications.
//
//   local    never reaches us (the filter lets it run)
//   forward  marshalled to the deputy over `link`, executed there, the
//            result and output buffers written back into the body
//   special  handled here (exec and exit run natively; close runs at the
//            deputy and then natively on the body's mirror fd; ...)
//   refuse   answered with the table's errno; unknown numbers with ENOSYS
//
// The body's fd table mirrors the deputy's: every fd the program has exists
// at the same number in the body (at home, the same open file, taken from
// the deputy with pidfd_getfd and installed with SECCOMP_IOCTL_NOTIF_ADDFD),
// so mmap of a file and exec run natively while read and write go home.
//
// If the deputy dies (link EOF, or for a guest a link silent past its
// keepalive) the body is killed; when the body exits its wait status goes
// to the deputy, which exits the same way.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/FramedChannel.h"
#include "common/UniqueFd.h"
#include "common/migrate.pb.h"
#include "remote/Sandbox.h"

namespace mos::remote {

struct SupervisorStats {
  std::uint64_t notifications = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t continued = 0;
  std::uint64_t refused = 0;
  std::uint64_t unknown = 0;  // numbers outside the table: answered ENOSYS
};

// A guest supervisor serves a body on another node than its deputy (the
// `-r NODE` case): no fd can be taken from the deputy, so the body holds
// local copies only where its own kernel needs a file (mmap, exec; fetched
// into `staging_root`, see detail/FileCache.h), and child deputies dial
// `listener` with `token` instead of handing over a socketpair end.
struct GuestPlacement {
  std::string staging_root;  // the body's "/" (a tmpfs of ours)
  common::UniqueFd listener;
  std::string token;
  std::string home;  // the home node's name, for messages
};

// A guest supervisor that takes a migrating body rather than starting a
// program: `image` came from the source supervisor on `source`, which
// brings the pages next. The deputy dials afterwards (BodyResume).
struct RestoreSource {
  wire::MigrateImage image;
  std::unique_ptr<common::FramedChannel> source;
};

struct SupervisorOptions {
  pid_t deputy_pid = -1;                        // the deputy (at home: fds are taken from it)
  std::unique_ptr<common::FramedChannel> link;  // framed stream to the deputy
  BodySpec body;
  // The deputy's own fds (its link, its signal pipe): a program that names
  // one gets EBADF, as if it were not open.
  std::vector<int> hidden_fds;
  std::optional<GuestPlacement> guest;
  std::optional<RestoreSource> restore;  // needs `guest`
};

// Runs until the body has exited or the deputy is gone. Returns the body's
// wait status (as from waitpid), or -1 if the body could not be started (the
// reason has been sent to the deputy and logged).
int run_supervisor(SupervisorOptions options);

}  // namespace mos::remote
