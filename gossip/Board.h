#pragma once
// One node's bulletin board: the vector of (node, age, record) that the
// gossip algorithm of Amar, Barak, Drezner and Okun maintains (docs/gossip.md).
// Pure data structure: no clock, no I/O, no threads. The caller (Engine)
// says how much time passed; the board never reads a clock itself.

#include "gossip/Tuning.h"
#include "gossip/Window.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mos::gossip {

// A consumer's view of one entry. It owns a reference to the record, so it
// stays valid after the board moves on.
struct NodeView {
  RecordPtr record;
  Duration age{0};
  bool down = false;

  const std::string& node() const { return record->node(); }
};

struct BoardOptions {
  // An entry older than this is reported down (the node is presumed dead)...
  Duration down_after = kDefaultDownAfter;
  // ...and deleted once older than this. Must be >= down_after; equal means
  // "forget without ever reporting down" (the simulator's pruned boards).
  Duration forget_after = kDefaultForgetAfter;
};

struct MergeStats {
  std::size_t inserted = 0;  // nodes the board did not know
  std::size_t replaced = 0;  // a younger copy (or equal age, higher sequence)
  std::size_t kept = 0;      // the board's copy was as young or younger
  std::size_t ignored = 0;   // about ourselves, or already past forget_after
  std::size_t rejected = 0;  // no record, no name, or a negative age
};

class Board {
 public:
  Board(std::string self, BoardOptions options);

  const std::string& self() const { return self_; }
  const BoardOptions& options() const { return options_; }

  // Every entry grows older by dt (negative dt is ignored: a caller's clock
  // that steps back must not make information look fresher). Entries whose
  // age now exceeds forget_after are deleted. O(1) unless some entry crossed
  // the forget bound, then O(size).
  void age(Duration dt);

  // Puts our own record in with age 0. The record's node must be self().
  void refresh_self(RecordPtr record);

  // The window to send: our own record first (if we have one), then the
  // w - 1 youngest other entries, youngest first. Equal ages are ordered by a
  // key hashed from (node, sequence, this board's name): deterministic, and
  // independent between boards and between a node's successive records, so no
  // node's entries win ties systematically. Down entries are sent too: age
  // alone decides, so they are only picked when little is younger. O(size).
  std::vector<WindowEntry> select_window(std::size_t w) const;

  // Merges received entries: per node the younger copy wins; at equal age the
  // higher sequence number wins, so a stale record never replaces a fresh one
  // and a duplicate changes nothing. Entries about ourselves are ignored (we
  // are the authority), as are entries already older than forget_after.
  // Malformed entries (null record, empty name, negative age) are counted as
  // rejected and skipped; the rest of the window is still merged.
  MergeStats merge(std::span<const WindowEntry> entries);

  std::optional<NodeView> find(std::string_view node) const;
  bool contains(std::string_view node) const { return lookup(node, hash_name(node)) != kNone; }

  // All entries (ourselves included), sorted by node name.
  std::vector<NodeView> snapshot() const;

  // Unordered traversal without building a vector (the simulator measures
  // 10,000-entry boards every round). f(const NodeView&).
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      f(at(i));
    }
  }

  // Random access in unspecified order, for drawing a random peer in O(1).
  std::size_t size() const { return slots_.size(); }
  NodeView at(std::size_t i) const;

  // Entries other than ourselves that are not down.
  std::size_t live_count() const;

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  struct Slot {
    RecordPtr record;
    std::int64_t birth = 0;  // board time at which the entry's age was 0
    std::uint64_t hash = 0;  // of the node name, for the index
    std::uint64_t tie = 0;   // orders equal ages in select_window
  };

  static std::uint64_t hash_name(std::string_view node);
  std::uint64_t tie_key(std::uint64_t hash, std::uint64_t sequence) const;
  bool is_down(std::int64_t birth) const { return now_ - birth > options_.down_after.count(); }

  // Open-addressing index from node name to slot (linear probing, at most
  // half full, backward-shift deletion). A node-based hash map would cost
  // ~100 bytes per entry, which matters for the simulator's 10,000 boards.
  std::uint32_t lookup(std::string_view node, std::uint64_t hash) const;
  void index_insert(std::uint64_t hash, std::uint32_t slot);
  void index_erase(std::uint64_t hash, std::uint32_t slot);
  void index_retarget(std::uint64_t hash, std::uint32_t from, std::uint32_t to);
  void index_grow();
  std::uint32_t insert(RecordPtr record, std::uint64_t hash, std::int64_t birth);
  void erase(std::uint32_t slot);
  void sweep();

  std::string self_;
  BoardOptions options_;
  std::uint64_t salt_;
  std::int64_t now_ = 0;  // board time (ns): the sum of age() steps
  // A lower bound on every slot's birth: while now_ - min_birth_ is within
  // forget_after, nothing can be due for deletion and age() skips the scan.
  std::int64_t min_birth_ = 0;
  std::uint32_t self_slot_ = kNone;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> table_;  // slot index, or kNone; size a power of 2

  struct Candidate {
    std::int64_t birth;
    std::uint64_t tie;
    std::uint32_t slot;
  };
  mutable std::vector<Candidate> scratch_;  // reused by select_window
};

}  // namespace mos::gossip
