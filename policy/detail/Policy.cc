// The opportunity-cost policy (policy/Policy.h, docs/policy.md).

#include "policy/Policy.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace mos::policy {

namespace {

constexpr double kMaxOverhead = 0.9;
constexpr std::uint32_t kUnknownPartnerPriority = 1001;  // below every configured one

double per_core(const NodeState& n, double load) {
  const double capacity = std::max(1u, n.cores) * std::max(n.speed, 1e-3);
  return std::max(0.0, load) / capacity;
}

// A board entry the policy may act on: not down, not stale.
bool fresh(const NodeState& n, const Params& p) {
  return !n.down && n.age_s <= p.stale_s;
}

// Room for the body at n, with target_free_part of n's memory left.
bool has_room(const NodeState& n, const BodyProfile& b, const Params& p) {
  const double room = static_cast<double>(n.mem_free) - static_cast<double>(b.rss);
  return room >= p.target_free_part * static_cast<double>(n.mem_total);
}

std::size_t live_nodes(const Snapshot& s) {
  std::size_t n = 0;
  for (const auto& node : s.nodes) {
    n += node.down ? 0 : 1;
  }
  return std::max<std::size_t>(n, 2);
}

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t tie_key(std::uint64_t seed, std::int64_t body, const std::string& node) {
  return mix(seed ^ mix(static_cast<std::uint64_t>(body)) ^ std::hash<std::string>{}(node));
}

// The decision round's working view: the snapshot's nodes, updated as
// decisions are taken (so two bodies are not both sent to the one idle
// node).
class Round {
 public:
  Round(const Snapshot& s, const Params& p)
      : s_(s), p_(p), nodes_(s.nodes), count_(live_nodes(s)), scale_(cpu_scale(s.nodes, p)) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      index_[nodes_[i].name] = i;
    }
    const auto me = index_.find(s.self);
    self_ = me == index_.end() ? nullptr : &nodes_[me->second];
  }

  NodeState* self() { return self_; }
  NodeState* find(const std::string& name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &nodes_[it->second];
  }

  std::uint32_t priority(const std::string& cluster) const {
    if (self_ != nullptr && cluster == self_->cluster) {
      return 0;
    }
    const Partner* p = partner(cluster);
    return p != nullptr ? p->priority : kUnknownPartnerPriority;
  }

  const Partner* partner(const std::string& cluster) const {
    for (const auto& p : s_.partners) {
      if (p.cluster == cluster) {
        return &p;
      }
    }
    return nullptr;
  }

  // Whether `b` may be sent to `t` at all (not counting cost).
  bool eligible(const BodyProfile& b, const NodeState& t) const {
    if (t.name == s_.self || !fresh(t, p_)) {
      return false;
    }
    const bool home = t.name == b.home_node;
    if (!home) {
      if (!t.accepts_guests) {
        return false;
      }
      if (!t.accepts_clusters.empty() &&
          std::find(t.accepts_clusters.begin(), t.accepts_clusters.end(), b.home_cluster) ==
              t.accepts_clusters.end()) {
        return false;
      }
      if (t.cluster != b.home_cluster) {
        if (!b.may_leave_cluster) {
          return false;
        }
        // Our own bodies go only where our config lets them.
        if (self_ != nullptr && b.home_cluster == self_->cluster) {
          const Partner* p = partner(t.cluster);
          if (p == nullptr || !p->may_go_out) {
            return false;
          }
        }
      }
    }
    return has_room(t, b, p_);
  }

  double overhead_at(const BodyProfile& b, const NodeState& t) const {
    if (t.name == b.home_node) {
      return 0.0;
    }
    // The round trip from t to home: ours to t when we are home, else
    // ours to home (the cluster's links taken as alike), else ours to t.
    double rtt = t.rtt_s, tput = t.throughput_bps;
    if (s_.self != b.home_node) {
      if (auto it = index_.find(b.home_node); it != index_.end() && nodes_[it->second].rtt_s > 0) {
        rtt = nodes_[it->second].rtt_s;
        tput = nodes_[it->second].throughput_bps;
      }
    }
    return remote_overhead(b, rtt, tput);
  }

  // What b costs per second here, and what it would cost at t.
  double cost_here(const BodyProfile& b) const {
    return leaving_saves(*self_, b, scale_, count_) * (1.0 + overhead_at(b, *self_));
  }
  double cost_at(const BodyProfile& b, const NodeState& t) const {
    return marginal_cost(t, b, scale_, count_) * (1.0 + overhead_at(b, t));
  }

  double move_seconds(const BodyProfile& b, const NodeState& t) const {
    const double tput = t.throughput_bps > 0 ? t.throughput_bps : p_.default_throughput_bps;
    return p_.fixed_move_s + static_cast<double>(b.rss) / tput;
  }

  // The cheapest eligible node for b (ties broken by the seed), with its
  // cost; `filter` narrows the candidates.
  std::pair<NodeState*, double> cheapest(const BodyProfile& b,
                                         const std::function<bool(const NodeState&)>& filter) {
    NodeState* best = nullptr;
    double best_cost = std::numeric_limits<double>::infinity();
    std::uint64_t best_tie = 0;
    for (auto& t : nodes_) {
      if (!eligible(b, t) || (filter && !filter(t))) {
        continue;
      }
      const double c = cost_at(b, t);
      const std::uint64_t tie = tie_key(s_.seed, b.id, t.name);
      const bool equal = std::abs(c - best_cost) <= 1e-12 * std::max(1.0, std::abs(c));
      if (best == nullptr || (!equal && c < best_cost) || (equal && tie < best_tie)) {
        best = &t;
        best_cost = c;
        best_tie = tie;
      }
    }
    return {best, best_cost};
  }

  // The decision's effect on the view.
  void apply(const BodyProfile& b, NodeState& t) {
    const double d = demand(b);
    t.load += d;
    t.mem_free -= std::min<std::uint64_t>(t.mem_free, b.rss);
    self_->load = std::max(0.0, self_->load - d);
    self_->mem_free = std::min(self_->mem_total, self_->mem_free + b.rss);
  }

  double scale() const { return scale_; }
  std::size_t count() const { return count_; }
  const Params& params() const { return p_; }

 private:
  const Snapshot& s_;
  const Params& p_;
  std::vector<NodeState> nodes_;
  std::map<std::string, std::size_t> index_;
  NodeState* self_ = nullptr;
  std::size_t count_;
  double scale_;
};

