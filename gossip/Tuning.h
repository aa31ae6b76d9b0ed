#pragma once
// Protocol constants of the gossip bulletin board. The analysis behind the
// defaults is in docs/gossip.md.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mos::gossip {

using namespace std::chrono_literals;

// One gossip message per node per period. MOSIX's infod used 0.5-1 s: the
// information load on the network is N messages per period, independent of
// which node needs the information.
inline constexpr std::chrono::nanoseconds kDefaultPeriod = 1s;

// Entries per window (own record included). MOSIX sent about 20. The mean age
// of a board grows like N / window periods (docs/gossip.md), so large
// clusters need a larger window or a longer down bound.
inline constexpr std::size_t kDefaultWindow = 20;

// A node is presumed down when its entry is older than this. Must exceed the
// age a live node's entry reaches by chance: AgeModel::quantile gives the
// bound for a cluster size and window; this default suits up to ~100 nodes
// with a window of 20 and a 1 s period (a live node's entry exceeds it with
// probability < 1e-9 per entry and period; at 1,000 nodes it would take
// ~1,000 s, at 10,000 nodes ~10,000 s).
inline constexpr std::chrono::nanoseconds kDefaultDownAfter = 120s;

// A down entry is deleted when it is this much older than the down bound, so
// a flapping node is not forgotten and re-learned every few seconds.
inline constexpr std::chrono::nanoseconds kDefaultForgetAfter = 600s;

// Input limits for a received window (anything beyond is malformed, not
// truncated): a window longer than this is not one we or a peer would send,
// and a name longer than a DNS name is garbage.
inline constexpr std::size_t kMaxWindowEntries = 4096;
inline constexpr std::size_t kMaxNodeNameLength = 255;
// Ages above a day mean a corrupted or hostile message: our own down and
// forget bounds are minutes.
inline constexpr std::uint64_t kMaxAgeMs = 24ull * 3600 * 1000;

// Picking a random live peer draws from known entries and seeds together and
// rejects the ones that do not qualify; after this many rejections the
// engine falls back to listing the candidates (only when almost all known
// nodes are down).
inline constexpr int kPeerDrawAttempts = 32;

}  // namespace mos::gossip
