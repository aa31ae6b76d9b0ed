// mon: the cluster's load at a glance, from this node's bulletin board.
//
//   mon [--socket PATH] [--interval SECONDS]   live display; keys below
//   mon --once [--json]                         print the board once
//
// Keys: l load, s speed, m memory used, g guests, q (or Ctrl-C) quit.
// One bar per node, scaled to the largest value shown; down nodes are marked.

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/ControlClient.h"
#include "common/Text.h"
#include "gossip/service.pb.h"

namespace {

using namespace mos;
using common::MsgType;

constexpr int kExitUsage = 2;
constexpr int kExitNoDaemon = 3;

enum class Mode { kLoad, kSpeed, kMemory, kGuests };

volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_resized = 0;

void usage(FILE* out) {
  std::fputs(
      "usage: mon [--socket PATH] [--interval SECONDS]\n"
      "       mon --once [--json] [--socket PATH]\n"
      "  live keys: l load, s speed, m memory used, g guests, q quit\n",
      out);
}

void print_json(const gossip::BoardReply& r) {
  fmt::print(
      "{{\"node\":{},\"cluster\":{},\"period_s\":{},\"window\":{},\"down_after_s\":{},"
      "\"nodes\":[",
      common::json_quote(r.node()), common::json_quote(r.cluster()), r.period_s(), r.window(),
      r.down_after_s());
  for (int i = 0; i < r.entries_size(); ++i) {
    const auto& e = r.entries(i);
    const auto& rec = e.record();
    std::string accepts;
    for (int k = 0; k < rec.accepts_clusters_size(); ++k) {
      accepts += (k ? "," : "") + common::json_quote(rec.accepts_clusters(k));
    }
    fmt::print(
        "{}{{\"name\":{},\"address\":{},\"cluster\":{},\"self\":{},\"down\":{},"
        "\"age_s\":{:.3f},\"cores\":{},\"speed\":{:.3f},\"load_local\":{:.3f},"
        "\"load_guest\":{:.3f},\"mem_total\":{},\"mem_free\":{},\"guests\":{},"
        "\"accepts_guests\":{},\"accepts_clusters\":[{}],\"sequence\":{}}}",
        i ? "," : "", common::json_quote(rec.node()), common::json_quote(rec.address()),
        common::json_quote(rec.cluster()), e.self(), e.down(), e.age_s(), rec.cores(), rec.speed(),
        rec.load_local(), rec.load_guest(), rec.mem_total_bytes(), rec.mem_free_bytes(),
        rec.guests(), rec.accepts_guests(), accepts, rec.sequence());
  }
  const auto& c = r.counters();
  fmt::print(
      "],\"counters\":{{\"windows_sent\":{},\"windows_received\":{},"
      "\"datagrams_sent\":{},\"datagrams_received\":{},\"bytes_sent\":{},"
      "\"bytes_received\":{},\"link_fallbacks\":{},\"dropped_forged\":{},"
      "\"dropped_stale\":{},\"dropped_replayed\":{},\"dropped_malformed\":{},"
      "\"dropped_unknown\":{}}}}}\n",
      c.windows_sent(), c.windows_received(), c.datagrams_sent(), c.datagrams_received(),
      c.bytes_sent(), c.bytes_received(), c.link_fallbacks(), c.dropped_forged(), c.dropped_stale(),
      c.dropped_replayed(), c.dropped_malformed(), c.dropped_unknown());
}

struct Shown {
  double value;
  std::string label;
};

Shown value_of(const gossip::BoardEntry& e, Mode m) {
  const auto& r = e.record();
  switch (m) {
    case Mode::kLoad: {
      double v = r.load_local() + r.load_guest();
      return {v, fmt::format("{:.2f}", v)};
    }
    case Mode::kSpeed:
      return {r.speed(), fmt::format("{:.2f}", r.speed())};
    case Mode::kMemory: {
      double used = static_cast<double>(r.mem_total_bytes() -
                                        std::min(r.mem_free_bytes(), r.mem_total_bytes()));
      return {used, fmt::format("{}/{}", common::human_bytes(used),
                                common::human_bytes(static_cast<double>(r.mem_total_bytes())))};
    }
    case Mode::kGuests:
      return {static_cast<double>(r.guests()), fmt::format("{}", r.guests())};
  }
  return {0, ""};
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kLoad:
      return "load";
    case Mode::kSpeed:
      return "speed";
    case Mode::kMemory:
      return "memory used";
    case Mode::kGuests:
      return "guests";
  }
  return "";
}