bool held(const BodyProfile& b, const Params& p) {
  return b.since_move_s < p.hold_s + p.hold_per_move_s * b.moves;
}

}  // namespace

double demand(const BodyProfile& b) {
  return std::clamp(b.cpu, 0.05, 1.0);
}

const char* why_name(Why w) {
  switch (w) {
    case Why::kBalance:
      return "balance";
    case Why::kMemory:
      return "memory";
    case Why::kPriority:
      return "priority";
    case Why::kExpel:
      return "expel";
    case Why::kHome:
      return "home";
  }
  return "?";
}

double resource_cost(double utilisation, std::size_t nodes) {
  const double base = static_cast<double>(std::max<std::size_t>(nodes, 2));
  return std::pow(base, std::max(0.0, utilisation));
}

double cpu_scale(const std::vector<NodeState>& nodes, const Params& params) {
  double highest = 0.0;
  for (const auto& n : nodes) {
    if (!n.down) {
      highest = std::max(highest, per_core(n, n.load));
    }
  }
  double scale = 1.0;
  while (scale <= highest) {
    scale *= 2.0;
  }
  return std::max(scale, params.min_cpu_scale);
}

double node_cost(const NodeState& n, double extra_load, std::int64_t extra_mem, double scale,
                 std::size_t nodes) {
  const double cpu = per_core(n, n.load + extra_load) / scale;
  double mem = 0.0;
  if (n.mem_total > 0) {
    const double used = static_cast<double>(n.mem_total) - static_cast<double>(n.mem_free) +
                        static_cast<double>(extra_mem);
    mem = std::max(0.0, used) / static_cast<double>(n.mem_total);
  }
  return resource_cost(cpu, nodes) + resource_cost(mem, nodes);
}

