#include "gossip/Board.h"

#include "common/Assert.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace mos::gossip {

namespace {

// splitmix64's finaliser: a cheap bijective mixer, good enough to decorrelate
// tie keys between boards and between successive records.
std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

constexpr std::size_t kInitialTable = 16;

}  // namespace

Board::Board(std::string self, BoardOptions options)
    : self_(std::move(self)), options_(options), salt_(mix64(hash_name(self_))) {
  MOS_ASSERT(!self_.empty(), "a board needs its own node name");
  MOS_ASSERT(options_.down_after.count() > 0, "down_after must be positive");
  MOS_ASSERT(options_.forget_after >= options_.down_after, "forget_after must be >= down_after");
  table_.assign(kInitialTable, kNone);
}

std::uint64_t Board::hash_name(std::string_view node) {
  return mix64(std::hash<std::string_view>{}(node));
}

std::uint64_t Board::tie_key(std::uint64_t hash, std::uint64_t sequence) const {
  return mix64(hash ^ salt_ ^ (sequence * 0x9e3779b97f4a7c15ull));
}

// ---- index ----------------------------------------------------------------

std::uint32_t Board::lookup(std::string_view node, std::uint64_t hash) const {
  const std::size_t mask = table_.size() - 1;
  for (std::size_t pos = hash & mask;; pos = (pos + 1) & mask) {
    const std::uint32_t s = table_[pos];
    if (s == kNone) {
      return kNone;
    }
    if (slots_[s].hash == hash && slots_[s].record->node() == node) {
      return s;
    }
  }
}

void Board::index_insert(std::uint64_t hash, std::uint32_t slot) {
  const std::size_t mask = table_.size() - 1;
  std::size_t pos = hash & mask;
  while (table_[pos] != kNone) {
    pos = (pos + 1) & mask;
  }
  table_[pos] = slot;
}

void Board::index_grow() {
  table_.assign(table_.size() * 2, kNone);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    index_insert(slots_[s].hash, s);
  }
}

void Board::index_retarget(std::uint64_t hash, std::uint32_t from, std::uint32_t to) {
  const std::size_t mask = table_.size() - 1;
  for (std::size_t pos = hash & mask;; pos = (pos + 1) & mask) {
    MOS_ASSERT(table_[pos] != kNone, "board index lost a slot");
    if (table_[pos] == from) {
      table_[pos] = to;
      return;
    }
  }
}

void Board::index_erase(std::uint64_t hash, std::uint32_t slot) {
  const std::size_t mask = table_.size() - 1;
  std::size_t hole = hash & mask;
  while (table_[hole] != slot) {
    MOS_ASSERT(table_[hole] != kNone, "board index lost a slot");
    hole = (hole + 1) & mask;
  }
  // Backward-shift deletion: move later members of the probe run into the
  // hole when their home position allows it, so lookups never need
  // tombstones.
  for (std::size_t next = (hole + 1) & mask; table_[next] != kNone; next = (next + 1) & mask) {
    const std::size_t home = slots_[table_[next]].hash & mask;
    // Can the entry at `next` move to `hole`? Only if its home is not in the
    // cyclic range (hole, next].
    const bool home_in_range =
        hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!home_in_range) {
      table_[hole] = table_[next];
      hole = next;
    }
  }
  table_[hole] = kNone;
}

std::uint32_t Board::insert(RecordPtr record, std::uint64_t hash, std::int64_t birth) {
  if ((slots_.size() + 1) * 2 > table_.size()) {
    index_grow();
  }
  const auto s = static_cast<std::uint32_t>(slots_.size());
  const std::uint64_t tie = tie_key(hash, record->sequence());
  slots_.push_back(Slot{std::move(record), birth, hash, tie});
  index_insert(hash, s);
  min_birth_ = std::min(min_birth_, birth);
  return s;
}

void Board::erase(std::uint32_t s) {
  index_erase(slots_[s].hash, s);
  const auto last = static_cast<std::uint32_t>(slots_.size() - 1);
  if (s != last) {
    index_retarget(slots_[last].hash, last, s);
    slots_[s] = std::move(slots_[last]);
    if (self_slot_ == last) {
      self_slot_ = s;
    }
  }
  slots_.pop_back();
}

// ---- ageing ---------------------------------------------------------------

void Board::age(Duration dt) {
  if (dt.count() <= 0) {
    return;
  }
  now_ += dt.count();
  if (now_ - min_birth_ > options_.forget_after.count()) {
    sweep();
  }
}

