// mosrun: run a program under the system.
//
//   mosrun [-h | -r NODE] [-L] [-q] [--] PROGRAM [ARGS...]
//
// The process that runs mosrun becomes the program's deputy: its PID is the
// program's PID, its fds are the program's fds, and it exits the way the
// program exits (status or signal), so shells, `wait`, `kill` and job control
// see a plain process. The program's body runs in a seccomp sandbox whose
// supervisor forwards its system calls to the deputy.
//
// Exit codes of mosrun itself (before the program runs): 2 bad usage,
// 4 -r NODE (bodies on other nodes are not supported yet), 126 the program
// cannot be run, 127 the program was not found. (Running at home needs no
// daemon yet; 3 "no local daemon" and 5 "node unreachable" come with -r.)

#include <malloc.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/Log.h"
#include "common/UniqueFd.h"
#include "home/Deputy.h"
#include "remote/Supervisor.h"

extern char** environ;

namespace {

using namespace mos;

constexpr int kExitUsage = 2;
constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;

void usage(FILE* out) {
  std::fputs(
      "usage: mosrun [-h | -r NODE] [-L] [-q] [--] PROGRAM [ARGS...]\n"
      "  -h        run the body at home (the default)\n"
      "  -r NODE   run the body on NODE from the start\n"
      "  -L        never migrate this program automatically\n"
      "  -q        quiet: no messages from mosrun itself\n",
      out);
}

// execvp's search, done once here: the body execs an absolute path.
std::string resolve(const std::string& prog) {
  if (prog.find('/') != std::string::npos) {
    return prog;
  }
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) {
      end = p.size();
    }
    std::string dir = p.substr(start, end - start);
    std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) {
      return cand;
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  common::init_log_from_env();
  // Deputy and supervisor allocate and free a forwarded call's buffers
  // (up to a few MiB) on every call: keep them in the heap instead of
  // mapping and trimming memory each time.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::string node;
  bool quiet = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') {
      break;
    }
    if (a == "-h") {
      node.clear();
    } else if (a == "-r") {
      if (i + 1 >= argc) {
        std::fputs("mosrun: -r needs a node name\n", stderr);
        return kExitUsage;
      }
      node = argv[++i];
    } else if (a == "-L") {
      // No automatic migration exists yet; accepted so scripts keep working.
    } else if (a == "-q") {
      quiet = true;
    } else if (a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "mosrun: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return kExitUsage;
  }
  if (!node.empty()) {
    // Remote bodies need the daemons to carry the forwarding link; not built
    // yet (issue: home-node virtualization). Say so rather than run at home.
    if (!quiet) {
      std::fprintf(stderr, "mosrun: -r %s: running a body on another node is not supported yet\n",
                   node.c_str());
    }
    return 4;
  }

  std::vector<std::string> args(argv + i, argv + argc);
  std::string path = resolve(args[0]);
  if (path.empty()) {
    std::fprintf(stderr, "mosrun: %s: command not found\n", args[0].c_str());
    return kExitNotFound;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "mosrun: %s: %s\n", path.c_str(), std::strerror(errno));
    return errno == ENOENT ? kExitNotFound : kExitCannotRun;
  }
  std::vector<std::string> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    envp.emplace_back(*e);
  }

  // Deputy and supervisor wake each other for every forwarded call; on one
  // CPU that is a same-CPU wake-up (a few us), across CPUs tens of us on a
  // VM (docs/performance.md). They are idle while the body computes, so
  // pinning them together costs the program nothing; the body keeps the
  // program's own affinity.
  std::vector<int> program_cpus;
  cpu_set_t mask;
  if (::sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &mask)) {
        program_cpus.push_back(c);
      }
    }
    const int here = ::sched_getcpu();
    if (program_cpus.size() > 1 && here >= 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(here, &one);
      ::sched_setaffinity(0, sizeof one, &one);
    }
  }
  home::DeputySetup setup = home::prepare();
  const pid_t deputy = ::getpid();
  const pid_t mid = ::fork();
  if (mid < 0) {
    std::fprintf(stderr, "mosrun: fork: %s\n", std::strerror(errno));
    return kExitCannotRun;
  }
  if (mid == 0) {
    // Forked twice, so the supervisor is not the deputy's child: the
    // program's wait() must only ever see the program's own children.
    if (::fork() != 0) {
      ::_exit(0);
    }
    // Terminal signals go to the whole process group; they are the body's
    // business, not the supervisor's.
    for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH}) {
      ::signal(sig, SIG_IGN);
    }
    ::close(setup.link_fd);
    ::close(setup.signal_read);
    ::close(setup.signal_write);
    ::prctl(PR_SET_NAME, "mos-supervisor");
    remote::SupervisorOptions so;
    so.deputy_pid = deputy;
    so.link = common::UniqueFd(setup.supervisor_fd);
    so.body.path = path;
    so.body.argv = args;
    so.body.envp = std::move(envp);
    so.body.keep_fds = setup.program_fds;
    so.body.cpus = program_cpus;
    so.hidden_fds = setup.hidden;
    remote::run_supervisor(std::move(so));
    ::_exit(0);
  }
  ::close(setup.supervisor_fd);
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
  home::serve(setup);
}
