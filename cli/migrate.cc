// migrate: moves a running program's body to another node, or home.
//
//   migrate [-w | --async] [-m auto|stop|precopy|postcopy] PID NODE|home
//
// PID is the program's PID on this (its home) node. Waits (-w, the
// default) until the body runs at its destination and prints how long the
// program was frozen and how many bytes moved; --async returns once the
// move has begun. After a failed move the program runs on where it was.
// -m picks how the pages move (docs/migration.md, "Modes"): stop-and-copy,
// pre-copy (rounds while the program runs, then a short freeze), post-copy
// (it runs at NODE at once, its pages follow); auto by the body's size.
//
// Exit status: 0 moved; 1 not moved (the reason is printed); 2 usage;
// 3 no such program; 4 unknown node; 5 node unreachable or refusing;
// 13 not your program.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/migrate.pb.h"
#include "home/ProgramControl.h"

namespace {

using namespace mos;

void usage(FILE* out) {
  std::fputs(
      "usage: migrate [-w | --async] [-m MODE] PID NODE|home\n"
      "  -w        wait until the body runs at NODE (the default)\n"
      "  --async   return as soon as the move has begun\n"
      "  -m MODE   auto (the default: by size), stop (stop-and-copy),\n"
      "            precopy, postcopy\n",
      out);
}

const char* mode_name(wire::MigrateMode m) {
  switch (m) {
    case wire::MODE_STOP_COPY:
      return "stop-and-copy";
    case wire::MODE_PRECOPY:
      return "pre-copy";
    case wire::MODE_POSTCOPY:
      return "post-copy";
    default:
      return "auto";
  }
}

int exit_for(int e) {
  switch (e) {
    case ENOENT:
      return 4;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ETIMEDOUT:
    case EAGAIN:
      return 5;
    case EPERM:
      return 13;
    default:
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  common::init_log_from_env();
  bool wait = true;
  wire::MigrateMode mode = wire::MODE_AUTO;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    std::string_view a = argv[i];
    if (a == "-w") {
      wait = true;
    } else if (a == "--async") {
      wait = false;
    } else if (a == "-m" || a.starts_with("--mode")) {
      std::string_view m;
      if (a.starts_with("--mode=")) {
        m = a.substr(7);
      } else if (i + 1 < argc) {
        m = argv[++i];
      }
      if (m == "auto") {
        mode = wire::MODE_AUTO;
      } else if (m == "stop" || m == "stop-and-copy") {
        mode = wire::MODE_STOP_COPY;
      } else if (m == "precopy" || m == "pre-copy") {
        mode = wire::MODE_PRECOPY;
      } else if (m == "postcopy" || m == "post-copy") {
        mode = wire::MODE_POSTCOPY;
      } else {
        std::fprintf(stderr, "migrate: unknown mode '%.*s' (auto, stop, precopy, postcopy)\n",
                     static_cast<int>(m.size()), m.data());
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "migrate: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (argc - i != 2) {
    usage(stderr);
    return 2;
  }
  char* end = nullptr;
  const long pid = std::strtol(argv[i], &end, 10);
  if (end == argv[i] || *end != '\0' || pid <= 0 || pid > 0x3fffffff) {
    std::fprintf(stderr, "migrate: '%s' is not a PID\n", argv[i]);
    return 2;
  }
  const std::string node = argv[i + 1];
  wire::MigrateRequest req;
  req.set_node(node);
  req.set_wait(wait);
  req.set_mode(mode);
  auto f = home::ask_program(static_cast<pid_t>(pid), common::MsgType::kMigrateRequest, req,
                             std::chrono::minutes(11));
  if (!f) {
    std::fprintf(stderr, "migrate: %s\n", f.error().message.c_str());
    return f.error().errno_code == ENOENT || f.error().errno_code == ECONNREFUSED ? 3 : 1;
  }
  wire::MigrateReply reply;
  if (f->type != common::to_wire(common::MsgType::kMigrateReply) ||
      !common::parse_payload(*f, reply)) {
    std::fprintf(stderr, "migrate: program %ld gave a malformed answer\n", pid);
    return 1;
  }
  if (!reply.error().empty()) {
    std::fprintf(stderr, "migrate: %ld: %s\n", pid, reply.error().c_str());
    return exit_for(reply.errno_code());
  }
  if (!wait) {
    std::printf("migrating %ld from %s to %s\n", pid, reply.from().c_str(), reply.to().c_str());
    return 0;
  }
  std::printf("migrated %ld from %s to %s (%s): frozen %.1f ms, %.1f MiB moved", pid,
              reply.from().c_str(), reply.to().c_str(), mode_name(reply.mode()),
              reply.frozen_us() / 1000.0, reply.bytes() / 1048576.0);
  if (reply.mode() == wire::MODE_PRECOPY) {
    std::printf(" after %u rounds in %.1f ms", reply.rounds(), reply.precopy_us() / 1000.0);
  }
  if (reply.mode() == wire::MODE_POSTCOPY) {
    std::printf(", %.1f MiB following", reply.later_bytes() / 1048576.0);
  }
  if (!reply.page_road().empty()) {
    std::printf(", pages on the %s road", reply.page_road().c_str());
  }
  std::printf(", %.1f ms in all\n", reply.total_us() / 1000.0);
  return 0;
}
