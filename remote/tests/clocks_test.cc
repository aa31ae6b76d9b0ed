// The offsets a restored body's time namespace gets (remote/detail/Clocks.h).

#include <doctest/doctest.h>

#include "remote/detail/Clocks.h"

using namespace mos;
using namespace mos::remote::detail;
using mos::remote::TimeOffsets;

namespace {
wire::MigrateClock source(const char* boot, std::uint64_t mono, std::uint64_t boottime,
                          std::int64_t mono_off, std::int64_t boot_off) {
  wire::MigrateClock c;
  c.set_boot_id(boot);
  c.set_host_monotonic_ns(mono);
  c.set_host_boottime_ns(boottime);
  c.set_monotonic_offset_ns(mono_off);
  c.set_boottime_offset_ns(boot_off);
  return c;
}
}  // namespace

TEST_CASE("on the same kernel a body keeps its offsets whatever the clocks read") {
  const auto c = source("b1", 5'000'000'000, 6'000'000'000, 1'000'000'000'000, -3);
  const TimeOffsets o = continuing_offsets(c, {
                                                  "b1",
                                                  9'000'000'000,
                                                  1,
                                              });
  CHECK(o.monotonic_ns == 1'000'000'000'000);
  CHECK(o.boottime_ns == -3);
}

TEST_CASE("on another kernel the offsets absorb the difference of the kernels' clocks") {
  // Source kernel up 100 s, the body's clock 40 s ahead of it (140 s); the
  // target kernel up 7 s when the clock message arrives.
  const auto c = source("b1", 100'000'000'000, 130'000'000'000, 40'000'000'000, 0);
  const KernelClocks here{"b2", 7'000'000'000, 9'000'000'000};
  const TimeOffsets o = continuing_offsets(c, here);
  CHECK(static_cast<std::int64_t>(here.monotonic_ns) + o.monotonic_ns == 140'000'000'000);
  CHECK(static_cast<std::int64_t>(here.boottime_ns) + o.boottime_ns == 130'000'000'000);
  // A target kernel up longer than the source: negative offsets.
  const TimeOffsets back =
      continuing_offsets(source("b1", 5, 5, 0, 0), {"b3", 1'000'005, 2'000'005});
  CHECK(back.monotonic_ns == -1'000'000);
  CHECK(back.boottime_ns == -2'000'000);
}

TEST_CASE("an unknown boot id is never taken for the same kernel") {
  const auto c = source("", 10, 10, 0, 0);
  const TimeOffsets o = continuing_offsets(c, {"", 4, 3});
  CHECK(o.monotonic_ns == 6);
  CHECK(o.boottime_ns == 7);
}

TEST_CASE("this process's own offsets and clocks can be read") {
  auto mine = read_time_offsets(0);
  REQUIRE(mine);
  auto k = kernel_clocks();
  REQUIRE(k);
  CHECK(k->monotonic_ns > 0);
  CHECK(k->boottime_ns >= k->monotonic_ns);
  CHECK(k->boot_id.size() == 36);
  auto c = clock_of(0);
  REQUIRE(c);
  CHECK(c->boot_id() == k->boot_id);
}
