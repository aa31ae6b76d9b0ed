// policy_sim: the real placement policy (policy/Policy.h) over a simulated
// cluster, against the placements it replaces (docs/policy.md, "The
// simulator").
//
//   policy_sim [--nodes N] [--hours H] [--load RHO] [--workload exp|pareto|mixed]
//              [--mem-mb MEAN] [--seed S] [--check]
//
// A simulated node has one CPU of a speed and a memory; jobs arrive online
// (Poisson) at random home nodes, each with a CPU demand (seconds on the
// reference node) and a memory demand. Every node shares its CPU equally
// among its jobs (processor sharing); a node whose jobs need more memory
// than it has thrashes, and each job then gets a tenth of its share (the
// rule of the opportunity-cost paper's simulator). A job away from home
// also waits for its forwarded calls: its rate times the round trip.
//
// Strategies, on the same arrivals:
//   home           each job runs where it was started, never moved
//   round-robin    each job to the next node (PVM's placement), never moved
//   random         each job to a random node, never moved
//   least-loaded   each job to the node with the fewest jobs per speed, never moved
//   cost-static    each job where policy::place() says, never moved (the
//                  paper's "enhanced PVM"); it and least-loaded see every
//                  node exactly as it is
//   home+migrate   started at home, then policy::decide() (below): mosrun
//                  without -b
//   cost+migrate   placed by place() on the home's board (every node, as
//                  old as a gossip period; a target refuses by
//                  policy::admit and the home tries again), then
//                  policy::decide() on every node
//                  every second, on a board of 32 random nodes as old as a
//                  gossip period, with moves that take time (size over the
//                  link): our policy as the daemon runs it
//
// The figure is the slowdown: a job's time from arrival to end over its
// time alone on the fastest node. --check runs 100 nodes for half an hour
// of arrivals and fails unless the policy does what docs/policy.md says it
// does against the others.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "policy/Policy.h"

