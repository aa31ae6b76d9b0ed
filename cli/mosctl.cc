// mosctl: administer the local node's daemon.
//
//   mosctl [--socket PATH] status [--json]
//   mosctl [--socket PATH] block | unblock | lstay | nolstay | expel   (root)
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

#include "common/ControlClient.h"
#include "common/Text.h"
#include "common/control.pb.h"

namespace {

using namespace mos;
using common::MsgType;

constexpr int kExitUsage = 2;
constexpr int kExitNoDaemon = 3;
constexpr int kExitRefused = 4;

void usage(FILE* out) {
  std::fputs(
      "usage: mosctl [--socket PATH] status [--json]\n"
      "       mosctl [--socket PATH] block | unblock | lstay | nolstay | expel\n"
      "  status   this node's view of the cluster: every configured node,\n"
      "           whether its link is up, and the round-trip time\n"
      "  block    accept no new guests (bodies of other homes); unblock: again\n"
      "  lstay    keep this node's own programs home (no automatic moves out);\n"
      "           nolstay: let them go again\n"
      "  expel    block, and send every guest away (its home takes it back)\n"
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

void print_status(const wire::StatusReply& r, bool json) {
  int up = 0;
  for (const auto& n : r.nodes()) {
    up += (n.state() == wire::LINK_UP || n.state() == wire::LINK_SELF) ? 1 : 0;
  }
  if (json) {
    fmt::print("{{\"node\":{},\"cluster\":{},\"uptime_s\":{:.3f},\"pid\":{},\"nodes\":[",
               common::json_quote(r.node()), common::json_quote(r.cluster()), r.uptime_s(),
               r.daemon_pid());
    for (int i = 0; i < r.nodes_size(); ++i) {
      const auto& n = r.nodes(i);
      fmt::print(
          "{}{{\"name\":{},\"address\":{},\"port\":{},\"link\":\"{}\",\"rtt_us\":{:.1f},"
          "\"since_s\":{:.3f},\"reconnects\":{},\"last_error\":{},\"on_board\":{},"
          "\"board_down\":{},\"age_s\":{:.3f},\"load\":{:.3f},\"speed\":{:.3f},"
          "\"cores\":{},\"mem_total\":{},\"mem_free\":{}}}",
          i ? "," : "", common::json_quote(n.name()), common::json_quote(n.address()), n.port(),
          state_name(n.state()), n.rtt_us(), n.since_s(), n.reconnects(),
          common::json_quote(n.last_error()), n.on_board(), n.board_down(), n.age_s(), n.load(),
          n.speed(), n.cores(), n.mem_total(), n.mem_free());
    }
    fmt::print("],\"configured\":{},\"up\":{},\"blocked\":{},\"lstay\":{},\"guests\":{}}}\n",
               r.nodes_size(), up, r.blocked(), r.lstay(), r.guests());
    return;
  }
  fmt::print("node {} of cluster {}, daemon pid {}, up {:.1f} s\n", r.node(), r.cluster(),
             r.daemon_pid(), r.uptime_s());
  fmt::print("{:<12} {:<22} {:<10} {:>7} {:>6} {:>6} {:>5} {:>13} {:>6}  {}\n", "NODE", "ADDRESS",
             "LINK", "RTT(us)", "LOAD", "SPEED", "CORES", "MEM(free/tot)", "AGE(s)", "NOTE");
  for (const auto& n : r.nodes()) {
    std::string addr = n.address().find(':') != std::string::npos
                           ? fmt::format("[{}]:{}", n.address(), n.port())
                           : fmt::format("{}:{}", n.address(), n.port());
    std::string rtt = n.state() == wire::LINK_UP && n.rtt_us() > 0
                          ? fmt::format("{:.0f}", n.rtt_us())
                          : std::string("-");
    std::string load = "-", speed = "-", cores = "-", mem = "-", age = "-";
    if (n.on_board()) {
      load = fmt::format("{:.2f}", n.load());
      speed = fmt::format("{:.2f}", n.speed());
      cores = fmt::format("{}", n.cores());
      mem = fmt::format("{}/{}", common::human_bytes(n.mem_free()),
                        common::human_bytes(n.mem_total()));
      age = fmt::format("{:.1f}", n.age_s());
    }
    std::string note;
    if (n.state() != wire::LINK_UP && n.state() != wire::LINK_SELF) {
      note = n.last_error();
    }
    if (n.on_board() && n.board_down()) {
      note = note.empty() ? "board: presumed down" : "board: presumed down; " + note;
    }
    fmt::print("{:<12} {:<22} {:<10} {:>7} {:>6} {:>6} {:>5} {:>13} {:>6}  {}\n", n.name(), addr,
               state_name(n.state()), rtt, load, speed, cores, mem, age, note);
  }
  fmt::print("{} nodes configured, {} up\n", r.nodes_size(), up);
  if (r.blocked() || r.lstay() || r.guests() > 0) {
    fmt::print("guests here: {}{}{}\n", r.guests(), r.blocked() ? "; blocked (no new guests)" : "",
               r.lstay() ? "; lstay (our programs stay home)" : "");
  }
}

int admin(const std::string& socket_path, std::string_view cmd) {
  wire::AdminRequest req;
  if (cmd == "block") {
    req.set_op(wire::AdminRequest::BLOCK);
  } else if (cmd == "unblock") {
    req.set_op(wire::AdminRequest::UNBLOCK);
  } else if (cmd == "lstay") {
    req.set_op(wire::AdminRequest::LSTAY);
  } else if (cmd == "nolstay") {
    req.set_op(wire::AdminRequest::NOLSTAY);
  } else {
    req.set_op(wire::AdminRequest::EXPEL);
  }
  auto client = common::ControlClient::connect(socket_path);
  if (!client) {
    std::fprintf(stderr, "mosctl: %s\n", client.error().message.c_str());
    return kExitNoDaemon;
  }
  wire::AdminReply reply;
  auto r = client->call(MsgType::kAdminRequest, req, MsgType::kAdminReply, reply);
  if (!r) {
    std::fprintf(stderr, "mosctl %.*s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
                 r.error().message.c_str());
    return r.error().kind == common::ControlError::Kind::kRefused ? kExitRefused : kExitNoDaemon;
  }
  if (cmd == "expel") {
    fmt::print("blocked; asked the homes of {} guest{} to take them away\n", reply.asked_to_leave(),
               reply.asked_to_leave() == 1 ? "" : "s");
  } else {
    fmt::print("{}; {}; {} guest{} here\n", reply.blocked() ? "blocked" : "taking guests",
               reply.lstay() ? "lstay" : "no lstay", reply.guests(),
               reply.guests() == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = common::default_control_socket();
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
  for (std::string_view cmd : {"block", "unblock", "lstay", "nolstay", "expel"}) {
    if (rest[0] == cmd) {
      if (rest.size() > 1) {
        std::fprintf(stderr, "mosctl %.*s: takes no arguments\n", static_cast<int>(cmd.size()),
                     cmd.data());
        return kExitUsage;
      }
      return admin(socket_path, cmd);
    }
  }
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

  auto client = common::ControlClient::connect(socket_path);
  if (!client) {
    std::fprintf(stderr, "mosctl: %s\n", client.error().message.c_str());
    return kExitNoDaemon;
  }
  wire::StatusReply reply;
  auto r =
      client->call(MsgType::kStatusRequest, wire::StatusRequest{}, MsgType::kStatusReply, reply);
  if (!r) {
    std::fprintf(stderr, "mosctl: %s\n", r.error().message.c_str());
    return r.error().kind == common::ControlError::Kind::kRefused ? kExitRefused : kExitNoDaemon;
  }
  print_status(reply, json);
  return 0;
}
