#pragma once
// The daemon's placement loop (docs/policy.md, "In the daemon"): every
// policy period the home node's mosixd asks each of its programs' deputies
// how its body does (ProgramStatus: where it runs, memory, CPU time,
// forwarded calls), decays the figures into a profile, runs policy::decide()
// as the node where the body runs would, and carries a decision out by
// asking the deputy to migrate (MigrateRequest, not waiting). One move a
// round from this home, one at a time per body; bodies of `mosrun -L`
// never. Moves asked for are added to the board's loads until the boards'
// smoothed loads show them (correct()).
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

  PlacementLoop(const common::Config& config, Board board, policy::Params params = {});
  ~PlacementLoop();
  PlacementLoop(const PlacementLoop&) = delete;
  PlacementLoop& operator=(const PlacementLoop&) = delete;

  void start();
  void stop();

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
  };
  static policy::BodyProfile profile(const wire::ProgramStatus& status, Tracked& t,
                                     std::chrono::steady_clock::time_point now,
                                     const common::Config& config);

  // A move this home asked for, as the boards do not show it yet: the
  // boards' loads are smoothed (gossip/LoadAverager.h), so the source's
  // drops by 1/8 and the target's rises by 3/8 of what is left a period.
  struct Recent {
    std::string from, to;
    double demand = 1.0;
    std::chrono::steady_clock::time_point at{};
  };
  // The nodes with what the boards have not caught up with yet.
  static void correct(std::vector<policy::NodeState>& nodes, const std::vector<Recent>& recent,
                      std::chrono::steady_clock::time_point now, double period_s);

 private:
  void run();
  void round();

  const common::Config& config_;
  Board board_;
  policy::Params params_;
  std::map<pid_t, Tracked> tracked_;
  std::vector<Recent> recent_;
  std::uint64_t rounds_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mos::home
