// mosixd: the node daemon. One per node, run as root.
//
//   mosixd --config FILE [--log-level LEVEL]
//
// Serves the local control socket, keeps an authenticated link to every
// other node of the cluster, and (in later modules) gossips load, hosts
// deputies and accepts bodies. SIGTERM or SIGINT shuts it down cleanly.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <thread>

#include "common/Asio.h"
#include "common/Auth.h"
#include "common/Config.h"
#include "common/ControlServer.h"
#include "common/FrameIo.h"
#include "common/LinkManager.h"
#include "common/Log.h"
#include "common/MetricsServer.h"
#include "common/Text.h"
#include "common/control.pb.h"
#include "common/guest.pb.h"
#include "common/migrate.pb.h"
#include "gossip/GossipService.h"
#include "home/Placement.h"
#include "home/ProgramControl.h"
#include "remote/GuestService.h"

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

void write_link_metrics(common::MetricsWriter& w, const common::LinkManager& links) {
  auto status = links.status();
  w.family("mosix_link_up", "1 when the authenticated link to the peer is up",
           common::MetricType::kGauge);
  for (const auto& s : status) {
    if (s.state() != wire::LINK_SELF) {
      w.sample("mosix_link_up", {{"peer", s.name()}}, s.state() == wire::LINK_UP ? 1 : 0);
    }
  }
  w.family("mosix_link_rtt_seconds", "Smoothed round-trip time of the peer link",
           common::MetricType::kGauge);
  for (const auto& s : status) {
    if (s.state() == wire::LINK_UP && s.rtt_us() > 0) {
      w.sample("mosix_link_rtt_seconds", {{"peer", s.name()}}, s.rtt_us() / 1e6);
    }
  }
  w.family("mosix_link_established_total", "Links established to the peer since start",
           common::MetricType::kCounter);
  for (const auto& s : status) {
    if (s.state() != wire::LINK_SELF) {
      w.sample("mosix_link_established_total", {{"peer", s.name()}}, s.reconnects());
    }
  }
}

void write_board_metrics(common::MetricsWriter& w, gossip::GossipService& board) {
  auto entries = board.snapshot();
  using common::MetricType;
  auto per_node = [&](const char* name, const char* help, auto value) {
    w.family(name, help, MetricType::kGauge);
    for (const auto& v : entries) {
      w.sample(name, {{"node", v.node()}, {"cluster", v.record->cluster()}}, value(v));
    }
  };
  per_node(
      "mosix_node_load", "Smoothed runnable processes (local + guest) on the board",
      [](const gossip::NodeView& v) { return v.record->load_local() + v.record->load_guest(); });
  per_node("mosix_node_speed", "Relative CPU speed on the board",
           [](const gossip::NodeView& v) { return v.record->speed(); });
  per_node("mosix_node_cores", "CPUs on the board",
           [](const gossip::NodeView& v) { return v.record->cores(); });
  per_node("mosix_node_memory_total_bytes", "Memory on the board",
           [](const gossip::NodeView& v) { return v.record->mem_total_bytes(); });
  per_node("mosix_node_memory_free_bytes", "Free memory on the board",
           [](const gossip::NodeView& v) { return v.record->mem_free_bytes(); });
  per_node("mosix_node_guests", "Guest bodies on the board",
           [](const gossip::NodeView& v) { return v.record->guests(); });
  per_node("mosix_board_entry_age_seconds", "Age of the node's entry on this node's board",
           [](const gossip::NodeView& v) { return std::chrono::duration<double>(v.age).count(); });
  per_node("mosix_board_entry_down", "1 when the entry is older than the down bound",
           [](const gossip::NodeView& v) { return v.down ? 1 : 0; });

  const auto& c = board.counters();
  const auto& e = board.engine_stats();
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    w.family(name, help, MetricType::kCounter);
    w.sample(name, v);
  };
  counter("mosix_gossip_windows_sent_total", "Gossip windows sent", e.windows_sent);
  counter("mosix_gossip_windows_received_total", "Gossip windows merged", e.windows_received);
  counter("mosix_gossip_datagrams_sent_total", "Gossip UDP datagrams sent", c.datagrams_sent());
  counter("mosix_gossip_datagrams_received_total", "Gossip UDP datagrams received",
          c.datagrams_received());
  counter("mosix_gossip_sent_bytes_total", "Gossip bytes sent", c.bytes_sent());
  counter("mosix_gossip_received_bytes_total", "Gossip bytes received", c.bytes_received());
  counter("mosix_gossip_link_fallbacks_total", "Windows too large for a datagram",
          c.link_fallbacks());
  counter("mosix_gossip_send_failures_total", "Windows that could not be sent", c.send_failures());
  w.family("mosix_gossip_dropped_total", "Gossip datagrams dropped, by reason",
           MetricType::kCounter);
  w.sample("mosix_gossip_dropped_total", {{"reason", "forged"}}, c.dropped_forged());
  w.sample("mosix_gossip_dropped_total", {{"reason", "stale"}}, c.dropped_stale());
  w.sample("mosix_gossip_dropped_total", {{"reason", "replayed"}}, c.dropped_replayed());
  w.sample("mosix_gossip_dropped_total", {{"reason", "malformed"}}, c.dropped_malformed());
  w.sample("mosix_gossip_dropped_total", {{"reason", "unknown"}}, c.dropped_unknown());
}

