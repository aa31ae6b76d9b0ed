#include "gossip/Window.h"

#include "gossip/Tuning.h"

#include <fmt/format.h>

namespace mos::gossip {

GossipWindow to_proto(const Window& window) {
  GossipWindow out;
  out.set_sender(window.sender);
  out.set_cluster(window.cluster);
  out.set_sequence(window.sequence);
  out.mutable_entries()->Reserve(static_cast<int>(window.entries.size()));
  for (const WindowEntry& e : window.entries) {
    Entry* entry = out.add_entries();
    *entry->mutable_record() = *e.record;
    const auto ms = std::chrono::round<std::chrono::milliseconds>(e.age).count();
    entry->set_age_ms(ms > 0 ? static_cast<std::uint64_t>(ms) : 0);
  }
  return out;
}

std::expected<Window, std::string> from_proto(const GossipWindow& message) {
  if (message.sender().empty()) {
    return std::unexpected(std::string("gossip window without a sender"));
  }
  if (message.sender().size() > kMaxNodeNameLength) {
    return std::unexpected(std::string("gossip window sender name too long"));
  }
  if (static_cast<std::size_t>(message.entries_size()) > kMaxWindowEntries) {
    return std::unexpected(fmt::format("gossip window from {} has {} entries, limit {}",
                                       message.sender(), message.entries_size(),
                                       kMaxWindowEntries));
  }
  Window out;
  out.sender = message.sender();
  out.cluster = message.cluster();
  out.sequence = message.sequence();
  out.entries.reserve(static_cast<std::size_t>(message.entries_size()));
  for (int i = 0; i < message.entries_size(); ++i) {
    const Entry& e = message.entries(i);
    if (!e.has_record() || e.record().node().empty()) {
      return std::unexpected(
          fmt::format("gossip window from {}: entry {} has no node name", message.sender(), i));
    }
    if (e.record().node().size() > kMaxNodeNameLength) {
      return std::unexpected(
          fmt::format("gossip window from {}: entry {} node name too long", message.sender(), i));
    }
    if (e.age_ms() > kMaxAgeMs) {
      return std::unexpected(fmt::format("gossip window from {}: entry {} ({}) age {} ms",
                                         message.sender(), i, e.record().node(), e.age_ms()));
    }
    out.entries.push_back(WindowEntry{std::make_shared<const LoadRecord>(e.record()),
                                      std::chrono::milliseconds(e.age_ms())});
  }
  return out;
}

}  // namespace mos::gossip
