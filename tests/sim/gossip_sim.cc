// gossip_sim: runs the real gossip Engine and Board (gossip/) for N nodes in
// one process on a virtual clock, and compares the measured ages of the
// boards with the mean-field model (gossip/AgeModel.h, docs/gossip.md).
//
//   gossip_sim                 table for N = 16, 256, 10,000 and several windows
//   gossip_sim --check         exit 1 unless every measured mean age is within
//                              10% of the model (CTest sim/gossip_age)
//   gossip_sim --failure       kill/revive scenario (CTest sim/gossip_failure)
//   options: --long (add a full-length N = 10,000 run, minutes), --series
//   (print the ages every few rounds), --csv FILE, --plot FILE.png (needs
//   gnuplot), --seed S
//
// How a run measures. Windows travel as in-process Window objects (the
// records are shared, never serialised); the wire size is computed
// separately for the traffic column. Rounds are synchronous unless phases are
// on: every node ticks at t, then all windows are delivered, then the
// "observer" boards are measured: the age of every entry about another node,
// in periods. Small clusters measure every board and start cold (boards
// empty). At N = 10,000, N^2 entries do not fit in memory, so only some
// observer nodes keep full boards; all other nodes forget entries after
// kPruneRounds rounds. That changes nothing they send: a window holds the
// youngest entries, which are far younger than kPruneRounds (the run checks
// this and reports windows it had to send short). Those runs also start
// "synced" (observers know every node at age 0 at time 0): entries not
// refreshed since then are censored at the run's age, and their expected
// remaining age is added assuming a constant per-round refresh probability,
// which the run measures on the censored entries themselves (docs/gossip.md,
// "Measuring large clusters").

#include "tests/sim/gossip_cluster.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace mos::gossip::sim;
using mos::gossip::AgeModel;
using mos::gossip::Duration;
using mos::gossip::LoadRecord;
using mos::gossip::Window;
using mos::gossip::WindowEntry;

constexpr double kTolerance = 0.10;

// ---- traffic ----------------------------------------------------------------