// The board as the policy reads it (on the event loop's thread).
std::vector<policy::NodeState> policy_nodes(gossip::GossipService& board,
                                            const common::LinkManager& links) {
  std::map<std::string, double> rtt;
  for (const auto& s : links.status()) {
    if (s.rtt_us() > 0) {
      rtt[s.name()] = s.rtt_us() / 1e6;
    }
  }
  std::vector<policy::NodeState> out;
  for (const auto& v : board.snapshot()) {
    const gossip::LoadRecord& r = *v.record;
    policy::NodeState n;
    n.name = r.node();
    n.cluster = r.cluster();
    n.cores = std::max(1u, r.cores());
    n.speed = r.speed() > 0 ? r.speed() : 1.0;
    n.load = r.load_local() + r.load_guest();
    n.load_local = r.load_local();
    n.mem_total = r.mem_total_bytes();
    n.mem_free = r.mem_free_bytes();
    n.guests = r.guests();
    n.accepts_guests = r.accepts_guests();
    n.accepts_clusters.assign(r.accepts_clusters().begin(), r.accepts_clusters().end());
    n.age_s = std::chrono::duration<double>(v.age).count();
    n.down = v.down;
    if (auto it = rtt.find(n.name); it != rtt.end()) {
      n.rtt_s = it->second;
    }
    out.push_back(std::move(n));
  }
  return out;
}

// A host asks us, the home, to take a program's body away (mosctl expel
// there): it goes home, if it still runs on that host. On a thread of its
// own (the deputy answers datagrams, which the event loop must not wait
// for); it holds copies only, so it may outlive the daemon's objects.
// At most kLeavesAtOnce at a time: a peer that floods us with GuestLeave
// gets the rest dropped (logged), not a thread each.
std::atomic<int> g_leaves{0};
constexpr int kLeavesAtOnce = 16;