// Renders one screen into a string: home, each line cleared to its end, the
// rest of the screen cleared. One write per frame, so nothing flickers.
std::string render(const gossip::BoardReply* board, const std::string& error, Mode mode, int rows,
                   int cols) {
  std::string out = "\x1b[H";
  auto line = [&](const std::string& s) {
    out += s.substr(0, static_cast<std::size_t>(std::max(cols, 1)));
    out += "\x1b[K\r\n";
  };
  char ts[16];
  std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&now));
  if (board == nullptr) {
    line(fmt::format("mon  {}  {}", ts, error));
    line("q: quit");
    out += "\x1b[J";
    return out;
  }
  line(fmt::format("mon: cluster {} seen from {}  [{}]  {}   keys: l s m g, q quit",
                   board->cluster(), board->node(), mode_name(mode), ts));
  line("");
  const int body_rows = std::max(rows - 4, 1);
  const int n = board->entries_size();
  std::size_t name_w = 4;
  for (const auto& e : board->entries()) {
    name_w = std::max(name_w, e.record().node().size());
  }
  name_w = std::min<std::size_t>(name_w, 20);
  double max_v = mode == Mode::kLoad ? 1.0 : 0.0;
  for (const auto& e : board->entries()) {
    if (!e.down()) {
      max_v = std::max(max_v, value_of(e, mode).value);
    }
  }
  const int label_w = mode == Mode::kMemory ? 15 : 7;
  const int bar_w = std::max(cols - static_cast<int>(name_w) - label_w - 14, 4);
  const int shown = n <= body_rows ? n : body_rows - 1;
  for (int i = 0; i < shown; ++i) {
    const auto& e = board->entries(i);
    std::string name = e.record().node().substr(0, name_w);
    if (e.down()) {
      line(fmt::format("{:<{}} {:<{}} {}", name, name_w, "", label_w,
                       fmt::format("DOWN (no news for {:.0f} s)", e.age_s())));
      continue;
    }
    Shown v = value_of(e, mode);
    int len = max_v > 0 ? static_cast<int>(std::lround(v.value / max_v * bar_w)) : 0;
    len = std::clamp(len, 0, bar_w);
    std::string bar(static_cast<std::size_t>(len), '#');
    line(fmt::format("{:<{}} {:>{}} |{:<{}}| {}", name, name_w, v.label, label_w, bar, bar_w,
                     e.self() ? "self" : fmt::format("{:.1f}s", e.age_s())));
  }
  if (shown < n) {
    line(fmt::format("... {} more nodes (enlarge the terminal)", n - shown));
  }
  int down = 0;
  for (const auto& e : board->entries()) {
    down += e.down() ? 1 : 0;
  }
  line("");
  line(fmt::format("{} nodes, {} down; window {}, period {:.2f} s, down after {:.1f} s", n, down,
                   board->window(), board->period_s(), board->down_after_s()));
  out += "\x1b[J";
  return out;
}

class RawTerminal {
 public:
  RawTerminal() {
    if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      ok_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    // Alternate screen, hidden cursor.
    std::fputs("\x1b[?1049h\x1b[?25l", stdout);
    std::fflush(stdout);
  }
  ~RawTerminal() {
    std::fputs("\x1b[?25h\x1b[?1049l", stdout);
    std::fflush(stdout);
    if (ok_) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
  }