void Board::sweep() {
  const std::int64_t limit = options_.forget_after.count();
  std::int64_t oldest = now_;
  for (std::uint32_t s = 0; s < slots_.size();) {
    if (s != self_slot_ && now_ - slots_[s].birth > limit) {
      erase(s);  // moves the last slot into s: look at s again
      continue;
    }
    if (s != self_slot_) {
      oldest = std::min(oldest, slots_[s].birth);
    }
    ++s;
  }
  min_birth_ = oldest;
}

void Board::refresh_self(RecordPtr record) {
  MOS_ASSERT(record != nullptr && record->node() == self_, "refresh_self with another node");
  if (self_slot_ == kNone) {
    self_slot_ = insert(std::move(record), hash_name(self_), now_);
    return;
  }
  Slot& slot = slots_[self_slot_];
  slot.tie = tie_key(slot.hash, record->sequence());
  slot.record = std::move(record);
  slot.birth = now_;
}

// ---- merge ----------------------------------------------------------------

MergeStats Board::merge(std::span<const WindowEntry> entries) {
  MergeStats stats;
  for (const WindowEntry& e : entries) {
    if (e.record == nullptr || e.record->node().empty() || e.age.count() < 0) {
      ++stats.rejected;
      continue;
    }
    const std::string& node = e.record->node();
    if (node == self_ || e.age > options_.forget_after) {
      ++stats.ignored;
      continue;
    }
    const std::int64_t birth = now_ - e.age.count();
    const std::uint64_t hash = hash_name(node);
    const std::uint32_t s = lookup(node, hash);
    if (s == kNone) {
      insert(e.record, hash, birth);
      ++stats.inserted;
      continue;
    }
    Slot& slot = slots_[s];
    const bool younger = birth > slot.birth;
    const bool fresher_tie = birth == slot.birth && e.record->sequence() > slot.record->sequence();
    if (!younger && !fresher_tie) {
      ++stats.kept;
      continue;
    }
    slot.tie = tie_key(hash, e.record->sequence());
    slot.record = e.record;
    slot.birth = birth;
    ++stats.replaced;
  }
  return stats;
}

// ---- queries --------------------------------------------------------------

std::vector<WindowEntry> Board::select_window(std::size_t w) const {
  std::vector<WindowEntry> out;
  if (w == 0) {
    return out;
  }
  out.reserve(std::min(w, slots_.size()));
  if (self_slot_ != kNone) {
    const Slot& self = slots_[self_slot_];
    out.push_back(WindowEntry{self.record, Duration(now_ - self.birth)});
  }
  const std::size_t want = w - out.size();
  if (want == 0) {
    return out;
  }
  // One pass keeping the `want` youngest in a heap whose top is the oldest
  // of them: most entries are older than that and cost one comparison.
  const auto younger = [](const Candidate& a, const Candidate& b) {
    return a.birth != b.birth ? a.birth > b.birth : a.tie < b.tie;
  };
  scratch_.clear();
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (s == self_slot_) {
      continue;
    }
    const Candidate c{slots_[s].birth, slots_[s].tie, s};
    if (scratch_.size() < want) {
      scratch_.push_back(c);
      std::push_heap(scratch_.begin(), scratch_.end(), younger);
    } else if (younger(c, scratch_.front())) {
      std::pop_heap(scratch_.begin(), scratch_.end(), younger);
      scratch_.back() = c;
      std::push_heap(scratch_.begin(), scratch_.end(), younger);
    }
  }
  std::sort_heap(scratch_.begin(), scratch_.end(), younger);
  for (const Candidate& c : scratch_) {
    const Slot& slot = slots_[c.slot];
    out.push_back(WindowEntry{slot.record, Duration(now_ - slot.birth)});
  }
  return out;
}

NodeView Board::at(std::size_t i) const {
  const Slot& slot = slots_[i];
  return NodeView{slot.record, Duration(now_ - slot.birth), is_down(slot.birth)};
}

std::optional<NodeView> Board::find(std::string_view node) const {
  const std::uint32_t s = lookup(node, hash_name(node));
  if (s == kNone) {
    return std::nullopt;
  }
  return at(s);
}

std::vector<NodeView> Board::snapshot() const {
  std::vector<NodeView> out;
  out.reserve(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    out.push_back(at(i));
  }
  std::sort(out.begin(), out.end(),
            [](const NodeView& a, const NodeView& b) { return a.node() < b.node(); });
  return out;
}

std::size_t Board::live_count() const {
  std::size_t n = 0;
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (s != self_slot_ && !is_down(slots_[s].birth)) {
      ++n;
    }
  }
  return n;
}

}  // namespace mos::gossip
