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
// With -r NODE the body runs on NODE from the start: the local daemon asks
// NODE's daemon for a guest supervisor, the deputy dials it (an
// authenticated TCP session) and forwards the same way as at home.
//
// Exit codes of mosrun itself (before the program runs): 2 bad usage,
// 3 no local daemon (-r needs one), 4 unknown node, 5 node unreachable or
// refusing guests, 126 the program cannot be run, 127 the program was not
// found. Once the program runs, mosrun's status is the program's; a body
// lost with its node or link is reported as killed by SIGKILL.

#include <fmt/format.h>
#include <malloc.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Auth.h"
#include "common/ControlClient.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/UniqueFd.h"
#include "common/control.pb.h"
#include "common/guest.pb.h"
#include "home/Deputy.h"
#include "remote/Supervisor.h"

extern char** environ;

namespace {

using namespace mos;
using common::MsgType;

constexpr int kExitUsage = 2;
constexpr int kExitNoDaemon = 3;
constexpr int kExitUnknownNode = 4;
constexpr int kExitUnreachable = 5;
constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;

void usage(FILE* out) {
  std::fputs(
      "usage: mosrun [-h | -r NODE | -M NODE | -b] [-L] [-G] [-q] [--] PROGRAM [ARGS...]\n"
      "  -h        run the body at home (the default)\n"
      "  -r NODE   run the body on NODE from the start\n"
      "  -b        start the body on the best node (the placement policy's\n"
      "            choice; home if it finds none better, or no daemon answers)\n"
      "  -M NODE   start at home, migrate the body to NODE as soon as it runs\n"
      "  -L        never migrate this program automatically\n"
      "  -G        the policy may move it to partner clusters that let it in\n"
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

// Asks the local daemon for a guest supervisor on `node`. Exits with the
// documented code when there is none; nothing when the node is this one.
// `best`: the node came from -b; if it cannot take the body now, the body
// starts at home instead (nullopt) rather than mosrun failing.
std::optional<home::RemoteTarget> place_remote(const std::string& node, bool quiet,
                                               bool best = false) {
  bool fell_back = false;
  auto say = [&](int code, const std::string& msg) {
    if (!quiet) {
      std::fprintf(stderr, "mosrun: %s%s\n", msg.c_str(), best ? "; starting at home" : "");
    }
    if (!best) {
      std::exit(code);
    }
    fell_back = true;
  };
  auto client = common::ControlClient::connect(common::default_control_socket());
  if (!client) {
    say(kExitNoDaemon,
        fmt::format("-r {}: no mosixd on this node ({})", node, client.error().message));
    return std::nullopt;
  }
  home::RemoteTarget t;
  t.node = node;
  t.token = common::random_bytes(common::kSessionTokenBytes);
  wire::RemoteRunRequest req;
  req.set_node(node);
  req.set_token(t.token);
  wire::RemoteRunReply reply;
  auto r = client->call(MsgType::kRemoteRunRequest, req, MsgType::kRemoteRunReply, reply,
                        std::chrono::seconds(15));
  if (!r) {
    const auto& e = r.error();
    if (e.kind == common::ControlError::Kind::kRefused) {
      say(e.errno_code == ENOENT ? kExitUnknownNode : kExitUnreachable,
          fmt::format("-r {}: {}", node, e.message));
    }
    if (!fell_back) {
      say(e.kind == common::ControlError::Kind::kNoDaemon ? kExitNoDaemon : kExitUnreachable,
          fmt::format("-r {}: {}", node, e.message));
    }
    return std::nullopt;
  }
  if (reply.local()) {
    return std::nullopt;
  }
  t.address = reply.address();
  t.port = static_cast<std::uint16_t>(reply.port());
  return t;
}

// mosrun -b: the node the daemon's policy finds best for a new body (its
// place()); empty: home (also when no daemon answers: said, not fatal).
std::string best_node(bool may_leave_cluster, bool quiet) {
  auto warn = [&](const std::string& msg) {
    if (!quiet) {
      std::fprintf(stderr, "mosrun: -b: %s; starting at home\n", msg.c_str());
    }
    return std::string();
  };
  auto client = common::ControlClient::connect(common::default_control_socket());
  if (!client) {
    return warn(fmt::format("no mosixd on this node ({})", client.error().message));
  }
  wire::PlaceRequest req;
  req.set_may_leave_cluster(may_leave_cluster);
  wire::PlaceReply reply;
  if (auto r = client->call(MsgType::kPlaceRequest, req, MsgType::kPlaceReply, reply); !r) {
    return warn(r.error().message);
  }
  return reply.node();
}

[[noreturn]] void run_remote(const home::RemoteTarget& t, const std::string& path,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& envp) {
  wire::BodyStart start;
  start.set_path(path);
  for (const auto& a : args) {
    start.add_argv(a);
  }
  for (const auto& e : envp) {
    start.add_envp(e);
  }
  // The body's own kernel enforces these where it runs (the stack limit
  // also shapes its address space); the program reads them at home.
  for (int res = 0; res < RLIM_NLIMITS; ++res) {
    rlimit rl{};
    if (::getrlimit(res, &rl) == 0) {
      auto* l = start.add_rlimits();
      l->set_resource(res);
      l->set_cur(rl.rlim_cur);
      l->set_max(rl.rlim_max);
    }
  }
  home::DeputySetup setup = home::prepare_remote(t, std::move(start), kExitUnreachable);
  home::serve(setup);
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
  std::string migrate_to;
  bool quiet = false;
  bool best = false;
  bool leave_cluster = false;
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
      best = false;
    } else if (a == "-b") {
      best = true;
      node.clear();
      migrate_to.clear();
    } else if (a == "-G") {
      leave_cluster = true;
      home::may_leave_cluster();
    } else if (a == "-r") {
      if (i + 1 >= argc) {
        std::fputs("mosrun: -r needs a node name\n", stderr);
        return kExitUsage;
      }
      node = argv[++i];
      best = false;
    } else if (a == "-M") {
      if (i + 1 >= argc) {
        std::fputs("mosrun: -M needs a node name\n", stderr);
        return kExitUsage;
      }
      migrate_to = argv[++i];
      node.clear();
      best = false;
    } else if (a == "-L") {
      home::no_automatic_migration();
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
  if (best) {
    node = best_node(leave_cluster, quiet);
  }
  if (!node.empty()) {
    if (auto target = place_remote(node, quiet, best)) {
      run_remote(*target, path, args, envp);  // does not return
    }
    // The node named is this one: the body runs at home.
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
    so.link = std::make_unique<common::FramedChannel>(common::UniqueFd(setup.supervisor_fd));
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
  if (!migrate_to.empty()) {
    home::migrate_soon(migrate_to);
  }
  home::serve(setup);
}