 private:
  termios saved_{};
  bool ok_ = false;
};

void size_of_terminal(int& rows, int& cols) {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    rows = ws.ws_row;
    cols = ws.ws_col;
  } else {
    rows = 24;
    cols = 80;
  }
}

std::expected<gossip::BoardReply, std::string> fetch(const std::string& socket_path) {
  auto client = common::ControlClient::connect(socket_path);
  if (!client) {
    return std::unexpected(client.error().message);
  }
  gossip::BoardReply reply;
  auto r = client->call(MsgType::kBoardRequest, gossip::BoardRequest{}, MsgType::kBoardReply, reply,
                        std::chrono::seconds(5));
  if (!r) {
    return std::unexpected(r.error().message);
  }
  return reply;
}

int live(const std::string& socket_path, double interval) {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_quit = 1; };
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = [](int) { g_resized = 1; };
  ::sigaction(SIGWINCH, &sa, nullptr);

  RawTerminal term;
  Mode mode = Mode::kLoad;
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  std::expected<gossip::BoardReply, std::string> board = std::unexpected(std::string("starting"));
  while (!g_quit) {
    if (Clock::now() >= next) {
      board = fetch(socket_path);
      next = Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
    }
    int rows = 0, cols = 0;
    size_of_terminal(rows, cols);
    std::string screen = board ? render(&*board, "", mode, rows, cols)
                               : render(nullptr, board.error(), mode, rows, cols);
    std::fwrite(screen.data(), 1, screen.size(), stdout);
    std::fflush(stdout);

    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long>(wait_ms.count(), 0)));
    if (r > 0 && (p.revents & POLLIN)) {
      char keys[32];
      ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
      if (n == 0) {
        break;  // stdin closed
      }
      for (ssize_t i = 0; i < n; ++i) {
        switch (keys[i]) {
          case 'q':
          case 'Q':
            g_quit = 1;
            break;
          case 'l':
            mode = Mode::kLoad;
            break;
          case 's':
            mode = Mode::kSpeed;
            break;
          case 'm':
            mode = Mode::kMemory;
            break;
          case 'g':
            mode = Mode::kGuests;
            break;
          default:
            break;
        }
      }
    } else if (r > 0 && (p.revents & (POLLHUP | POLLERR))) {
      break;
    }
    g_resized = 0;  // every pass redraws at the current size anyway
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = common::default_control_socket();
  bool once = false;
  bool json = false;
  double interval = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      socket_path = argv[++i];
    } else if (a == "--once") {
      once = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--interval" && i + 1 < argc) {
      char* end = nullptr;
      interval = std::strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
        std::fprintf(stderr, "mon: --interval takes seconds between 0.1 and 3600\n");
        return kExitUsage;
      }
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "mon: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    }
  }
  if (json && !once) {
    std::fputs("mon: --json goes with --once\n", stderr);
    return kExitUsage;
  }
  if (once) {
    auto board = fetch(socket_path);
    if (!board) {
      std::fprintf(stderr, "mon: %s\n", board.error().c_str());
      return kExitNoDaemon;
    }
    if (json) {
      print_json(*board);
    } else {
      std::string s = render(&*board, "", Mode::kLoad, 1000, 100);
      // Strip the cursor-control sequences for a plain listing.
      std::string plain;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\x1b') {
          while (i < s.size() && !std::isalpha(static_cast<unsigned char>(s[i]))) {
            ++i;
          }
          continue;
        }
        if (s[i] != '\r') {
          plain += s[i];
        }
      }
      std::fputs(plain.c_str(), stdout);
    }
    return 0;
  }
  if (!::isatty(STDOUT_FILENO)) {
    std::fputs("mon: not a terminal; use mon --once [--json]\n", stderr);
    return kExitUsage;
  }
  return live(socket_path, interval);
}