namespace {

using mos::policy::BodyProfile;
using mos::policy::NodeState;
using mos::policy::Snapshot;

constexpr double kDt = 0.25;           // seconds per step
constexpr double kPolicyPeriod = 1.0;  // decide() on every node this often
constexpr int kBoardNodes = 32;        // nodes a node's board offers the policy
constexpr double kRtt = 0.0005;        // between any two nodes
constexpr double kLinkBps = 117e6;     // ~1 Gb/s
constexpr double kThrash = 10.0;       // the paper's simulator: a tenth of the share
constexpr std::uint64_t kMiB = 1ull << 20;

struct Options {
  int nodes = 400;
  double hours = 1.0;
  double load = 0.75;  // offered CPU load over the cluster's capacity
  std::string workload = "mixed";
  double mem_mb = 150;  // mean memory demand of a job (exponential, 8 MiB to 1 GiB)
  std::uint64_t seed = 1;
  bool check = false;
};

struct JobSpec {
  double arrival = 0;
  int home = 0;
  double work = 0;  // reference-CPU seconds
  std::uint64_t mem = 0;
  double syscall_rate = 0;  // forwarded calls per second when away from home
};

struct NodeSpec {
  double speed = 1;
  std::uint64_t mem = 0;
};

struct Job {
  const JobSpec* spec = nullptr;
  int node = -1;
  double done = 0;          // work done
  double frozen_until = 0;  // in a move until then
  double last_move = -1e9;
  std::uint32_t moves = 0;
  bool finished = false;
  double end = 0;
};

std::vector<NodeSpec> make_nodes(const Options& o, std::mt19937_64& rng) {
  // Speeds and memories as in a cluster bought over a few years.
  const double speeds[] = {1.0, 1.0, 1.5, 2.0, 3.0};
  const std::uint64_t mems[] = {1024 * kMiB, 2048 * kMiB, 2048 * kMiB, 4096 * kMiB};
  std::vector<NodeSpec> v(o.nodes);
  for (auto& n : v) {
    n.speed = speeds[rng() % 5];
    n.mem = mems[rng() % 4];
  }
  return v;
}

std::vector<JobSpec> make_jobs(const Options& o, const std::vector<NodeSpec>& nodes,
                               std::mt19937_64& rng) {
  double capacity = 0;
  for (const auto& n : nodes) {
    capacity += n.speed;
  }
  // Work: exponential with mean 120 s; Pareto (Harchol-Balter and Downey's
  // measured lifetimes: P(T > t) ~ 1/t) from 10 s, capped at 3 h, mean
  // ~ 90 s; or half and half.
  std::exponential_distribution<double> exp_work(1.0 / 120.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto pareto = [&] { return std::min(10.0 / std::max(u(rng), 1e-9), 10800.0); };
  std::exponential_distribution<double> mem_mb(1.0 / o.mem_mb);
  double mean_work = 120.0;
  if (o.workload == "pareto") {
    mean_work = 10.0 * (1.0 + std::log(1080.0));
  } else if (o.workload == "mixed") {
    mean_work = 0.5 * 120.0 + 0.5 * 10.0 * (1.0 + std::log(1080.0));
  }
  const double rate = o.load * capacity / mean_work;  // jobs per second
  std::exponential_distribution<double> gap(rate);
  std::vector<JobSpec> jobs;
  const double horizon = o.hours * 3600.0;
  for (double t = gap(rng); t < horizon; t += gap(rng)) {
    JobSpec j;
    j.arrival = t;
    j.home = static_cast<int>(rng() % nodes.size());
    const bool heavy = o.workload == "pareto" || (o.workload == "mixed" && (rng() & 1));
    j.work = heavy ? pareto() : std::max(1.0, exp_work(rng));
    j.mem = static_cast<std::uint64_t>(std::clamp(mem_mb(rng), 8.0, 1024.0) * kMiB);
    // One job in ten talks to home: 200 calls/s (10% of its time away).
    j.syscall_rate = (rng() % 10 == 0) ? 200.0 : 0.0;
    jobs.push_back(j);
  }
  return jobs;
}

enum class Strategy {
  kHome,
  kRoundRobin,
  kRandom,
  kLeastLoaded,
  kCostStatic,
  kHomeMigrate,
  kCostMigrate,
};
constexpr int kStrategies = 7;
bool migrates(Strategy s) {
  return s == Strategy::kHomeMigrate || s == Strategy::kCostMigrate;
}
const char* name(Strategy s) {
  switch (s) {
    case Strategy::kHome:
      return "home";
    case Strategy::kHomeMigrate:
      return "home+migrate";
    case Strategy::kRoundRobin:
      return "round-robin";
    case Strategy::kRandom:
      return "random";
    case Strategy::kLeastLoaded:
      return "least-loaded";
    case Strategy::kCostStatic:
      return "cost-static";
    case Strategy::kCostMigrate:
      return "cost+migrate";
  }
  return "?";
}

struct Result {
  double mean_slowdown = 0, p95 = 0, max_slowdown = 0;
  std::uint64_t jobs = 0, moves = 0, refused = 0, unfinished = 0;
  double thrash_share = 0;  // of node-seconds with jobs, thrashing
};

class Sim {
 public:
  Sim(const Options& o, const std::vector<NodeSpec>& nodes, const std::vector<JobSpec>& jobs,
      Strategy s)
      : o_(o), nodes_(nodes), specs_(jobs), s_(s), rng_(o.seed * 7919 + static_cast<int>(s)) {
    jobs_.resize(specs_.size());
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      jobs_[i].spec = &specs_[i];
    }
    on_.resize(nodes_.size());
    mem_.assign(nodes_.size(), 0);
    names_.resize(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      names_[i] = "n" + std::to_string(i);
    }
    best_speed_ = 0;
    for (const auto& n : nodes_) {
      best_speed_ = std::max(best_speed_, n.speed);
    }
  }

  Result run() {
    std::size_t next = 0;
    double next_policy = kPolicyPeriod;
    std::uint64_t busy = 0, thrashing = 0;
    // Until every job has ended (or a long drain past the last arrival).
    const double limit = o_.hours * 3600.0 * 4 + 36000.0;
    std::size_t live = 0;
    for (now_ = 0; now_ < limit; now_ += kDt) {
      while (next < specs_.size() && specs_[next].arrival <= now_) {
        arrive(next++);
        ++live;
      }
      if (next == specs_.size() && live == 0) {
        break;
      }
      if (migrates(s_) && now_ >= next_policy) {
        policy_round();
        next_policy += kPolicyPeriod;
      }
      for (std::size_t n = 0; n < nodes_.size(); ++n) {
        if (on_[n].empty()) {
          continue;
        }
        ++busy;
        const bool thrash = mem_[n] > nodes_[n].mem;
        thrashing += thrash ? 1 : 0;
        int running = 0;
        for (int j : on_[n]) {
          running += jobs_[j].frozen_until <= now_ ? 1 : 0;
        }
        if (running == 0) {
          continue;
        }
        const double share = nodes_[n].speed / running / (thrash ? kThrash : 1.0);
        for (std::size_t k = 0; k < on_[n].size();) {
          Job& j = jobs_[on_[n][k]];
          if (j.frozen_until > now_) {
            ++k;
            continue;
          }
          const double away = static_cast<int>(n) != j.spec->home ? j.spec->syscall_rate * kRtt : 0;
          j.done += share * kDt / (1.0 + away);
          if (j.done >= j.spec->work) {
            j.finished = true;
            j.end = now_ + kDt;
            mem_[n] -= j.spec->mem;
            on_[n][k] = on_[n].back();
            on_[n].pop_back();
            --live;
          } else {
            ++k;
          }
        }
      }
    }
    Result r;
    std::vector<double> sd;
    for (const auto& j : jobs_) {
      if (!j.finished) {
        ++r.unfinished;
        continue;
      }
      const double alone = j.spec->work / best_speed_;
      sd.push_back(std::max(1.0, (j.end - j.spec->arrival) / alone));
    }
    std::sort(sd.begin(), sd.end());
    r.jobs = sd.size();
    double sum = 0;
    for (double x : sd) {
      sum += x;
    }
    if (!sd.empty()) {
      r.mean_slowdown = sum / sd.size();
      r.p95 = sd[static_cast<std::size_t>(0.95 * (sd.size() - 1))];
      r.max_slowdown = sd.back();
    }
    r.moves = moves_;
    r.refused = refused_;
    r.thrash_share = busy ? static_cast<double>(thrashing) / busy : 0;
    return r;
  }

 private:
  NodeState state(int n) const {
    NodeState s;
    s.name = names_[n];
    s.cluster = "sim";
    s.cores = 1;
    s.speed = nodes_[n].speed;
    s.load = static_cast<double>(on_[n].size());
    s.load_local = 0;
    s.mem_total = nodes_[n].mem;
    s.mem_free = nodes_[n].mem > mem_[n] ? nodes_[n].mem - mem_[n] : 0;
    s.rtt_s = kRtt;
    s.throughput_bps = kLinkBps;
    return s;
  }

  BodyProfile profile(int j) const {
    const Job& job = jobs_[j];
    BodyProfile b;
    b.id = j;
    b.home_node = names_[job.spec->home];
    b.home_cluster = "sim";
    b.cpu = 1.0;
    b.rss = job.spec->mem;
    b.syscall_rate = job.spec->syscall_rate;
    b.age_s = job.done;
    b.since_move_s = now_ - job.last_move;
    b.moves = job.moves;
    b.migrating = job.frozen_until > now_;
    return b;
  }

  // A board: ourselves, the given nodes, and kBoardNodes random others, as
  // they were at the last gossip period (the view is refreshed each period).
  Snapshot board(int self, const std::vector<int>& also) {
    Snapshot s;
    s.self = names_[self];
    s.seed = rng_();
    std::vector<int> pick = also;
    for (int i = 0; i < kBoardNodes; ++i) {
      pick.push_back(static_cast<int>(rng_() % nodes_.size()));
    }
    std::sort(pick.begin(), pick.end());
    pick.erase(std::unique(pick.begin(), pick.end()), pick.end());
    // (The deciding node knows itself as it is now.)
    s.nodes.push_back(state(self));
    for (int n : pick) {
      if (n != self) {
        s.nodes.push_back(view_.empty() ? state(n) : view_[n]);
      }
    }
    return s;
  }

  void arrive(std::size_t j) {
    const JobSpec& spec = specs_[j];
    int target = spec.home;
    switch (s_) {
      case Strategy::kHome:
      case Strategy::kHomeMigrate:
        break;
      case Strategy::kRoundRobin:
        target = static_cast<int>(rr_++ % nodes_.size());
        break;
      case Strategy::kRandom:
        target = static_cast<int>(rng_() % nodes_.size());
        break;
      case Strategy::kLeastLoaded: {
        double best = 1e18;
        for (std::size_t n = 0; n < nodes_.size(); ++n) {
          const double l = (on_[n].size() + 1) / nodes_[n].speed;
          if (l < best) {
            best = l;
            target = static_cast<int>(n);
          }
        }
        break;
      }
      case Strategy::kCostStatic:
      case Strategy::kCostMigrate: {
        // Static: the paper's EPVM knows every machine; with migration,
        // the home's board does.
        // the home's board does, every node as old as a gossip period.
        const bool exact = s_ == Strategy::kCostStatic || view_.empty();
        Snapshot s;
        s.self = names_[spec.home];
        s.seed = rng_();
        for (std::size_t n = 0; n < nodes_.size(); ++n) {
          s.nodes.push_back(exact ? state(static_cast<int>(n)) : view_[n]);
        }
        s.nodes[spec.home] = state(spec.home);
        jobs_[j].node = -1;
        const BodyProfile b = profile(static_cast<int>(j));
        // A refusal says the target's load now: the home tries again with
        // it, three times, then starts the job at home.
        for (int attempt = 0;; ++attempt) {
          target = std::stoi(mos::policy::place(s, b).substr(1));
          if (exact || target == spec.home ||
              mos::policy::admit(state(target), b, s.nodes[target].load)) {
            break;
          }
          ++refused_;
          s.nodes[target] = state(target);
          if (attempt == 2) {
            target = spec.home;
            break;
          }
        }
        break;
      }
    }
    jobs_[j].node = target;
    on_[target].push_back(static_cast<int>(j));
    mem_[target] += spec.mem;
  }

  void policy_round() {
    view_.resize(nodes_.size());
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      view_[n] = state(static_cast<int>(n));
    }
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (on_[n].empty()) {
        continue;
      }
      std::vector<int> homes;
      for (int j : on_[n]) {
        homes.push_back(jobs_[j].spec->home);
      }
      Snapshot s = board(static_cast<int>(n), homes);
      for (int j : on_[n]) {
        s.bodies.push_back(profile(j));
      }
      for (const auto& d : mos::policy::decide(s)) {
        // The target admits it against what it is now (policy::admit).
        const int to = std::stoi(d.target.substr(1));
        if (mos::policy::admit(state(to), profile(static_cast<int>(d.body)), view_[to].load)) {
          move(static_cast<int>(d.body), static_cast<int>(n), to);
        } else {
          ++refused_;
        }
      }
    }
  }

  void move(int j, int from, int to) {
    auto& v = on_[from];
    auto it = std::find(v.begin(), v.end(), j);
    if (it == v.end() || from == to) {
      return;
    }
    v.erase(it);
    Job& job = jobs_[j];
    mem_[from] -= job.spec->mem;
    mem_[to] += job.spec->mem;
    on_[to].push_back(j);
    job.node = to;
    job.frozen_until = now_ + 0.02 + static_cast<double>(job.spec->mem) / kLinkBps;
    job.last_move = now_;
    ++job.moves;
    ++moves_;
  }

  const Options& o_;
  const std::vector<NodeSpec>& nodes_;
  const std::vector<JobSpec>& specs_;
  Strategy s_;
  std::mt19937_64 rng_;
  std::vector<Job> jobs_;
  std::vector<std::vector<int>> on_;
  std::vector<std::uint64_t> mem_;
  std::vector<std::string> names_;
  std::vector<NodeState> view_;
  double best_speed_ = 1;
  double now_ = 0;
  std::uint64_t rr_ = 0, moves_ = 0, refused_ = 0;
};

