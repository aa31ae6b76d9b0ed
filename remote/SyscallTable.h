#pragma once
// The x86_64 system call table: what the sandbox does with each syscall the
// body makes. The rows are data in remote/syscalls.py; remote/gen_syscalls.py
// validates them and generates the arrays behind this interface (and
// docs/syscalls.md), so dispatch, the seccomp filter and the docs can never
// disagree. Nothing here does I/O: it is a read-only table, safe to use from
// any thread, and nothing changes when a peer or a body dies.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mos::remote {

// Where a syscall is executed (DESIGN.md, "System calls").
enum class Disposition : std::uint8_t {
  kLocal,    // natively in the body: own memory, registers, CPU, signal state
  kForward,  // by the deputy on the home node, arguments marshalled
  kSpecial,  // by the supervisor, with the deputy's help
  kRefuse,   // answered with refuse_errno, executed nowhere
};

enum class Support : std::uint8_t {
  kFull,     // behaves as it would natively
  kPartial,  // works within the limits the note gives
  kNone,     // refused
};

// What an argument is. Scalars pass by value; the rest are pointers into the
// body that the runtime copies in and/or out as `len` and `wb` say.
enum class ArgKind : std::uint8_t {
  kNone,  // the slot is unused
  kInt,
  kUInt,
  kLong,
  kULong,
  kFd,     // one of the deputy's fds (the numbers the program sees)
  kDirFd,  // an fd or AT_FDCWD
  kPid,    // a home PID (0 and negative values keep their meaning)
  kSignal,
  kFlags,
  kMode,
  kUid,
  kGid,
  kAddr,     // a body address passed by value and never dereferenced
  kIn,       // buffer read from the body before the call
  kOut,      // buffer written back to the body after the call
  kInOut,    // both
  kString,   // NUL-terminated, read from the body
  kIovIn,    // struct iovec array; each element's buffer read
  kIovOut,   // struct iovec array; buffers filled in order up to the return value
  kComplex,  // layout depends on other arguments: see `marshaller`
};

// Where a pointer argument's length comes from.
enum class LenFrom : std::uint8_t {
  kNone,
  kFixed,   // base
  kArg,     // base + elem * value of argument `arg`
  kDeref,   // base + elem * u32 read from argument `arg` (value-result length)
  kHeader,  // base + elem * u32 at byte offset `arg` of the buffer itself
  kFdSet,   // ceil(nfds / 64) * 8 with nfds in argument `arg`
  kNul,     // up to and including the first NUL
};

// How much of an output buffer goes back to the body.
enum class WbFrom : std::uint8_t {
  kNone,
  kAll,    // the whole length
  kRet,    // base + elem * return value
  kDeref,  // the u32 at argument `arg` after the call, at most the length
};

enum class CondOp : std::uint8_t { kEq, kNe, kMaskedEq };

#include "SyscallMarshaller.inc"  // enum class Marshaller, kMarshallerNames

struct ArgLen {
  LenFrom from = LenFrom::kNone;
  std::uint8_t arg = 0;
  std::uint32_t base = 0;
  std::uint32_t elem = 0;
  std::uint64_t max = 0;  // largest length marshalled
  int over_errno = 0;     // answer to a longer request; 0: clamp it to max
};

struct ArgWriteback {
  WbFrom from = WbFrom::kNone;
  std::uint8_t arg = 0;
  std::uint32_t base = 0;
  std::uint32_t elem = 0;
  bool on_error = false;  // written back even when the call fails
};

struct ArgSpec {
  std::string_view name;
  std::string_view ctype;
  ArgKind kind = ArgKind::kNone;
  ArgLen len = {};
  ArgWriteback wb = {};
  Marshaller marshaller = Marshaller::kNone;
};

// A seccomp argument test: (args[arg] & mask) `op` value.
struct FilterCond {
  bool present = false;
  std::uint8_t arg = 0;
  CondOp op = CondOp::kEq;
  std::uint64_t mask = 0;
  std::uint64_t value = 0;
};

struct SyscallEntry {
  int nr = -1;
  std::string_view name;
  Disposition disposition = Disposition::kRefuse;
  Support support = Support::kNone;
  bool blocks = false;      // may wait unboundedly: must stay interruptible
  bool may_pin = false;     // some variants keep the process at home
  int refuse_errno = 0;     // for kRefuse
  bool args_known = false;  // always true for kForward
  std::uint8_t nargs = 0;
  ArgSpec args[6] = {};
  FilterCond local_if = {};  // kSpecial: run natively when this holds
  std::string_view note;

  std::span<const ArgSpec> arg_specs() const { return {args, nargs}; }
};

// A trapped syscall the filter may still let run natively when `cond` holds.
struct LocalFastPath {
  int nr = -1;
  FilterCond cond = {};
};

struct NrRange {
  long first = 0;
  long last = 0;  // inclusive
};

// nullptr for numbers Linux never assigned, above the table, negative, or
// from the x32 ABI: the runtime's single fallback answers those with ENOSYS
// and counts them.
const SyscallEntry* find_syscall(long nr);
// By kernel name ("read", "newfstatat", "_sysctl"); nullptr if unknown.
const SyscallEntry* find_syscall(std::string_view name);
// Every entry, in number order.
std::span<const SyscallEntry> all_syscalls();
long max_syscall_nr();
// Numbers below max_syscall_nr() that are not syscalls (337..423 on x86_64).
std::span<const NrRange> unassigned_syscall_ranges();

// For the seccomp filter builder. The filter's default action must be
// USER_NOTIF, so numbers outside the table trap as well; these lists say
// which known numbers trap (every disposition but local), which are allowed,
// and which trapped ones may be allowed under an argument test.
std::vector<int> trapped_syscalls();
std::span<const int> local_syscalls();
std::span<const LocalFastPath> local_fast_paths();

std::string_view to_string(Disposition d);
std::string_view to_string(Support s);
std::string_view to_string(Marshaller m);

}  // namespace mos::remote
