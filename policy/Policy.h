#pragma once
// The placement policy (docs/policy.md): which body should run where.
// Pure: functions of a snapshot (what the board says of the nodes, the
// bodies running here and their profiles) returning decisions. No clock,
// no I/O, no randomness but the snapshot's seed; the daemon samples, runs
// decide() periodically and carries the decisions out by live migration,
// and the simulator (tests/sim/policy_sim.cc) runs the same functions over
// thousands of simulated nodes.
//
// The rule is the opportunity cost of Amir, Awerbuch, Barak, Borgstrom and
// Keren (IEEE TPDS 2000): each resource of a node is priced n^utilisation
// (n nodes), a node's cost is the sum over its resources, and a body goes
// where the marginal cost of its resources is lowest. On top of it, as
// MOSIX does: node speeds, the cost of the move itself and of running away
// from home, a threshold and per-body hysteresis, memory pressure, and the
// priorities of partner clusters.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mos::policy {

// ---- the snapshot --------------------------------------------------------

// One node as the board says it is.
struct NodeState {
  std::string name;
  std::string cluster;
  std::uint32_t cores = 1;
  double speed = 1.0;           // relative to the reference node
  double load = 0.0;            // runnable processes (smoothed), local and guests
  double load_local = 0.0;      // of which started on this node
  std::uint64_t mem_total = 0;  // bytes
  std::uint64_t mem_free = 0;
  std::uint32_t guests = 0;
  bool accepts_guests = true;  // false: mosctl block, or full
  // Clusters whose bodies may come here; empty means any.
  std::vector<std::string> accepts_clusters;
  double age_s = 0.0;  // of the board's entry
  bool down = false;
  // From this node (the one deciding) to that one: measured, 0 = unknown.
  double rtt_s = 0.0;
  double throughput_bps = 0.0;
};

// What the policy knows of one body running here.
struct BodyProfile {
  std::int64_t id = 0;  // the program's home PID (with home_node: unique)
  std::string home_node;
  std::string home_cluster;
  double cpu = 0.0;                // decayed CPU use, in cores of the reference speed (0..)
  std::uint64_t rss = 0;           // bytes
  double syscall_rate = 0.0;       // forwarded calls per second (decayed)
  double io_bps = 0.0;             // bytes per second through forwarded calls (decayed)
  double age_s = 0.0;              // CPU seconds it has run (the expected rest, see docs)
  double since_move_s = 1e9;       // since its last move (or start)
  std::uint32_t moves = 0;         // moves so far
  bool stay = false;               // mosrun -L: never moved automatically
  bool may_leave_cluster = false;  // mosrun -G
  bool migrating = false;          // a move is under way
};

// What an administrator set for a partner cluster (from the config file).
struct Partner {
  std::string cluster;
  std::uint32_t priority = 0;  // smaller is more important; 0 = the local cluster
  bool may_come_in = true;
  bool may_go_out = true;
  std::uint32_t max_guests = 0;  // 0: no limit
};

struct Snapshot {
  std::string self;  // the deciding node: a member of `nodes`
  std::vector<NodeState> nodes;
  std::vector<BodyProfile> bodies;  // those running on `self`
  std::vector<Partner> partners;
  std::uint64_t seed = 0;  // breaks ties between equal candidates
  // mosctl: send every guest away / keep local processes home.
  bool expel = false;
  bool lstay = false;
};

// ---- the constants -------------------------------------------------------