// Serialised size of a window of w realistic entries (names like
// "node-0042", an IPv4 address, 8 cores, loads, memory, one accepted
// cluster, a wall-clock sequence number) and its typical ages.
std::size_t window_bytes(std::size_t w, double typical_age_periods) {
  Window window;
  window.sender = "node-0000";
  window.cluster = "campus";
  window.sequence = 123456;
  for (std::size_t i = 0; i < w; ++i) {
    LoadRecord r;
    r.set_node(fmt::format("node-{:04}", i));
    r.set_address(fmt::format("10.1.{}.{}:4700", i / 250, i % 250 + 1));
    r.set_cluster("campus");
    r.set_cores(8);
    r.set_speed(1.25);
    r.set_load_local(2.375);
    r.set_load_guest(1.5);
    r.set_mem_total_bytes(64ull << 30);
    r.set_mem_free_bytes(37ull << 30);
    r.set_guests(2);
    r.set_accepts_guests(true);
    r.add_accepts_clusters("partner");
    r.set_sequence(1'700'000'000'000'000ull + i);
    r.set_clock_ns(1'700'000'000'000'000'000ll);
    const double age = i == 0 ? 0.0 : typical_age_periods;
    window.entries.push_back(WindowEntry{std::make_shared<const LoadRecord>(std::move(r)),
                                         std::chrono::duration_cast<Duration>(kPeriod * age)});
  }
  return to_proto(window).ByteSizeLong();
}

// ---- one configuration ------------------------------------------------------

struct Result {
  Params p;
  AgeModel model;
  double avg = 0.0;        // measured mean age (corrected when synced)
  double raw_avg = 0.0;    // without the censoring correction
  double hazard = 0.0;     // measured per-round refresh probability of censored entries
  double board_max = 0.0;  // mean over boards and rounds of the oldest entry
  double max_seen = 0.0;
  std::size_t unknown = 0;
  std::size_t short_windows = 0;
  double max_window_age = 0.0;
  double seconds = 0.0;
  bool corrected() const { return p.start == Start::kSynced; }
  double error() const { return (avg - model.mean) / model.mean; }
};

Result run(const Params& p, bool series) {
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.p = p;
  r.model = mos::gossip::solve_age_model(p.n, p.w);
  Cluster cluster(p);
  const std::size_t series_every = std::max<std::size_t>(1, (p.warmup + p.measure) / 12);
  if (series) {
    fmt::print("  series N={} w={}{}: round, mean age, mean board max (periods)\n", p.n, p.w,
               p.phases ? " phases" : "");
  }
  std::size_t prev_censored = 0;
  bool have_prev = false;
  double refreshed = 0.0;
  double exposed = 0.0;
  std::vector<Sample> kept;
  for (std::size_t t = 0; t < p.warmup + p.measure; ++t) {
    if (t == p.warmup) {
      cluster.reset_window_stats();
    }
    cluster.run_round();
    const bool measuring = t >= p.warmup;
    const bool tracking = p.start == Start::kSynced && t + 1 >= p.warmup;
    if (!measuring && !tracking && !(series && t % series_every == 0)) {
      continue;
    }
    const Sample s = cluster.measure();
    if (series && t % series_every == 0) {
      fmt::print("    {:6} {:10.2f} {:10.1f}{}\n", t, s.sum / std::max<double>(1, s.count),
                 s.board_max_sum / std::max<double>(1, s.boards),
                 s.unknown ? fmt::format("  ({} unknown)", s.unknown) : "");
    }
    if (tracking) {
      if (have_prev && t >= p.warmup) {
        refreshed += static_cast<double>(prev_censored) - static_cast<double>(s.censored);
        exposed += static_cast<double>(prev_censored);
      }
      prev_censored = s.censored;
      have_prev = true;
    }
    if (measuring) {
      kept.push_back(s);
    }
  }
  r.hazard = exposed > 0 ? refreshed / exposed : 0.0;
  double sum = 0.0;
  double raw = 0.0;
  double count = 0.0;
  double bmax = 0.0;
  double boards = 0.0;
  for (const Sample& s : kept) {
    raw += s.sum;
    count += static_cast<double>(s.count);
    if (p.start == Start::kSynced && r.hazard > 0) {
      // A censored entry (age = censored_age) is one with age >= that age in
      // steady state; with refresh probability h per round its expected age
      // is censored_age + (1 - h) / h.
      sum += s.uncensored_sum +
             static_cast<double>(s.censored) * (s.censored_age + (1.0 - r.hazard) / r.hazard);
    } else {
      sum += s.sum;
    }
    bmax += s.board_max_sum;
    boards += static_cast<double>(s.boards);
    r.max_seen = std::max(r.max_seen, s.max_seen);
    r.unknown = std::max(r.unknown, s.unknown);
  }
  r.avg = count > 0 ? sum / count : 0.0;
  r.raw_avg = count > 0 ? raw / count : 0.0;
  r.board_max = boards > 0 ? bmax / boards : 0.0;
  r.short_windows = cluster.short_windows();
  r.max_window_age = cluster.max_window_age();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void print_header() {
  fmt::print(
      "     N     w  start   rounds obs |  mean age   model   diff | board max  model | max "
      "seen | window B/s per node | run s\n");
}

void print_row(const Result& r) {
  const std::size_t obs = r.p.observers == 0 ? r.p.n : r.p.observers;
  const std::string start = r.p.phases ? "phase" : (r.corrected() ? "sync*" : "cold");
  const std::size_t bytes = window_bytes(std::min(r.p.w, r.p.n), r.model.mean);
  // UDP/IPv4 headers (28) and the common/Frame.h header (12) per window.
  const double per_second = static_cast<double>(bytes + 28 + 12) / periods(kPeriod);
  const std::string bmax = r.corrected() ? "      -" : fmt::format("{:7.1f}", r.board_max);
  const std::string mseen = r.corrected() ? "     -" : fmt::format("{:6.0f}", r.max_seen);
  fmt::print(
      "{:6} {:5}  {:5} {:7} {:4} | {:8.2f} {:8.2f} {:+5.1f}% | {} {:6.1f} | {}  | {:6} "
      "{:6.0f} | {:5.1f}\n",
      r.p.n, r.p.w, start, r.p.warmup + r.p.measure, obs, r.avg, r.model.mean, 100.0 * r.error(),
      bmax, r.model.expected_max, mseen, bytes, per_second, r.seconds);
  if (r.corrected()) {
    fmt::print(
        "{:>31}   (censored run: uncorrected mean {:.2f}; refresh probability per round "
        "{:.6f}, model {:.6f})\n",
        "", r.raw_avg, r.hazard, 1.0 - r.model.tail_ratio);
  }
  if (r.unknown > 0) {
    fmt::print("{:>31}   WARNING: {} nodes still unknown to some observer\n", "", r.unknown);
  }
  if (r.p.observers != 0 && r.short_windows > 0) {
    fmt::print("{:>31}   note: {} short windows (pruned boards), oldest entry sent {:.0f}\n", "",
               r.short_windows, r.max_window_age);
  }
  std::fflush(stdout);
}

void write_csv(const std::string& path, const std::vector<Result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    fmt::print(stderr, "gossip_sim: cannot write {}\n", path);
    return;
  }
  fmt::print(f, "kind,n,w,mean_age,board_max,window_bytes\n");
  std::vector<std::size_t> windows;
  for (const Result& r : results) {
    if (!r.p.phases) {
      fmt::print(f, "measured,{},{},{:.4f},{},{}\n", r.p.n, r.p.w, r.avg,
                 r.corrected() ? std::string("nan") : fmt::format("{:.3f}", r.board_max),
                 window_bytes(std::min(r.p.w, r.p.n), r.model.mean));
      if (std::find(windows.begin(), windows.end(), r.p.w) == windows.end()) {
        windows.push_back(r.p.w);
      }
    }
  }
  // The model on a grid of cluster sizes, for the curves.
  for (std::size_t w : windows) {
    for (double n = 16; n <= 10'000 * 1.001; n *= std::pow(10.0, 0.125)) {
      const auto nn = static_cast<std::size_t>(std::lround(n));
      const AgeModel m = mos::gossip::solve_age_model(nn, w);
      fmt::print(f, "model,{},{},{:.4f},{:.3f},{}\n", nn, w, m.mean, m.expected_max,
                 window_bytes(std::min(w, nn), m.mean));
    }
  }
  std::fclose(f);
  fmt::print("wrote {}\n", path);
}

}  // namespace

