// mosctl: administer the local node's daemon.
//
//   mosctl [--socket PATH] status [--json]
//
// Exit codes: 0 ok, 2 usage, 3 no daemon reachable, 4 the daemon refused.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/Asio.h"
#include "common/FrameIo.h"
#include "common/Watchdog.h"
#include "common/control.pb.h"

namespace {

using namespace mos;
using common::MsgType;

constexpr int kExitUsage = 2;
constexpr int kExitNoDaemon = 3;
constexpr int kExitRefused = 4;
constexpr const char* kDefaultSocket = "/run/mosix/mosixd.sock";

void usage(FILE* out) {
  std::fputs(
      "usage: mosctl [--socket PATH] status [--json]\n"
      "  status   this node's view of the cluster: every configured node,\n"
      "           whether its link is up, and the round-trip time\n"
      "  --socket the daemon's control socket (default /run/mosix/mosixd.sock,\n"
      "           or $MOSIX_SOCKET)\n",
      out);
}

const char* state_name(wire::LinkState s) {
  switch (s) {
    case wire::LINK_SELF:
      return "self";
    case wire::LINK_UP:
      return "up";
    case wire::LINK_CONNECTING:
      return "connecting";
    case wire::LINK_DOWN:
      return "down";
    default:
      return "unknown";
  }
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void print_status(const wire::StatusReply& r, bool json) {
  int up = 0;
  for (const auto& n : r.nodes()) {
    up += (n.state() == wire::LINK_UP || n.state() == wire::LINK_SELF) ? 1 : 0;
  }
  if (json) {
    fmt::print("{{\"node\":{},\"cluster\":{},\"uptime_s\":{:.3f},\"pid\":{},\"nodes\":[",
               json_string(r.node()), json_string(r.cluster()), r.uptime_s(), r.daemon_pid());
    for (int i = 0; i < r.nodes_size(); ++i) {
      const auto& n = r.nodes(i);
      fmt::print(
          "{}{{\"name\":{},\"address\":{},\"port\":{},\"link\":\"{}\",\"rtt_us\":{:.1f},"
          "\"since_s\":{:.3f},\"reconnects\":{},\"last_error\":{}}}",
          i ? "," : "", json_string(n.name()), json_string(n.address()), n.port(),
          state_name(n.state()), n.rtt_us(), n.since_s(), n.reconnects(),
          json_string(n.last_error()));
    }
    fmt::print("],\"configured\":{},\"up\":{}}}\n", r.nodes_size(), up);
    return;
  }
  fmt::print("node {} of cluster {}, daemon pid {}, up {:.1f} s\n", r.node(), r.cluster(),
             r.daemon_pid(), r.uptime_s());
  fmt::print("{:<16} {:<28} {:<11} {:>9} {:>9}  {}\n", "NODE", "ADDRESS", "LINK", "RTT(us)",
             "SINCE(s)", "NOTE");
  for (const auto& n : r.nodes()) {
    std::string addr = n.address().find(':') != std::string::npos
                           ? fmt::format("[{}]:{}", n.address(), n.port())
                           : fmt::format("{}:{}", n.address(), n.port());
    std::string rtt = n.state() == wire::LINK_UP && n.rtt_us() > 0
                          ? fmt::format("{:.0f}", n.rtt_us())
                          : std::string("-");
    std::string since = n.state() == wire::LINK_SELF ? "-" : fmt::format("{:.1f}", n.since_s());
    std::string note =
        n.state() != wire::LINK_UP && n.state() != wire::LINK_SELF ? n.last_error() : std::string();
    fmt::print("{:<16} {:<28} {:<11} {:>9} {:>9}  {}\n", n.name(), addr, state_name(n.state()), rtt,
               since, note);
  }
  fmt::print("{} nodes configured, {} up\n", r.nodes_size(), up);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = kDefaultSocket;
  if (const char* env = std::getenv("MOSIX_SOCKET"); env != nullptr && *env != '\0') {
    socket_path = env;
  }
  std::vector<std::string_view> rest;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--socket") {
      if (i + 1 >= argc) {
        std::fputs("mosctl: --socket needs a path\n", stderr);
        return kExitUsage;
      }
      socket_path = argv[++i];
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      rest.push_back(a);
    }
  }
  if (rest.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  bool json = false;
  if (rest[0] != "status") {
    std::fprintf(stderr, "mosctl: unknown command '%.*s'\n", static_cast<int>(rest[0].size()),
                 rest[0].data());
    usage(stderr);
    return kExitUsage;
  }
  for (std::size_t i = 1; i < rest.size(); ++i) {
    if (rest[i] == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "mosctl status: unknown option '%.*s'\n",
                   static_cast<int>(rest[i].size()), rest[i].data());
      return kExitUsage;
    }
  }

  asio::io_context io;
  asio::local::stream_protocol::socket sock(io);
  boost::system::error_code ec;
  sock.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  if (ec) {
    std::fprintf(stderr, "mosctl: no mosixd running on this node (cannot connect to %s: %s)\n",
                 socket_path.c_str(), ec.message().c_str());
    return kExitNoDaemon;
  }
  int rc = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // A daemon that hangs must not hang us: give up after a bound.
        common::Watchdog guard(sock, std::chrono::seconds(10));
        try {
          co_await common::write_frame(sock, MsgType::kStatusRequest, wire::StatusRequest{});
          common::FrameReader reader;
          common::Frame f = co_await common::read_frame(sock, reader);
          guard.disarm();
          if (f.type == common::to_wire(MsgType::kErrorReply)) {
            wire::ErrorReply e;
            (void)common::parse_payload(f, e);
            std::fprintf(stderr, "mosctl: daemon refused: %s\n", e.message().c_str());
            rc = kExitRefused;
            co_return;
          }
          wire::StatusReply r;
          if (f.type != common::to_wire(MsgType::kStatusReply) || !common::parse_payload(f, r)) {
            std::fprintf(stderr, "mosctl: unexpected reply (type %u) from the daemon\n", f.type);
            rc = kExitRefused;
            co_return;
          }
          print_status(r, json);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mosctl: lost the daemon mid-request: %s\n", e.what());
          rc = kExitNoDaemon;
        }
      },
      asio::detached);
  io.run();
  return rc;
}
