#pragma once
// The deputy: a program's identity on its home node. Its PID is the
// program's PID, its fd table is the program's fd table, its exit is the
// program's exit. It executes the syscalls the body's supervisor forwards,
// passes on the signals sent to it, and ends exactly as the body ended.
//
// Use: prepare() in the process that is to become the program (mosrun),
// start the body's supervisor with `supervisor_fd` (a process of its own,
// not the deputy's child), close that fd here, then serve().

#include <cstdint>
#include <string>
#include <vector>

#include "common/session.pb.h"

namespace mos::home {

// Where a remote body's guest supervisor listens (from the daemons).
struct RemoteTarget {
  std::string node;  // for messages
  std::string address;
  std::uint16_t port = 0;
  std::string token;  // the session token both sides were given
};

struct DeputySetup {
  int link_fd = -1;        // the deputy's end of the supervisor link
  int supervisor_fd = -1;  // the supervisor's end (close it here once handed on)
  int signal_read = -1;    // the signal handler's pipe
  int signal_write = -1;
  // The deputy's own fds, kept at the top of the fd space; a program naming
  // one gets EBADF from the supervisor.
  std::vector<int> hidden;
  // The program's fds at start (all others): the body gets mirrors of these.
  std::vector<int> program_fds;
  // Set when the body runs on another node: its fds are never mirrored,
  // child deputies dial the guest supervisor, and terminal and job-control
  // signals (which reach only the deputy) are passed on too.
  bool remote = false;
  RemoteTarget target;
  // The control socket (migrate, mosps): bound and served once serve()
  // runs; -1 without one.
  int control_fd = -1;
};

// Creates the link and the signal pipe, moves them out of the program's way
// and installs the signal handlers that pass signals on to the body. Exits
// the process (status 126) if the kernel refuses any of it.
DeputySetup prepare();

// mosrun -L: the program, and every child it forks, is never moved by the
// placement policy (`migrate` still moves it); mosps and the policy see it
// as ProgramStatus.stay.
void no_automatic_migration();

// mosrun -G: the policy may move the program (and its children) to the
// nodes of partner clusters that let it in (ProgramStatus.may_leave_cluster).
void may_leave_cluster();

// The same for a body on another node: dials the guest supervisor, proves
// the session token, hides the link and sends `start` (with the deputy's
// own fds filled in). On failure prints one line and exits with
// `exit_code` (nothing has run).
DeputySetup prepare_remote(const RemoteTarget& target, wire::BodyStart start, int exit_code);

// Serves the supervisor until the body is gone, then ends the process the
// way the body ended (exit status, or death by the same signal). If the
// supervisor dies first, the program is reported killed by SIGKILL.
[[noreturn]] void serve(const DeputySetup& setup);

// Asks for the body to be migrated to `node` as soon as the deputy serves
// (mosrun -M); a failure is reported on stderr and the program runs on.
void migrate_soon(const std::string& node);

}  // namespace mos::home
