#pragma once
// The in-process form of a gossip window and its conversion to and from the
// wire (gossip.proto). Boards and engines exchange this form so a simulator
// can pass windows between 10,000 engines without serialising them; records
// are immutable and shared, never copied per hop.

#include "gossip/gossip.pb.h"

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

namespace mos::gossip {

using Duration = std::chrono::nanoseconds;
using RecordPtr = std::shared_ptr<const LoadRecord>;

// A record (its node name and sequence number are inside it) and its age as
// seen by whoever holds the entry.
struct WindowEntry {
  RecordPtr record;
  Duration age{0};
};

struct Window {
  std::string sender;
  std::string cluster;
  std::uint64_t sequence = 0;
  std::vector<WindowEntry> entries;
};

// Ages are rounded to the nearest millisecond (rounding down would make every
// hop look younger than it is, and the bias would add up along a path).
GossipWindow to_proto(const Window& window);

// Validates a received window: a sender name, at most kMaxWindowEntries
// entries, each with a record whose node name is non-empty and at most
// kMaxNodeNameLength bytes, and an age of at most kMaxAgeMs. A window that
// fails any check is refused whole with a one-line reason; nothing a peer
// sends can make this assert.
std::expected<Window, std::string> from_proto(const GossipWindow& message);

}  // namespace mos::gossip