int usage() {
  std::fprintf(stderr,
               "usage: policy_sim [--nodes N] [--hours H] [--load RHO] "
               "[--workload exp|pareto|mixed] [--mem-mb MEAN] [--seed S] [--check]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--check") {
      o.check = true;
      o.nodes = 100;
      o.hours = 0.5;
    } else if (a == "--nodes" && (v = value())) {
      o.nodes = std::atoi(v);
    } else if (a == "--hours" && (v = value())) {
      o.hours = std::atof(v);
    } else if (a == "--load" && (v = value())) {
      o.load = std::atof(v);
    } else if (a == "--workload" && (v = value())) {
      o.workload = v;
    } else if (a == "--mem-mb" && (v = value())) {
      o.mem_mb = std::atof(v);
    } else if (a == "--seed" && (v = value())) {
      o.seed = std::strtoull(v, nullptr, 10);
    } else {
      return usage();
    }
  }
  if (o.nodes < 2 || o.nodes > 100000 || o.hours <= 0 || o.load <= 0 || o.load >= 1.5 ||
      o.mem_mb < 1 || o.mem_mb > 4096 ||
      (o.workload != "exp" && o.workload != "pareto" && o.workload != "mixed")) {
    return usage();
  }
  std::mt19937_64 rng(o.seed);
  const auto nodes = make_nodes(o, rng);
  const auto jobs = make_jobs(o, nodes, rng);
  std::printf(
      "policy_sim: %d nodes, %.2f h of arrivals, offered load %.2f, %s workload, memory %.0f MB "
      "on average, %zu jobs\n\n",
      o.nodes, o.hours, o.load, o.workload.c_str(), o.mem_mb, jobs.size());
  std::printf("%-14s %10s %8s %9s %8s %8s %10s %8s\n", "strategy", "slowdown", "p95", "max",
              "moves", "refused", "thrashing", "unended");
  double sd[kStrategies] = {}, thrash[kStrategies] = {};
  std::uint64_t moves[kStrategies] = {};
  for (int k = 0; k < kStrategies; ++k) {
    const auto s = static_cast<Strategy>(k);
    Sim sim(o, nodes, jobs, s);
    const Result r = sim.run();
    sd[k] = r.mean_slowdown;
    thrash[k] = r.thrash_share;
    moves[k] = r.moves;
    std::printf("%-14s %10.3f %8.2f %9.1f %8llu %8llu %9.1f%% %8llu\n", name(s), r.mean_slowdown,
                r.p95, r.max_slowdown, static_cast<unsigned long long>(r.moves),
                static_cast<unsigned long long>(r.refused), 100.0 * r.thrash_share,
                static_cast<unsigned long long>(r.unfinished));
    std::fflush(stdout);
  }
  auto at = [&](Strategy s) { return sd[static_cast<int>(s)]; };
  std::printf(
      "\nround-robin / cost-static    %5.2f  (the paper's slides: PVM / enhanced PVM 14.08 / 9.6 = "
      "1.47)\n",
      at(Strategy::kRoundRobin) / at(Strategy::kCostStatic));
  std::printf("cost-static / cost+migrate  %5.2f  (enhanced PVM / Mosix 9.795 / 8.557 = 1.14)\n",
              at(Strategy::kCostStatic) / at(Strategy::kCostMigrate));
  std::printf(
      "home / home+migrate         %5.2f  (what the policy does for jobs started at home)\n",
      at(Strategy::kHome) / at(Strategy::kHomeMigrate));
  if (o.check) {
    // Started at home, the policy must do far better than staying there;
    // placed by -b, far better than blind placements, within 20% of the
    // placements that see every node exactly as it is (which no node of
    // a real cluster can), without churn (under one move per job) and
    // without thrashing.
    const double ours = at(Strategy::kCostMigrate);
    const bool ok = at(Strategy::kHomeMigrate) * 5 < at(Strategy::kHome) &&
                    ours * 5 < at(Strategy::kRoundRobin) && ours * 5 < at(Strategy::kRandom) &&
                    ours < 1.2 * at(Strategy::kCostStatic) &&
                    ours < 1.2 * at(Strategy::kLeastLoaded) &&
                    moves[static_cast<int>(Strategy::kCostMigrate)] < jobs.size() &&
                    thrash[static_cast<int>(Strategy::kCostMigrate)] < 0.01;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
  }
  return 0;
}
