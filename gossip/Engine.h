#pragma once
// Drives one node's board: once per period it ages the board, puts in a fresh
// own record and sends a window of the youngest entries to one random live
// peer; received windows are merged. Transport-agnostic and single-threaded:
// time, randomness, the own record and sending are injected, so the daemon
// (UDP, real clock) and the simulator (function calls, virtual clock) run
// this same code.

#include "gossip/Board.h"
#include "gossip/Tuning.h"
#include "gossip/Window.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mos::gossip {

struct EngineConfig {
  std::string self;     // our node name
  std::string cluster;  // our cluster, copied into records that leave it empty
  // How often the caller should call tick(). The engine itself ages by the
  // clock, not by counting ticks, so a late or early tick does no harm.
  Duration period = kDefaultPeriod;
  std::size_t window = kDefaultWindow;  // entries per window, own included
  Duration down_after = kDefaultDownAfter;
  Duration forget_after = kDefaultForgetAfter;
  // Nodes we may gossip to before we have heard of them (the configured node
  // map): a joining node knows no one until someone hears from it. Shared so
  // that 10,000 simulated engines do not each copy a 10,000-name list.
  std::shared_ptr<const std::vector<std::string>> seeds;
  // Sequence number of our first record; must exceed any record we sent
  // before a restart (the daemon uses the wall clock in microseconds).
  std::uint64_t first_sequence = 1;
};

struct EngineStats {
  std::uint64_t ticks = 0;
  std::uint64_t windows_sent = 0;
  std::uint64_t lonely_ticks = 0;  // no peer to send to
  std::uint64_t windows_received = 0;
  std::uint64_t windows_ignored = 0;  // our own window came back
  MergeStats merged;                  // summed over all received windows
};

class Engine {
 public:
  // Monotonic time since an arbitrary epoch. Must never step back (a step
  // back is treated as no time passing).
  using Clock = std::function<Duration()>;
  // Uniform 64-bit random numbers.
  using Random = std::function<std::uint64_t()>;
  // Our current state; node, sequence and clock_ns are filled in by the
  // engine, cluster too if left empty.
  using RecordProvider = std::function<LoadRecord()>;
  // Sends one window to one peer. Fire and forget: a lost or undeliverable
  // window (the peer died) costs nothing but that window's information, and
  // the callback must not call back into this engine.
  using Send = std::function<void(const std::string& peer, const Window& window)>;

  Engine(EngineConfig config, Clock clock, Random random, RecordProvider provider, Send send);

  // One period: age by the time elapsed since the last call into the engine,
  // refresh our record, pick a random peer among the live nodes we know and
  // the seeds we have not heard of, and send it our window. With no peer the
  // record is still refreshed (lonely_ticks counts it).
  void tick();

  // Merges a window a peer sent. `transit` is added to every age: the time
  // the window spent on the wire, if the transport can tell. Our own window
  // (sender == self) is ignored. Malformed entries are skipped, never fatal.
  void on_receive(const Window& window, Duration transit = Duration::zero());

  // The board as of now (aged to the clock), sorted by node name.
  std::vector<NodeView> snapshot();
  std::optional<NodeView> find(std::string_view node);

  // The board aged to the clock, for traversals that need no sorted copy.
  const Board& current_board();
  // The board without ageing it to the clock first (as of the last call).
  const Board& board() const { return board_; }
  const EngineConfig& config() const { return config_; }
  const EngineStats& stats() const { return stats_; }

 private:
  void advance();
  std::optional<std::string> choose_peer();
  std::uint64_t uniform(std::uint64_t n);  // in [0, n), unbiased

  EngineConfig config_;
  Clock clock_;
  Random random_;
  RecordProvider provider_;
  Send send_;
  Board board_;
  Duration last_;
  std::uint64_t next_sequence_;
  std::uint64_t window_sequence_ = 0;
  EngineStats stats_;
};

}  // namespace mos::gossip
