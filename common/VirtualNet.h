#pragma once
// Virtual networks on one machine: a Linux bridge, named network namespaces
// (iproute2's /run/netns/NAME) and veth pairs joining each namespace to the
// bridge. Links are made with the `ip` command, so what exists can be
// inspected and repaired with the same tool.
//
// Nothing here gives the host an address: the bridge and the host-side veth
// ends carry no IPv4 address and have IPv6 disabled.

#include <netinet/in.h>

#include <chrono>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::common {

// Runs `ip ARGS...`; its output becomes the error message on failure.
std::expected<void, std::string> run_ip(std::vector<std::string> args);

// A bridge without STP or forwarding delay, so ports forward at once.
std::expected<void, std::string> create_bridge(std::string_view name);
std::expected<void, std::string> create_named_netns(std::string_view name);
std::expected<void, std::string> delete_named_netns(std::string_view name);

// One veth pair: `host_end` stays here as a port of `bridge`; the other end
// moves into named namespace `netns`, is called `inner_name` and gets
// `cidr` (e.g. "10.77.0.1/24"); lo in `netns` comes up too.
std::expected<void, std::string> add_bridge_port_netns(std::string_view bridge,
                                                       std::string_view host_end,
                                                       std::string_view netns,
                                                       std::string_view inner_name,
                                                       std::string_view cidr);

// Links in our network namespace named `exact` or starting with `prefix`.
std::vector<std::string> list_links(std::string_view exact, std::string_view prefix);
// A link that is already gone (e.g. a veth whose peer's namespace died) is
// not an error.
std::expected<void, std::string> delete_link(std::string_view name);

// Checks that UDP gets from one network namespace to some addresses in
// others: a datagram to each target, resent every 100 ms, until every target
// has received one or `bound` passes. The error names the targets that got
// nothing.
struct UdpProbeTarget {
  std::string label;  // for the message, e.g. a node name
  const UniqueFd* netns = nullptr;
  in_addr address{};
};
std::expected<void, std::string> probe_udp(const UniqueFd& from_netns,
                                           const std::vector<UdpProbeTarget>& targets,
                                           std::chrono::milliseconds bound);

}  // namespace mos::common
