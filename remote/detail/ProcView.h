#pragma once
// The program's own /proc files. Most of /proc/self is the program's
// identity and lives at home (status's Name/Pid/PPid, fd/, cwd, limits...),
// where the deputy's /proc answers for it. A few files describe the body
// (its image, arguments, environment and memory), which the deputy's /proc
// would describe as mosrun's: those are answered from the body's /proc.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mos::remote::detail {

// For "/proc/self/E", "/proc/thread-self/E" and "/proc/<program_pid>/E"
// (also with "task/<tid>/"), the entry E when it describes the body:
// cmdline, environ, auxv, maps, smaps, smaps_rollup, numa_maps, statm, exe.
std::optional<std::string> body_proc_entry(const std::string& path, pid_t program_pid);

// The numeric fields of /proc/PID/stat, indexed as proc(5) numbers them
// (1-based; 53 entries, zeros where absent or not a number, all zeros if
// the process is gone). Field 3, the state, is its letter ('R', 'S', ...).
std::vector<std::uint64_t> proc_stat_fields(pid_t pid);

// /proc/PID/statm's first two fields in bytes: the mapped size and the
// resident set (nothing if the process is gone).
struct MemorySize {
  std::uint64_t vm_bytes = 0, rss_bytes = 0;
};
std::optional<MemorySize> proc_memory(pid_t pid);

}  // namespace mos::remote::detail
