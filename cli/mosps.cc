// mosps: the programs of this home node, where their bodies run.
//
//   mosps [-a]
//
// One line per program: PID, the node its body runs on, its state (home,
// remote, migrating), memory (resident), CPU time, the rate of forwarded
// syscalls over the last seconds, migrations so far, and the command.
// Without -a only the caller's own programs; -a shows every user's (root).

#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "common/FrameIo.h"
#include "common/migrate.pb.h"
#include "home/ProgramControl.h"

int main(int argc, char** argv) {
  using namespace mos;
  bool all = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-a") {
      all = true;
    } else if (a == "-h" || a == "--help") {
      std::puts("usage: mosps [-a]");
      return 0;
    } else {
      std::fprintf(stderr, "mosps: unknown option '%s'\nusage: mosps [-a]\n", argv[i]);
      return 2;
    }
  }
  if (all && ::getuid() != 0) {
    std::fputs("mosps: -a needs root (other users' programs do not answer you)\n", stderr);
    return 13;
  }
  std::printf("%7s %-10s %-9s %9s %9s %9s %4s %s\n", "PID", "WHERE", "STATE", "RSS", "CPU",
              "CALLS/S", "MIGR", "COMMAND");
  for (pid_t pid : home::listed_programs()) {
    auto f = home::ask_program(pid, common::MsgType::kProgramStatusRequest,
                               wire::ProgramStatusRequest{}, std::chrono::seconds(1));
    if (!f) {
      if (f.error().errno_code == ECONNREFUSED || f.error().errno_code == ENOENT) {
        home::forget_program(pid);  // a program that died without cleaning up
      }
      continue;
    }
    wire::ProgramStatus s;
    if (f->type != common::to_wire(common::MsgType::kProgramStatus) ||
        !common::parse_payload(*f, s)) {
      continue;  // not ours to see (the answer was a refusal)
    }
    if (!all && s.uid() != ::getuid()) {
      continue;
    }
    std::printf("%7d %-10s %-9s %8.1fM %8.1fs %9.0f %4u %s\n", s.pid(), s.where().c_str(),
                s.state().c_str(), s.rss_bytes() / 1048576.0, s.cpu_ms() / 1000.0, s.syscall_rate(),
                s.migrations(), s.command().c_str());
  }
  return 0;
}
