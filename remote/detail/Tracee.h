#pragma once
// A body held still with ptrace, for migration: freeze (seize, interrupt),
// registers and extended state, memory through /proc/PID/mem, and syscalls
// injected into it (the way a debugger calls a function in its debuggee).
//
// Injection: the tracee's registers are saved, `ip` is pointed at a
// `syscall` instruction (two bytes, 0f 05, in the tracee's own vDSO: decoded
// from that address they are a syscall whatever precedes them), the call's
// number and arguments go into the registers, one PTRACE_SINGLESTEP runs
// exactly that instruction, and the result is read from `ax`. The caller
// restores the registers when done (or sets the final ones).
//
// The tracee is under our seccomp filter: an injected call the filter does
// not let through waits for the supervisor, so every wait here calls a
// `Pump` that must answer this tracee's notifications (with CONTINUE for an
// injected call) and keep the others for later.

#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::remote::detail {

// The areas the kernel maps for a process itself, which a restore moves
// rather than copies: [vdso], [vvar], [vvar_vclock].
inline bool kernel_area(std::string_view name) {
  return name == "[vdso]" || name == "[vvar]" || name == "[vvar_vclock]";
}

// One area of /proc/PID/maps.
struct MapArea {
  std::uint64_t start = 0, end = 0;
  int prot = 0;         // PROT_* bits
  bool shared = false;  // 's' rather than 'p'
  std::uint64_t offset = 0;
  std::uint64_t inode = 0;
  std::string name;  // path, "[heap]", "[stack]", "[vdso]", ... or ""
  bool special() const { return kernel_area(name) || name == "[vsyscall]"; }
};
std::expected<std::vector<MapArea>, std::string> read_maps(pid_t pid);

// PAGEMAP_SCAN (Linux 6.7) on an open /proc/PID/pagemap: the runs of pages
// of [start, end) whose categories have every bit of `all_of` and, if
// `any_of` is set, one of its bits; each run with its categories (masked
// by `report`). `flags` may ask the kernel to write-protect what matches
// again (kScanWpMatching), for the uffd-wp dirty tracking of pre-copy.
namespace page {
inline constexpr std::uint64_t kWpAllowed = 1 << 0;  // in an area registered for async uffd-wp
inline constexpr std::uint64_t kWritten = 1 << 1;    // written since write-protected
inline constexpr std::uint64_t kFile = 1 << 2;
inline constexpr std::uint64_t kPresent = 1 << 3;
inline constexpr std::uint64_t kSwapped = 1 << 4;
inline constexpr std::uint64_t kPfnZero = 1 << 5;  // the shared zero page
inline constexpr std::uint64_t kScanWpMatching = 1 << 0;
}  // namespace page
struct PageRun {
  std::uint64_t start, end, categories;
};
struct PageScan {
  std::uint64_t flags = 0, all_of = 0, any_of = 0, report = 0;
};
std::expected<std::vector<PageRun>, std::string> scan_pages(int pagemap_fd, std::uint64_t start,
                                                            std::uint64_t end, const PageScan& how);

class Tracee {
 public:
  // Waits for a ptrace stop; called with the time it may block (ms).
  using Pump = std::function<void(int timeout_ms)>;

  // PTRACE_SEIZE (the tracee dies if we do: PTRACE_O_EXITKILL).
  static std::expected<Tracee, std::string> seize(pid_t pid);
  Tracee(Tracee&&) noexcept;
  Tracee& operator=(Tracee&&) = delete;
  ~Tracee();  // detaches if still attached

  pid_t pid() const { return pid_; }
  // PTRACE_INTERRUPT, then waits up to `limit` for the stop, calling `pump`
  // meanwhile (a tracee in a forwarded call stops only once answered).
  std::expected<void, std::string> interrupt(std::chrono::milliseconds limit, const Pump& pump);
  // Signals the tracee had dequeued when it stopped for us (siginfo_t
  // bytes): the caller queues them again, or moves them with the body.
  const std::vector<std::string>& held() const { return held_; }
  void clear_held() { held_.clear(); }
  // Resumes the tracee where it is and lets it go.
  void detach();
  // Kills the tracee and collects its end (its parent still sees it exit).
  void kill();

  std::expected<user_regs_struct, std::string> regs() const;
  std::expected<void, std::string> set_regs(const user_regs_struct& r) const;
  std::expected<std::string, std::string> xstate() const;  // NT_X86_XSTATE
  std::expected<void, std::string> set_xstate(const std::string& x) const;
  std::expected<std::uint64_t, std::string> blocked() const;
  std::expected<void, std::string> set_blocked(std::uint64_t mask) const;
  struct Rseq {
    std::uint64_t ptr = 0;
    std::uint32_t len = 0, sig = 0;
  };
  // The thread's registered restartable-sequences area (none: ptr 0).
  std::expected<Rseq, std::string> rseq() const;
  // Queued signals (siginfo_t, 128 bytes each): the thread's own, or the
  // process's shared queue.
  std::expected<std::vector<std::string>, std::string> pending(bool shared) const;

  // The tracee's memory (writes reach read-only private pages too).
  bool read(std::uint64_t addr, void* out, std::size_t len) const {
    return transfer(addr, out, len, false);
  }
  bool write(std::uint64_t addr, const void* data, std::size_t len) const {
    return transfer(addr, const_cast<void*>(data), len, true);
  }

  // The ranges of [start, end) that hold pages (present or swapped out,
  // not the shared zero page), by PAGEMAP_SCAN; nothing (not an error) if
  // the kernel cannot tell: the caller then reads the whole range.
  std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> populated(
      std::uint64_t start, std::uint64_t end) const;
  int pagemap_fd() const { return pagemap_.get(); }
  // Where the injected syscalls run: a `syscall` instruction in the vDSO
  // mapped at `vdso_start`. Must be called before syscall().
  std::expected<void, std::string> use_vdso(std::uint64_t vdso_start, std::uint64_t vdso_end);
  // Or at `ip`, a syscall instruction the caller wrote.
  void use_ip(std::uint64_t ip) { syscall_ip_ = ip; }
  // Runs one syscall in the tracee; its result (>= 0, or -errno). The
  // registers afterwards are the injection's: restore them with set_regs.
  std::expected<std::int64_t, std::string> syscall(long nr,
                                                   std::initializer_list<std::uint64_t> args,
                                                   const Pump& pump);

 private:
  explicit Tracee(pid_t pid) : pid_(pid) {}
  void hold_signal();
  bool transfer(std::uint64_t addr, void* buf, std::size_t len, bool to_tracee) const;
  std::expected<int, std::string> wait_stop(std::chrono::milliseconds limit, const Pump& pump);
  pid_t pid_ = -1;
  bool attached_ = false;
  common::UniqueFd mem_;
  common::UniqueFd pagemap_;
  std::uint64_t syscall_ip_ = 0;
  std::uint64_t vdso_offset_ = 0;  // of the syscall instruction in the vDSO
  std::vector<std::string> held_;
};

}  // namespace mos::remote::detail
