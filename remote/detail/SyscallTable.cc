#include "remote/SyscallTable.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace mos::remote {
namespace {

#include "SyscallFilter.inc"  // kTrappedSyscalls, kLocalSyscalls, kLocalFastPaths
#include "SyscallTable.inc"   // kSyscalls, kIndexByNr, kIndexByName, kUnassigned

static_assert(std::size(kIndexByNr) == kMaxSyscallNr + 1);
static_assert(std::size(kIndexByName) == std::size(kSyscalls));

// The generator checks the table; these keep the compiled copy honest too.
consteval bool numbers_match_index() {
  for (std::size_t i = 0; i < std::size(kSyscalls); ++i) {
    if (kIndexByNr[kSyscalls[i].nr] != static_cast<std::int16_t>(i)) {
      return false;
    }
  }
  return true;
}
static_assert(numbers_match_index());

consteval bool names_sorted() {
  for (std::size_t i = 1; i < std::size(kIndexByName); ++i) {
    if (!(kSyscalls[kIndexByName[i - 1]].name < kSyscalls[kIndexByName[i]].name)) {
      return false;
    }
  }
  return true;
}
static_assert(names_sorted());

}  // namespace

const SyscallEntry* find_syscall(long nr) {
  if (nr < 0 || nr > kMaxSyscallNr) {
    return nullptr;
  }
  const int index = kIndexByNr[nr];
  return index < 0 ? nullptr : &kSyscalls[index];
}

const SyscallEntry* find_syscall(std::string_view name) {
  const auto* it = std::lower_bound(
      std::begin(kIndexByName), std::end(kIndexByName), name,
      [](std::int16_t index, std::string_view n) { return kSyscalls[index].name < n; });
  if (it == std::end(kIndexByName) || kSyscalls[*it].name != name) {
    return nullptr;
  }
  return &kSyscalls[*it];
}

std::span<const SyscallEntry> all_syscalls() {
  return kSyscalls;
}

long max_syscall_nr() {
  return kMaxSyscallNr;
}

std::span<const NrRange> unassigned_syscall_ranges() {
  return kUnassigned;
}

std::vector<int> trapped_syscalls() {
  return {std::begin(kTrappedSyscalls), std::end(kTrappedSyscalls)};
}

std::span<const int> local_syscalls() {
  return kLocalSyscalls;
}

std::span<const LocalFastPath> local_fast_paths() {
  return kLocalFastPaths;
}

std::string_view to_string(Disposition d) {
  switch (d) {
    case Disposition::kLocal:
      return "local";
    case Disposition::kForward:
      return "forward";
    case Disposition::kSpecial:
      return "special";
    case Disposition::kRefuse:
      return "refuse";
  }
  return "?";
}

std::string_view to_string(Support s) {
  switch (s) {
    case Support::kFull:
      return "full";
    case Support::kPartial:
      return "partial";
    case Support::kNone:
      return "none";
  }
  return "?";
}

std::string_view to_string(Marshaller m) {
  const auto i = static_cast<std::size_t>(m);
  return i < std::size(kMarshallerNames) ? kMarshallerNames[i] : "?";
}

}  // namespace mos::remote
