#pragma once
// The daemon's placement loop (docs/policy.md, "In the daemon"): every
// policy period the home node's mosixd asks each of its programs' deputies
// how its body does (ProgramStatus: where it runs, memory, CPU time,
// forwarded calls), decays the figures into a profile, runs policy::decide()
// as the node where the body runs would, and carries a decision out by
// asking the deputy to migrate (MigrateRequest, not waiting). A few moves a
// round from this home, one at a time per body; bodies of `mosrun -L`
// never. The boards' loads are smoothed and late; what this home's own
// programs add to each node is known now, so the loop replaces the boards'
// share of it by the present (Ours, correct()).
//
// A thread of its own: the deputies answer datagrams, which the daemon's
// event loop must not wait for. The board comes from that loop through
// `board` (called from this thread; it may block up to a second).

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/Config.h"
#include "common/migrate.pb.h"
#include "policy/Policy.h"

namespace mos::home {

class PlacementLoop {
 public:
  // The nodes as the board says they are (rtt_s: this node's measured
  // round trip to each), or nothing if the board cannot be read now.
  using Board = std::function<std::optional<std::vector<policy::NodeState>>()>;

  // `lstay`: mosctl lstay is on (this node's programs stay home).
  PlacementLoop(const common::Config& config, std::function<bool()> lstay, Board board,
                policy::Params params = {});
  ~PlacementLoop();
  PlacementLoop(const PlacementLoop&) = delete;
  PlacementLoop& operator=(const PlacementLoop&) = delete;

  void start();
  void stop();

  // The config's partner clusters as the policy takes them.
  static std::vector<policy::Partner> partners(const common::Config& config);

  // What one round decides for one program (pure; the loop and the tests
  // call it): its profile from `status` and the tracking of earlier rounds.
  struct Tracked {
    std::uint64_t cpu_ms = 0;
    std::chrono::steady_clock::time_point sampled{};
    double cpu = 0.0;  // decayed, in cores
    std::uint32_t migrations = 0;
    std::chrono::steady_clock::time_point moved{};
    std::chrono::steady_clock::time_point asked{};  // a move asked for, not yet seen
    bool asking = false;
    std::string where;    // its node when last seen (or the move's target)
    double demand = 1.0;  // what it adds to that node's load
  };
  static policy::BodyProfile profile(const wire::ProgramStatus& status, Tracked& t,
                                     std::chrono::steady_clock::time_point now,
                                     const common::Config& config);

  // What this home's programs add to each node's load (node -> demand):
  // `now` as this round found them (a body asked to move counts at its
  // target), `shown` as the boards show it. The boards' loads are smoothed
  // (gossip/LoadAverager.h): a rise appears 3/8 a gossip period, a fall
  // 1/8; `shown` follows `now` by the same rule, a model of the boards'
  // lag that needs no message.
  struct Ours {
    std::map<std::string, double> now;
    std::map<std::string, double> shown;
    bool started = false;
  };
  // `shown` after `periods` gossip periods of `now` (the first call takes
  // `now` as shown: a daemon that starts finds its programs on the boards).
  static void follow(Ours& ours, double periods);
  // The boards' loads with this home's share as it is now (never below
  // what our own bodies there add).
  static void correct(std::vector<policy::NodeState>& nodes, const Ours& ours);

  // A move this home started: its memory leaves `from` for `to`.
  struct Moving {
    pid_t pid = 0;
    std::string from, to;
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point at{};
  };
  // The boards' free memory with the moves they do not show yet.
  static void correct_memory(std::vector<policy::NodeState>& nodes,
                             const std::vector<Moving>& moving);

 private:
  void run();
  void round();

  const common::Config& config_;
  std::function<bool()> lstay_;
  Board board_;
  policy::Params params_;
  std::map<pid_t, Tracked> tracked_;
  Ours ours_;
  std::vector<Moving> moving_;
  std::chrono::steady_clock::time_point last_round_{};
  std::uint64_t rounds_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mos::home
