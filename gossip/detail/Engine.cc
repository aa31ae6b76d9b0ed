#include "gossip/Engine.h"

#include "common/Assert.h"

#include <utility>

namespace mos::gossip {

Engine::Engine(EngineConfig config, Clock clock, Random random, RecordProvider provider, Send send)
    : config_(std::move(config)),
      clock_(std::move(clock)),
      random_(std::move(random)),
      provider_(std::move(provider)),
      send_(std::move(send)),
      board_(config_.self, BoardOptions{config_.down_after, config_.forget_after}),
      next_sequence_(config_.first_sequence) {
  MOS_ASSERT(clock_ && random_ && provider_ && send_, "engine needs all four callbacks");
  MOS_ASSERT(config_.window >= 1, "window must hold at least our own record");
  last_ = clock_();
}

void Engine::advance() {
  const Duration now = clock_();
  if (now > last_) {
    board_.age(now - last_);
    last_ = now;
  }
}

std::uint64_t Engine::uniform(std::uint64_t n) {
  // Lemire's multiply-shift with rejection: unbiased for any n.
  std::uint64_t x = random_();
  auto m = static_cast<unsigned __int128>(x) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = random_();
      m = static_cast<unsigned __int128>(x) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::optional<std::string> Engine::choose_peer() {
  static const std::vector<std::string> kNoSeeds;
  const std::vector<std::string>& seeds = config_.seeds ? *config_.seeds : kNoSeeds;
  const std::size_t known = board_.size();
  const std::size_t total = known + seeds.size();
  if (total == 0) {
    return std::nullopt;
  }
  // Candidates: known entries that are not down, plus seeds not on the board
  // (a known seed counts once, through its entry). Drawing from the union of
  // both lists and rejecting non-candidates gives each candidate the same
  // chance without building the list, which would be O(N) per tick.
  const auto candidate = [&](std::size_t i) -> const std::string* {
    if (i < known) {
      const NodeView v = board_.at(i);
      return v.node() != config_.self && !v.down ? &v.record->node() : nullptr;
    }
    const std::string& seed = seeds[i - known];
    return seed != config_.self && !board_.contains(seed) ? &seed : nullptr;
  };
  for (int attempt = 0; attempt < kPeerDrawAttempts; ++attempt) {
    if (const std::string* peer = candidate(uniform(total))) {
      return *peer;
    }
  }
  // Almost nothing qualifies (most known nodes are down): list them.
  std::vector<std::size_t> ok;
  for (std::size_t i = 0; i < total; ++i) {
    if (candidate(i) != nullptr) {
      ok.push_back(i);
    }
  }
  if (ok.empty()) {
    return std::nullopt;
  }
  return *candidate(ok[uniform(ok.size())]);
}

void Engine::tick() {
  advance();
  ++stats_.ticks;
  LoadRecord record = provider_();
  record.set_node(config_.self);
  if (record.cluster().empty()) {
    record.set_cluster(config_.cluster);
  }
  record.set_sequence(next_sequence_++);
  record.set_clock_ns(last_.count());
  board_.refresh_self(std::make_shared<const LoadRecord>(std::move(record)));

  const std::optional<std::string> peer = choose_peer();
  if (!peer) {
    ++stats_.lonely_ticks;
    return;
  }
  Window window{config_.self, config_.cluster, window_sequence_++,
                board_.select_window(config_.window)};
  ++stats_.windows_sent;
  send_(*peer, window);
}

void Engine::on_receive(const Window& window, Duration transit) {
  advance();
  if (window.sender == config_.self) {
    ++stats_.windows_ignored;
    return;
  }
  ++stats_.windows_received;
  MergeStats m;
  if (transit.count() > 0) {
    std::vector<WindowEntry> aged = window.entries;
    for (WindowEntry& e : aged) {
      e.age += transit;
    }
    m = board_.merge(aged);
  } else {
    m = board_.merge(window.entries);
  }
  stats_.merged.inserted += m.inserted;
  stats_.merged.replaced += m.replaced;
  stats_.merged.kept += m.kept;
  stats_.merged.ignored += m.ignored;
  stats_.merged.rejected += m.rejected;
}

std::vector<NodeView> Engine::snapshot() {
  advance();
  return board_.snapshot();
}

const Board& Engine::current_board() {
  advance();
  return board_;
}

std::optional<NodeView> Engine::find(std::string_view node) {
  advance();
  return board_.find(node);
}

}  // namespace mos::gossip