int main(int argc, char** argv) {
  bool check = false;
  bool failure = false;
  bool series = false;
  bool long_run = false;
  std::uint64_t seed = 1;
  std::size_t only_nodes = 0;
  std::string csv;
  std::string plot;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "gossip_sim: {} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--check") {
      check = true;
    } else if (a == "--failure") {
      failure = true;
    } else if (a == "--series") {
      series = true;
    } else if (a == "--long") {
      long_run = true;
    } else if (a == "--nodes") {
      only_nodes = std::stoull(value());
    } else if (a == "--seed") {
      seed = std::stoull(value());
    } else if (a == "--csv") {
      csv = value();
    } else if (a == "--plot") {
      plot = value();
    } else {
      fmt::print(stderr,
                 "usage: gossip_sim [--check | --failure] [--long] [--series] [--nodes N] "
                 "[--seed S] [--csv FILE] [--plot FILE.png]\n");
      return 2;
    }
  }
  if (failure) {
    return run_failure(seed);
  }

  std::vector<Params> configs;
  for (std::size_t w : {4, 8, 16}) {
    configs.push_back(cold(16, w, seed));
  }
  for (std::size_t w :
       check ? std::vector<std::size_t>{20, 64} : std::vector<std::size_t>{8, 20, 64, 256}) {
    configs.push_back(cold(256, w, seed));
  }
  if (!check) {
    configs.push_back(cold(1000, 20, seed));
    // The censoring estimator against the full measurement above.
    configs.push_back(synced(256, 20, 256, 20, 40, seed));
  }
  if (!check) {
    configs.push_back(synced(10'000, 10, 128, 24, 40, seed));
  }
  configs.push_back(synced(10'000, 20, 128, 24, 40, seed));
  if (long_run) {
    // Full measurement at N = 10,000: ~6 mean ages, censoring negligible.
    configs.push_back(synced(10'000, 20, 32, 3000, 100, seed));
  }
  if (!check) {
    Params ph = cold(256, 20, seed);
    ph.phases = true;
    configs.push_back(ph);
    Params ph16 = cold(16, 4, seed);
    ph16.phases = true;
    configs.push_back(ph16);
  }

  if (only_nodes != 0) {
    std::erase_if(configs, [&](const Params& p) { return p.n != only_nodes; });
  }

  fmt::print(
      "gossip_sim: real Engine/Board, virtual clock, period 1 s; ages in periods, measured "
      "at the end of a round\n");
  fmt::print(
      "sync* = synced start with censoring correction (see docs/gossip.md); phase = random "
      "tick phases (model assumes synchronous rounds)\n\n");
  print_header();
  // Configurations are independent: run them on two threads (the largest
  // first), print in order. With --series they print while running, so
  // one thread.
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::optional<Result>> done(configs.size());
  std::vector<std::size_t> order(configs.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return configs[a].n * (configs[a].warmup + configs[a].measure) >
           configs[b].n * (configs[b].warmup + configs[b].measure);
  });
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t k = next++; k < order.size(); k = next++) {
      done[order[k]] = run(configs[order[k]], series);
    }
  };
  {
    std::vector<std::jthread> pool;
    const unsigned threads = series ? 1 : 2;
    for (unsigned i = 1; i < threads; ++i) {
      pool.emplace_back(worker);
    }
    worker();
  }
  std::vector<Result> results;
  bool ok = true;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    Result r = std::move(*done[i]);
    print_row(r);
    const Params& p = configs[i];
    if (!p.phases && (std::abs(r.error()) > kTolerance || r.unknown > 0)) {
      ok = false;
      if (check) {
        fmt::print("  FAIL: N={} w={}: measured {:.2f}, model {:.2f} ({:+.1f}%, limit {:.0f}%)\n",
                   p.n, p.w, r.avg, r.model.mean, 100.0 * r.error(), 100.0 * kTolerance);
      }
    }
    results.push_back(std::move(r));
  }
  fmt::print("\n{} configurations in {:.1f} s (wall, 2 threads)\n", results.size(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  if (!plot.empty() && csv.empty()) {
    csv = plot + ".csv";
  }
  if (!csv.empty()) {
    write_csv(csv, results);
  }
  if (!plot.empty()) {
    const std::string script = std::string(MOS_SIM_SOURCE_DIR) + "/plot_gossip.gp";
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
      fmt::print("gnuplot not found: {} left for tests/sim/plot_gossip.gp\n", csv);
    } else {
      std::vector<std::size_t> windows;
      for (const Result& r : results) {
        if (std::find(windows.begin(), windows.end(), r.p.w) == windows.end()) {
          windows.push_back(r.p.w);
        }
      }
      std::sort(windows.begin(), windows.end());
      const std::string cmd = fmt::format("gnuplot -e \"csv='{}'; out='{}'; windows='{}'\" '{}'",
                                          csv, plot, fmt::join(windows, " "), script);
      if (std::system(cmd.c_str()) == 0) {
        fmt::print("wrote {}\n", plot);
      } else {
        fmt::print(stderr, "gossip_sim: gnuplot failed\n");
      }
    }
  }
  if (check) {
    fmt::print("{}\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
  }
  return 0;
}
