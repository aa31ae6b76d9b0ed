#include "remote/detail/Clocks.h"

#include <fmt/format.h>
#include <time.h>

#include <sstream>

#include "common/Files.h"

namespace mos::remote::detail {

namespace {
std::int64_t now_ns(clockid_t c) {
  timespec t{};
  ::clock_gettime(c, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}
}  // namespace

std::expected<TimeOffsets, std::string> read_time_offsets(pid_t pid) {
  const std::string path = pid == 0 ? std::string("/proc/self/timens_offsets")
                                    : fmt::format("/proc/{}/timens_offsets", pid);
  auto text = common::read_text_file(path);
  if (!text) {
    return std::unexpected(fmt::format("cannot read {}", path));
  }
  TimeOffsets o;
  std::istringstream in(*text);
  std::string clock;
  std::int64_t sec = 0, nsec = 0;
  while (in >> clock >> sec >> nsec) {
    const std::int64_t ns = sec * 1000000000 + nsec;
    if (clock == "monotonic") {
      o.monotonic_ns = ns;
    } else if (clock == "boottime") {
      o.boottime_ns = ns;
    }
  }
  return o;
}

std::string kernel_boot_id() {
  auto id = common::read_text_file("/proc/sys/kernel/random/boot_id");
  std::string s = id.value_or("");
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

std::expected<KernelClocks, std::string> kernel_clocks() {
  auto mine = read_time_offsets(0);
  if (!mine) {
    return std::unexpected(mine.error());
  }
  KernelClocks k;
  k.boot_id = kernel_boot_id();
  k.monotonic_ns = static_cast<std::uint64_t>(now_ns(CLOCK_MONOTONIC) - mine->monotonic_ns);
  k.boottime_ns = static_cast<std::uint64_t>(now_ns(CLOCK_BOOTTIME) - mine->boottime_ns);
  return k;
}

std::expected<wire::MigrateClock, std::string> clock_of(pid_t body) {
  auto k = kernel_clocks();
  if (!k) {
    return std::unexpected(k.error());
  }
  auto its = read_time_offsets(body);
  if (!its) {
    return std::unexpected(its.error());
  }
  wire::MigrateClock c;
  c.set_boot_id(k->boot_id);
  c.set_host_monotonic_ns(k->monotonic_ns);
  c.set_host_boottime_ns(k->boottime_ns);
  c.set_monotonic_offset_ns(its->monotonic_ns);
  c.set_boottime_offset_ns(its->boottime_ns);
  return c;
}

TimeOffsets continuing_offsets(const wire::MigrateClock& source, const KernelClocks& here) {
  TimeOffsets o{source.monotonic_offset_ns(), source.boottime_offset_ns()};
  if (!source.boot_id().empty() && source.boot_id() == here.boot_id) {
    return o;  // one kernel, one clock
  }
  o.monotonic_ns += static_cast<std::int64_t>(source.host_monotonic_ns()) -
                    static_cast<std::int64_t>(here.monotonic_ns);
  o.boottime_ns += static_cast<std::int64_t>(source.host_boottime_ns()) -
                   static_cast<std::int64_t>(here.boottime_ns);
  return o;
}

}  // namespace mos::remote::detail