struct Params {
  // CPU utilisation is load over the smallest power of two above the
  // highest load per core seen (the paper's doubling); at least this.
  double min_cpu_scale = 2.0;
  // A move must save at least this part of the body's cost here...
  double threshold = 0.10;
  // ...and, over the body's expected remaining time, more than the cost of
  // being frozen for the move (size over the link, plus the fixed part).
  double fixed_move_s = 0.02;
  double default_throughput_bps = 100e6;
  // The expected remaining time: its CPU age, within these bounds.
  double min_horizon_s = 0.0;
  double max_horizon_s = 3600.0;
  // No move of a body within this long of its last one, nor within
  // hold_per_move_s times the number of moves it has made (hysteresis).
  double hold_s = 3.0;
  double hold_per_move_s = 1.0;
  // MOSIX's own rule on top: the target's load plus this times the body's
  // own must stay below the load here (per core, speed-scaled).
  double load_margin = 1.3;
  // ...waived for a body going home that spends at least this part of its
  // time waiting for home where it is.
  double home_overhead = 0.05;
  // A board entry older than this is not a target.
  double stale_s = 10.0;
  // Memory pressure: below this free memory (bytes, or part of the total,
  // whichever is larger) a node sends bodies away first.
  std::uint64_t min_free_bytes = 64ull << 20;
  double min_free_part = 0.05;
  // A target must keep this part of its memory free after the body.
  double target_free_part = 0.10;
  // A body that has a core to itself here moves to a faster node only
  // while at least this part of the board's nodes are idle: an idle fast
  // node is worth more to the next job that arrives than to one that
  // already runs alone (docs/policy.md, "Speed moves").
  double speed_move_idle_part = 0.3;
  // Decisions per round: balancing moves (memory and priority moves are
  // not limited, one per body).
  std::uint32_t max_moves = 1;
};

// ---- the cost -----------------------------------------------------------

// What the body adds to a node's load: its cpu, as a runnable process's
// worth (0.05 to 1: a body that sleeps adds less).
double demand(const BodyProfile& b);

// n^u with n the number of live nodes (at least 2).
double resource_cost(double utilisation, std::size_t nodes);

// The CPU utilisation scale: the smallest power of two above the highest
// load per core (speed-scaled) among `nodes`, at least params.min_cpu_scale.
double cpu_scale(const std::vector<NodeState>& nodes, const Params& params);

// The cost of a node with these loads: CPU (per core, speed-scaled, over
// `scale`) plus memory (used over total).
double node_cost(const NodeState& n, double extra_load, std::int64_t extra_mem, double scale,
                 std::size_t nodes);

// What a body adds to a node's cost (or, with remove, what leaving saves).
double marginal_cost(const NodeState& n, const BodyProfile& b, double scale, std::size_t nodes);
double leaving_saves(const NodeState& n, const BodyProfile& b, double scale, std::size_t nodes);

// The part of its time a body would spend waiting for home if it ran on a
// node at `rtt_s` from it: forwarded calls times the round trip, its I/O
// over the link (0 at home; at most 0.9).
double remote_overhead(const BodyProfile& b, double rtt_s, double throughput_bps);

// ---- the decisions --------------------------------------------------------

enum class Why {
  kBalance,   // cheaper elsewhere (CPU and memory cost)
  kMemory,    // this node is short of memory
  kPriority,  // local work or a higher-priority cluster needs this node
  kExpel,     // mosctl expel
  kHome,      // cheaper at home (or nowhere else may take it)
};
const char* why_name(Why w);

struct Decision {
  std::int64_t body = 0;
  std::string home_node;
  std::string target;  // a node name; the home node's name means home
  Why why = Why::kBalance;
  double gain = 0.0;  // cost saved per second (balance), for the log
};

// Where the bodies running on snapshot.self should go now: at most one
// decision per body, none for bodies that stay. Deterministic for a given
// snapshot.
std::vector<Decision> decide(const Snapshot& s, const Params& params = {});

// The target's side of a move (the daemon asked to take a guest): against
// herds, a node refuses a body whose sender saw it with `seen_load` if its
// load has grown by a runnable process or more since (others sent theirs
// on the same news), or if it has no room for it now.
bool admit(const NodeState& now, const BodyProfile& b, double seen_load, const Params& params = {});

// Where a new body should start (mosrun -b): the node of lowest marginal
// cost that may take it, snapshot.self on ties or when none may.
std::string place(const Snapshot& s, const BodyProfile& b, const Params& params = {});

}  // namespace mos::policy
