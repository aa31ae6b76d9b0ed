// mosixd: the node daemon. One per node, run as root.
//
//   mosixd --config FILE [--log-level LEVEL]
//
// Serves the local control socket, keeps an authenticated link to every
// other node of the cluster, and (in later modules) gossips load, hosts
// deputies and accepts bodies. SIGTERM or SIGINT shuts it down cleanly.

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "common/Asio.h"
#include "common/Auth.h"
#include "common/Config.h"
#include "common/ControlServer.h"
#include "common/FrameIo.h"
#include "common/LinkManager.h"
#include "common/Log.h"
#include "common/control.pb.h"

namespace {

using namespace mos;
using common::MsgType;

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 3;
constexpr int kExitStartup = 4;

void usage(FILE* out) {
  std::fputs(
      "usage: mosixd --config FILE [--log-level error|warn|info|debug|trace]\n"
      "  The log level may also come from the MOS_LOG environment variable;\n"
      "  the flag wins over the variable, which wins over the config file.\n",
      out);
}

struct Args {
  std::string config;
  std::string log_level;
};

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mosixd: %s needs a value\n", argv[i]);
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (arg == "--config" || arg == "-c") {
      if (!value(a.config))
        return false;
    } else if (arg.starts_with("--config=")) {
      a.config = std::string(arg.substr(9));
    } else if (arg == "--log-level") {
      if (!value(a.log_level))
        return false;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "mosixd: unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  if (a.config.empty()) {
    std::fputs("mosixd: --config FILE is required\n", stderr);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    usage(stderr);
    return kExitUsage;
  }
  auto cfg = common::load_config(args.config);
  if (!cfg) {
    std::fprintf(stderr, "mosixd: %s\n", cfg.error().c_str());
    return kExitConfig;
  }
  const common::Config& config = *cfg;
  common::set_log_level(*common::parse_log_level(config.log_level));
  common::init_log_from_env();
  if (!args.log_level.empty()) {
    auto l = common::parse_log_level(args.log_level);
    if (!l) {
      std::fprintf(stderr, "mosixd: --log-level %s: not a level\n", args.log_level.c_str());
      return kExitUsage;
    }
    common::set_log_level(*l);
  }
  common::set_log_tag("mosixd[" + config.node_name + "]");

  const std::uint64_t boot_id = [] {
    std::string b = common::random_bytes(8);
    std::uint64_t v = 0;
    std::memcpy(&v, b.data(), sizeof v);
    return v;
  }();
  const auto started = std::chrono::steady_clock::now();

  asio::io_context io(1);
  common::LinkManager links(io, config, boot_id);
  common::ControlServer control(io, config.control_socket);

  control.on_request(
      MsgType::kStatusRequest,
      [&](common::ControlConnection& c, const common::Frame&) -> asio::awaitable<void> {
        wire::StatusReply r;
        r.set_node(config.node_name);
        r.set_cluster(config.cluster_name);
        r.set_uptime_s(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        r.set_daemon_pid(static_cast<std::uint32_t>(getpid()));
        for (auto& s : links.status()) {
          *r.add_nodes() = std::move(s);
        }
        co_await c.reply(MsgType::kStatusReply, r);
      });

  if (auto r = control.start(); !r) {
    MOS_LOG_ERROR("{}", r.error());
    return kExitStartup;
  }
  if (auto r = links.start(); !r) {
    MOS_LOG_ERROR("{}", r.error());
    control.stop();
    return kExitStartup;
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) {
      return;
    }
    MOS_LOG_INFO("signal {}: shutting down", sig);
    links.stop();
    control.stop();
    // Let the close frames and FINs go out, then end the loop.
    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
    t->async_wait([&io, t](boost::system::error_code) { io.stop(); });
  });
  // A peer that disappears must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  MOS_LOG_INFO("node {} of cluster {} started (pid {})", config.node_name, config.cluster_name,
               getpid());
  io.run();
  MOS_LOG_INFO("stopped");
  return 0;
}
