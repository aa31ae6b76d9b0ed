#include "common/VirtualNet.h"

#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/Files.h"
#include "common/Namespaces.h"
#include "common/Process.h"

namespace mos::common {
namespace {

// Without this the kernel gives every link an IPv6 link-local address as
// soon as it is up: the host would be on the cluster network.
void disable_ipv6(std::string_view link) {
  auto file = fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", link);
  if (::access(file.c_str(), F_OK) == 0) {
    (void)write_special_file(file, "1");
  }
}

}  // namespace

std::expected<void, std::string> run_ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  if (auto r = run_checked(args); !r) {
    return std::unexpected(r.error());
  }
  return {};
}

std::expected<void, std::string> create_bridge(std::string_view name) {
  std::string n(name);
  if (auto r = run_ip({"link", "add", n, "type", "bridge", "stp_state", "0", "forward_delay", "0"});
      !r) {
    return r;
  }
  disable_ipv6(name);
  return run_ip({"link", "set", n, "up"});
}

std::expected<void, std::string> create_named_netns(std::string_view name) {
  return run_ip({"netns", "add", std::string(name)});
}

std::expected<void, std::string> delete_named_netns(std::string_view name) {
  return run_ip({"netns", "delete", std::string(name)});
}

std::expected<void, std::string> add_bridge_port_netns(std::string_view bridge,
                                                       std::string_view host_end,
                                                       std::string_view netns,
                                                       std::string_view inner_name,
                                                       std::string_view cidr) {
  std::string h(host_end);
  std::string ns(netns);
  std::string in(inner_name);
  if (auto r = run_ip({"link", "add", h, "type", "veth", "peer", "name", in, "netns", ns}); !r) {
    return r;
  }
  disable_ipv6(host_end);
  for (auto step : std::vector<std::vector<std::string>>{
           {"link", "set", h, "master", std::string(bridge)},
           {"link", "set", h, "up"},
           {"-n", ns, "link", "set", "lo", "up"},
           {"-n", ns, "addr", "add", std::string(cidr), "dev", in},
           {"-n", ns, "link", "set", in, "up"}}) {
    if (auto r = run_ip(std::move(step)); !r) {
      return r;
    }
  }
  return {};
}

std::vector<std::string> list_links(std::string_view exact, std::string_view prefix) {
  std::vector<std::string> out;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (auto* p = list; p->if_index != 0; ++p) {
      std::string_view name = p->if_name;
      if (name == exact || (!prefix.empty() && name.starts_with(prefix))) {
        out.emplace_back(name);
      }
    }
    ::if_freenameindex(list);
  }
  return out;
}

std::expected<void, std::string> delete_link(std::string_view name) {
  std::string n(name);
  auto r = run_ip({"link", "delete", n});
  if (!r && ::if_nametoindex(n.c_str()) != 0) {
    return r;
  }
  return {};
}

std::expected<void, std::string> probe_udp(const UniqueFd& from_netns,
                                           const std::vector<UdpProbeTarget>& targets,
                                           std::chrono::milliseconds bound) {
  auto tx = socket_in_netns(from_netns, AF_INET, SOCK_DGRAM);
  if (!tx) {
    return std::unexpected(tx.error());
  }
  struct Rx {
    const UdpProbeTarget* target;
    UniqueFd fd;
    sockaddr_in addr{};
    bool got = false;
  };
  std::vector<Rx> rx;
  for (const auto& t : targets) {
    auto fd = socket_in_netns(*t.netns, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    if (!fd) {
      return std::unexpected(fd.error());
    }
    Rx r{&t, std::move(*fd)};
    r.addr.sin_family = AF_INET;
    r.addr.sin_addr = t.address;
    socklen_t len = sizeof r.addr;
    if (::bind(r.fd.get(), reinterpret_cast<sockaddr*>(&r.addr), sizeof r.addr) != 0 ||
        ::getsockname(r.fd.get(), reinterpret_cast<sockaddr*>(&r.addr), &len) != 0) {
      return std::unexpected(errno_message(fmt::format("probe socket on {}", t.label), errno));
    }
    rx.push_back(std::move(r));
  }
  static constexpr char kPayload[] = "mos-udp-probe";
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> pfds;
    for (auto& r : rx) {
      if (!r.got) {
        ::sendto(tx->get(), kPayload, sizeof kPayload, 0, reinterpret_cast<sockaddr*>(&r.addr),
                 sizeof r.addr);
      }
      pfds.push_back({r.fd.get(), POLLIN, 0});
    }
    ::poll(pfds.data(), pfds.size(), 100);
    for (auto& r : rx) {
      char buf[64];
      ssize_t n;
      while ((n = ::recv(r.fd.get(), buf, sizeof buf, 0)) > 0) {
        r.got = r.got || (n == sizeof kPayload && std::memcmp(buf, kPayload, sizeof kPayload) == 0);
      }
    }
    if (std::all_of(rx.begin(), rx.end(), [](const Rx& r) { return r.got; })) {
      return {};
    }
  }
  std::string lost;
  for (auto& r : rx) {
    if (!r.got) {
      lost += fmt::format("{}{}", lost.empty() ? "" : ", ", r.target->label);
    }
  }
  return std::unexpected(fmt::format("UDP did not reach {} within {} ms", lost, bound.count()));
}

}  // namespace mos::common
