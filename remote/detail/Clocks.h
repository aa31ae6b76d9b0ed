#pragma once
// A body's clocks across a move (docs/migration.md, "Clocks"). Its
// CLOCK_MONOTONIC and CLOCK_BOOTTIME are its kernel's plus its time
// namespace's offsets; at the target a new time namespace gets offsets
// that make them continue: the same ones on the same kernel (same boot
// id), else the source's plus the difference between the two kernels'
// clocks, as measured when the source's MigrateClock arrives (the body
// loses the message's one-way latency, tens of microseconds, at most: its
// clock never goes back, since it is frozen for longer than that).

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <string>

#include "common/migrate.pb.h"
#include "remote/Sandbox.h"

namespace mos::remote::detail {

// /proc/PID/timens_offsets (0: our own), all zeros where there is none.
std::expected<TimeOffsets, std::string> read_time_offsets(pid_t pid);
std::string kernel_boot_id();

// The source: `body`'s clocks, now.
std::expected<wire::MigrateClock, std::string> clock_of(pid_t body);

// The target: the offsets that continue the source's clocks (pure: the
// kernel's boot id and clocks given).
struct KernelClocks {
  std::string boot_id;
  std::uint64_t monotonic_ns = 0, boottime_ns = 0;  // the kernel's, not a namespace's
};
TimeOffsets continuing_offsets(const wire::MigrateClock& source, const KernelClocks& here);
// This kernel's clocks now (ours minus our own namespace's offsets).
std::expected<KernelClocks, std::string> kernel_clocks();

}  // namespace mos::remote::detail