double marginal_cost(const NodeState& n, const BodyProfile& b, double scale, std::size_t nodes) {
  return node_cost(n, demand(b), static_cast<std::int64_t>(b.rss), scale, nodes) -
         node_cost(n, 0.0, 0, scale, nodes);
}

double leaving_saves(const NodeState& n, const BodyProfile& b, double scale, std::size_t nodes) {
  const double d = std::min(demand(b), std::max(0.0, n.load));
  return node_cost(n, 0.0, 0, scale, nodes) -
         node_cost(n, -d, -static_cast<std::int64_t>(b.rss), scale, nodes);
}

double remote_overhead(const BodyProfile& b, double rtt_s, double throughput_bps) {
  double f = std::max(0.0, b.syscall_rate) * std::max(0.0, rtt_s);
  if (throughput_bps > 0) {
    f += std::max(0.0, b.io_bps) / throughput_bps;
  }
  return std::min(f, kMaxOverhead);
}

std::vector<Decision> decide(const Snapshot& s, const Params& p) {
  std::vector<Decision> out;
  Round r(s, p);
  NodeState* self = r.self();
  if (self == nullptr) {
    return out;  // we are not on our own board yet
  }
  std::vector<const BodyProfile*> movable;
  for (const auto& b : s.bodies) {
    const bool local = b.home_node == s.self;
    if (b.stay || b.migrating || (local && s.lstay)) {
      continue;
    }
    movable.push_back(&b);
  }
  std::vector<bool> taken(movable.size(), false);
  auto decided = [&](std::size_t i, NodeState& t, Why why, double gain) {
    taken[i] = true;
    r.apply(*movable[i], t);
    Why w = why;
    if (why == Why::kBalance && t.name == movable[i]->home_node) {
      w = Why::kHome;
    }
    out.push_back({movable[i]->id, movable[i]->home_node, t.name, w, gain});
  };
  auto home_of = [&](const BodyProfile& b) -> NodeState* {
    NodeState* h = r.find(b.home_node);
    return h != nullptr && r.eligible(b, *h) ? h : nullptr;
  };

  // 1. mosctl expel: every guest leaves, to a node of its own cluster or home.
  if (s.expel) {
    for (std::size_t i = 0; i < movable.size(); ++i) {
      const BodyProfile& b = *movable[i];
      if (b.home_node == s.self) {
        continue;
      }
      auto [t, c] = r.cheapest(b, [&](const NodeState& n) { return n.cluster == b.home_cluster; });
      if (t == nullptr) {
        t = home_of(b);
      }
      if (t != nullptr) {
        decided(i, *t, Why::kExpel, 0.0);
      }
    }
  }

  // 2. Memory pressure: the largest bodies go first, until enough is free.
  const double need = std::max(static_cast<double>(p.min_free_bytes),
                               p.min_free_part * static_cast<double>(self->mem_total));
  if (static_cast<double>(self->mem_free) < need) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < movable.size(); ++i) {
      if (!taken[i] && !held(*movable[i], p)) {
        order.push_back(i);
      }
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return movable[a]->rss > movable[b]->rss; });
    for (std::size_t i : order) {
      if (static_cast<double>(self->mem_free) >= need) {
        break;
      }
      auto [t, c] = r.cheapest(*movable[i], {});
      if (t != nullptr) {
        decided(i, *t, Why::kMemory, 0.0);
      }
    }
  }

  // 3. Priorities: with more runnable work than cores here, the guests of
  // the least important clusters make way for local work and for more
  // important guests.
  double excess = self->load - static_cast<double>(std::max(1u, self->cores));
  if (excess > 0.5) {
    std::uint32_t best = self->load_local > 0.5 ? 0 : kUnknownPartnerPriority + 1;
    for (const auto& b : s.bodies) {
      best = std::min(best, r.priority(b.home_cluster));
    }
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < movable.size(); ++i) {
      if (!taken[i] && r.priority(movable[i]->home_cluster) > best) {
        order.push_back(i);
      }
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return r.priority(movable[a]->home_cluster) > r.priority(movable[b]->home_cluster);
    });
    for (std::size_t i : order) {
      if (excess <= 0.5) {
        break;
      }
      const BodyProfile& b = *movable[i];
      // Elsewhere where it does not crowd anyone (a free core), else home.
      auto [t, c] = r.cheapest(b, [&](const NodeState& n) {
        return n.load + demand(b) <= static_cast<double>(std::max(1u, n.cores));
      });
      if (t == nullptr) {
        t = home_of(b);
      }
      if (t != nullptr) {
        decided(i, *t, Why::kPriority, 0.0);
        excess -= demand(b);
      }
    }
  }

  // 4. Balance: the cheapest node, when the saving is worth the move.
  const bool crowded = self->load > static_cast<double>(std::max(1u, self->cores)) + 0.5;
  // (A body alone here moves for speed only: to a faster node, while nodes
  // as fast as that are plentiful and idle, see Params::speed_move_idle_part.
  // To a node as fast as this one it would gain nothing: it has its core.)
  auto spare_at = [&](const NodeState& t) {
    std::size_t fast = 0, idle = 0;
    for (const auto& n : s.nodes) {
      if (fresh(n, p) && n.speed >= t.speed) {
        ++fast;
        idle += n.load < 0.5 ? 1 : 0;
      }
    }
    return static_cast<double>(idle) >= p.speed_move_idle_part * static_cast<double>(fast);
  };
  std::uint32_t moves = 0;
  while (moves < p.max_moves) {
    std::size_t pick = movable.size();
    NodeState* where = nullptr;
    double best_gain = 0.0;
    for (std::size_t i = 0; i < movable.size(); ++i) {
      const BodyProfile& b = *movable[i];
      if (taken[i] || held(b, p)) {
        continue;
      }
      const double here = r.cost_here(b);
      auto [t, there] = r.cheapest(b, {});
      if (t == nullptr) {
        continue;
      }
      const double gain = here - there;
      const double horizon = std::clamp(b.age_s, p.min_horizon_s, p.max_horizon_s);
      // MOSIX's rule against ping-pong, per core and speed-scaled: the
      // target with the body must stay below us without it... unless the
      // body goes home because of its calls' round trips.
      const bool cpu_ok =
          (t->name == b.home_node && r.overhead_at(b, *self) >= p.home_overhead) ||
          (per_core(*t, t->load + p.load_margin * demand(b)) < per_core(*self, self->load) &&
           (crowded || (t->speed > self->speed && spare_at(*t))));
      if (gain > p.threshold * here && gain * horizon > here * r.move_seconds(b, *t) && cpu_ok &&
          gain > best_gain) {
        pick = i;
        where = t;
        best_gain = gain;
      }
    }
    if (where == nullptr) {
      break;
    }
    decided(pick, *where, Why::kBalance, best_gain);
    ++moves;
  }
  return out;
}

bool admit(const NodeState& now, const BodyProfile& b, double seen_load, const Params& p) {
  return now.load < seen_load + 1.0 - 1e-9 && has_room(now, b, p);
}

std::string place(const Snapshot& s, const BodyProfile& b, const Params& p) {
  Round r(s, p);
  NodeState* self = r.self();
  if (self == nullptr) {
    return s.self;
  }
  const double here = marginal_cost(*self, b, r.scale(), r.count());
  auto [t, there] = r.cheapest(b, {});
  if (t == nullptr || there >= here) {
    return s.self;
  }
  return t->name;
}

}  // namespace mos::policy