void take_body_away(std::string host, std::uint32_t pid, std::string reason) {
  if (g_leaves.fetch_add(1) >= kLeavesAtOnce) {
    g_leaves.fetch_sub(1);
    MOS_LOG_WARN("expel: {} asked us to take pid {} away: too many at once, dropped", host, pid);
    return;
  }
  std::thread([host = std::move(host), pid, reason = std::move(reason)] {
    struct Done {
      ~Done() { g_leaves.fetch_sub(1); }
    } done;
    constexpr auto kAsk = std::chrono::milliseconds(500);
    auto f = home::ask_program(static_cast<pid_t>(pid), MsgType::kProgramStatusRequest,
                               wire::ProgramStatusRequest{}, kAsk);
    wire::ProgramStatus s;
    if (!f || f->type != common::to_wire(MsgType::kProgramStatus) ||
        !common::parse_payload(*f, s)) {
      MOS_LOG_WARN("expel: {} asked us to take pid {} away, but it does not answer", host, pid);
      return;
    }
    if (s.where() != host) {
      MOS_LOG_INFO("expel: {} asked us to take pid {} away; it runs on {}", host, pid, s.where());
      return;
    }
    wire::MigrateRequest req;
    req.set_node("home");
    req.set_wait(false);
    auto r = home::ask_program(static_cast<pid_t>(pid), MsgType::kMigrateRequest, req, kAsk);
    wire::MigrateReply reply;
    if (!r || r->type != common::to_wire(MsgType::kMigrateReply) ||
        !common::parse_payload(*r, reply) || !reply.error().empty()) {
      MOS_LOG_WARN("expel: pid {} cannot leave {}: {}", pid, host,
                   !r                      ? r.error().message
                   : reply.error().empty() ? "no answer"
                                           : reply.error());
      return;
    }
    MOS_LOG_INFO("expel: pid {} leaves {} for home ({})", pid, host, reason);
  }).detach();
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
  {
    // The programs' own sockets (migrate, mosps): any user's deputy may
    // make one; the sticky bit keeps them from removing each other's.
    const auto programs = config.control_socket.parent_path() / "programs";
    ::mkdir(programs.c_str(), 01777);
    ::chmod(programs.c_str(), 01777);
  }
  gossip::GossipService board(io, config, links, boot_id);
  board.register_control(control);
  // Bodies of other homes run here under mosguest, installed beside us.
  remote::GuestService guests(
      io, config, links,
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "mosguest");
  guests.register_control(control);
  board.set_guest_info([&] { return !guests.blocked(); },
                       [&] { return static_cast<std::uint32_t>(guests.guests().size()); });
  links.on_message(MsgType::kGuestLeave, [&](const std::string& peer, const common::Frame& f) {
    wire::GuestLeave leave;
    if (!common::parse_payload(f, leave) || leave.home_pid() == 0) {
      MOS_LOG_WARN("expel: malformed request from {}", peer);
      return;
    }
    take_body_away(peer, leave.home_pid(), leave.reason());
  });
  // A move another home's loop chose: refused if we got a whole process
  // busier than it saw, or have no room (policy::admit, on our own record).
  guests.set_admission([&](double seen_load, std::uint64_t rss) -> std::string {
    const auto nodes = policy_nodes(board, links);
    const auto self = std::find_if(nodes.begin(), nodes.end(), [&](const policy::NodeState& n) {
      return n.name == config.node_name;
    });
    policy::BodyProfile b;
    b.rss = rss;
    if (self == nodes.end() || policy::admit(*self, b, seen_load)) {
      return {};
    }
    return fmt::format(
        "node {} is busier than its sender saw (load {:.2f}, seen {:.2f}) or has no room for "
        "{} (free {})",
        config.node_name, self->load, seen_load, common::human_bytes(static_cast<double>(rss)),
        common::human_bytes(static_cast<double>(self->mem_free)));
  });
  // mosctl lstay: this node's own programs stay home (read by the loop).
  std::atomic<bool> lstay{false};

  // Automatic migration of this home's programs, when the config asks for it.
  std::unique_ptr<home::PlacementLoop> placement;
  if (config.policy.automatic) {
    placement = std::make_unique<home::PlacementLoop>(
        config, [&] { return lstay.load(); },
        [&]() -> std::optional<std::vector<policy::NodeState>> {
          auto p = std::make_shared<std::promise<std::vector<policy::NodeState>>>();
          auto f = p->get_future();
          asio::post(io, [&, p] { p->set_value(policy_nodes(board, links)); });
          if (f.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
            return std::nullopt;
          }
          return f.get();
        });
  }

  // Prometheus metrics, when the config asks for them (metrics_port != 0).
  std::unique_ptr<common::MetricsServer> metrics;
  if (config.metrics_port != 0) {
    common::MetricsServerOptions mo;
    mo.version = MOSIX_VERSION;
    metrics =
        std::make_unique<common::MetricsServer>(io, config.self().address, config.metrics_port, mo);
    metrics->add_source([&](common::MetricsWriter& w) { write_link_metrics(w, links); });
    metrics->add_source([&](common::MetricsWriter& w) { write_board_metrics(w, board); });
  }

  control.on_request(
      MsgType::kStatusRequest,
      [&](common::ControlConnection& c, const common::Frame&) -> asio::awaitable<void> {
        wire::StatusReply r;
        r.set_node(config.node_name);
        r.set_cluster(config.cluster_name);
        r.set_uptime_s(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        r.set_daemon_pid(static_cast<std::uint32_t>(getpid()));
        r.set_blocked(guests.blocked());
        r.set_lstay(lstay.load());
        r.set_guests(static_cast<std::uint32_t>(guests.guests().size()));
        for (auto& s : links.status()) {
          if (auto v = board.find(s.name())) {
            const gossip::LoadRecord& rec = *v->record;
            s.set_on_board(true);
            s.set_board_down(v->down);
            s.set_age_s(std::chrono::duration<double>(v->age).count());
            s.set_load(rec.load_local() + rec.load_guest());
            s.set_mem_total(rec.mem_total_bytes());
            s.set_mem_free(rec.mem_free_bytes());
            s.set_speed(rec.speed());
            s.set_cores(rec.cores());
          }
          *r.add_nodes() = std::move(s);
        }
        co_await c.reply(MsgType::kStatusReply, r);
      });

  // mosrun -b: where a new program of ours should start.
  control.on_request(
      MsgType::kPlaceRequest,
      [&](common::ControlConnection& c, const common::Frame& f) -> asio::awaitable<void> {
        wire::PlaceRequest req;
        if (!common::parse_payload(f, req)) {
          co_await c.reply_error(EINVAL, "malformed place request");
          co_return;
        }
        wire::PlaceReply r;
        r.set_node(config.node_name);
        if (!lstay) {
          policy::Snapshot s;
          s.self = config.node_name;
          s.nodes = policy_nodes(board, links);
          s.partners = home::PlacementLoop::partners(config);
          policy::BodyProfile b;
          b.home_node = config.node_name;
          b.home_cluster = config.cluster_name;
          b.cpu = 1.0;  // unknown yet: taken as busy
          b.may_leave_cluster = req.may_leave_cluster();
          r.set_node(policy::place(s, b));
        }
        MOS_LOG_DEBUG("place: a new program starts on {}", r.node());
        co_await c.reply(MsgType::kPlaceReply, r);
      });
  control.on_request(
      MsgType::kAdminRequest,
      [&](common::ControlConnection& c, const common::Frame& f) -> asio::awaitable<void> {
        wire::AdminRequest req;
        if (!common::parse_payload(f, req) || req.op() == wire::AdminRequest::NONE ||
            !wire::AdminRequest::Op_IsValid(req.op())) {
          co_await c.reply_error(EINVAL, "malformed admin request");
          co_return;
        }
        if (!c.peer_is_root()) {
          co_await c.reply_error(EPERM, "only root may block, expel or lstay");
          co_return;
        }
        wire::AdminReply r;
        switch (req.op()) {
          case wire::AdminRequest::BLOCK:
            guests.set_blocked(true);
            break;
          case wire::AdminRequest::UNBLOCK:
            guests.set_blocked(false);
            break;
          case wire::AdminRequest::LSTAY:
          case wire::AdminRequest::NOLSTAY:
            lstay = req.op() == wire::AdminRequest::LSTAY;
            MOS_LOG_INFO("admin: lstay {}", lstay ? "on: our programs stay home" : "off");
            break;
          case wire::AdminRequest::EXPEL:
            r.set_asked_to_leave(
                static_cast<std::uint32_t>(guests.expel("expelled by the administrator")));
            break;
          default:
            break;
        }
        r.set_blocked(guests.blocked());
        r.set_lstay(lstay.load());
        r.set_guests(static_cast<std::uint32_t>(guests.guests().size()));
        co_await c.reply(MsgType::kAdminReply, r);
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
  if (auto r = board.start(); !r) {
    MOS_LOG_ERROR("{}", r.error());
    links.stop();
    control.stop();
    return kExitStartup;
  }
  if (metrics) {
    if (auto r = metrics->start(); !r) {
      MOS_LOG_ERROR("metrics: {}", r.error());
      board.stop();
      links.stop();
      control.stop();
      return kExitStartup;
    }
    MOS_LOG_INFO("metrics: http://{}:{}/metrics", config.self().address, metrics->bound_port());
  }

  if (placement) {
    placement->start();
  }

  auto shut_down = [&] {
    if (metrics) {
      metrics->stop();
    }
    board.stop();
    links.stop();
    control.stop();
    // Let the close frames and FINs go out, then end the loop.
    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
    t->async_wait([&io, t](boost::system::error_code) { io.stop(); });
  };
  // A node that leaves sends its guests away first (their homes take them
  // back), for up to kLeaveTimeout: less than the 10 s moscluster stop and
  // init systems allow before SIGKILL. A second signal stops at once.
  // Guests still here then run on (their supervisors do not need us).
  asio::signal_set signals(io, SIGTERM, SIGINT);
  bool leaving = false;
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int sig) {
    if (ec) {
      return;
    }
    if (leaving) {
      MOS_LOG_INFO("signal {}: shutting down now", sig);
      shut_down();
      return;
    }
    leaving = true;
    signals.async_wait(on_signal);
    const std::size_t asked = guests.expel("its host is leaving");  // (0: none here)
    if (asked == 0) {
      MOS_LOG_INFO("signal {}: shutting down", sig);
      shut_down();
      return;
    }
    MOS_LOG_INFO("signal {}: leaving; asked the homes of {} guests to take them away", sig, asked);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          constexpr auto kLeaveTimeout = std::chrono::seconds(8);
          const auto deadline = std::chrono::steady_clock::now() + kLeaveTimeout;
          asio::steady_timer t(io);
          std::size_t left = guests.guests().size();
          while (left > 0 && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(250));
            co_await t.async_wait(asio::use_awaitable);
            left = guests.guests().size();
          }
          if (left > 0) {
            MOS_LOG_WARN("leaving with {} guests still here: they run on", left);
          } else {
            MOS_LOG_INFO("every guest has left");
          }
          shut_down();
        },
        asio::detached);
  };
  signals.async_wait(on_signal);
  // A peer that disappears must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  MOS_LOG_INFO("node {} of cluster {} started (pid {})", config.node_name, config.cluster_name,
               getpid());
  io.run();
  if (placement) {
    placement->stop();  // (before the board it reads goes)
  }
  MOS_LOG_INFO("stopped");
  return 0;
}
