#pragma once
// The supervisor's half of syscall forwarding (DESIGN.md, "System calls"):
// turns a trapped syscall of the body into a wire::SyscallRequest for the
// deputy, following the call's ArgSpecs in the syscall table, and writes the
// deputy's wire::SyscallReply back into the body. home/Executor.h is the other
// half; common/forward.proto is the contract between them.
//
// Rules (remote/syscalls.py states them for the table): NULL pointers pass as
// NULL; an unreadable input buffer or an unmapped output buffer fails the call
// with EFAULT before anything runs, as the kernel would; a length above the
// row's `max` is clamped (and the length argument rewritten, so the deputy's
// kernel never sees the larger value) or answered with the row's errno.
// Transfers whose semantics allow a shorter count are also clamped at
// wire::MAX_BUFFER_BYTES; other buffers above it answer ENOMEM.
//
// Marshallers for kComplex arguments implemented here: ioctl_arg, fcntl_arg,
// msghdr_in, msghdr_out, sockopt_in, pselect_sigmask. Every other one answers
// ENOSYS (see kUnimplemented in detail/Marshal.cc).

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/forward.pb.h"
#include "remote/SyscallTable.h"

namespace mos::remote {

// The memory of a body, addressed by the body's own (virtual) addresses.
// Addresses are plain integers on purpose: they are never dereferenced here.
class BodyMemory {
 public:
  virtual ~BodyMemory() = default;

  // All of out.size() bytes at addr, or an errno: EFAULT when any byte is not
  // mapped readable, ESRCH when the body is gone.
  virtual std::expected<void, int> read(std::uint64_t addr, std::span<std::uint8_t> out) = 0;
  // All of in.size() bytes to addr, or EFAULT / ESRCH. A failure may leave a
  // prefix written (as the kernel's own copy_to_user may).
  virtual std::expected<void, int> write(std::uint64_t addr, std::span<const std::uint8_t> in) = 0;
  // EFAULT unless one byte of every page of [addr, addr + len) is readable:
  // catches a bad output pointer before the call runs.
  virtual std::expected<void, int> probe(std::uint64_t addr, std::uint64_t len);

  // The NUL-terminated string at addr, without its NUL. `max` bounds it with
  // the NUL included: ENAMETOOLONG when the first `max` bytes hold no NUL (the
  // caller maps it to the row's errno); EFAULT when it runs into an unmapped
  // page. Never reads a page past the NUL.
  std::expected<std::string, int> read_string(std::uint64_t addr, std::size_t max);
};

// Another process's memory (or this one's: pid == getpid()), through
// process_vm_readv/process_vm_writev, which fail on bad addresses exactly
// where the kernel's own copies would (a read-only page cannot be written).
// Needs ptrace-level access to `pid` (the supervisor is the body's tracer).
class ProcessMemory final : public BodyMemory {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}

  std::expected<void, int> read(std::uint64_t addr, std::span<std::uint8_t> out) override;
  std::expected<void, int> write(std::uint64_t addr, std::span<const std::uint8_t> in) override;
  std::expected<void, int> probe(std::uint64_t addr, std::uint64_t len) override;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

// The request for the trapped call `entry` with the raw argument registers
// `args`, or the errno to answer the body with without forwarding (EFAULT,
// EINVAL, ENAMETOOLONG, E2BIG, EMSGSIZE, ENOMEM, EOPNOTSUPP, ENOTTY for an
// ioctl no marshaller knows, ENOSYS for a marshaller not written yet or a row
// without argument descriptions). Reads the body's memory; the body must be
// stopped in the call. If the body dies meanwhile the reads fail (ESRCH or
// EFAULT) and the answer is moot.
std::expected<wire::SyscallRequest, int> marshal_request(const SyscallEntry& entry,
                                                         const std::uint64_t args[6],
                                                         BodyMemory& mem, std::uint64_t id);

// Writes the reply's outputs into the body and returns the value to answer
// the call with (the raw kernel convention: negative errno on failure). The
// layout is derived again from `args` and the body's memory, exactly as
// marshal_request derived it, and each output is checked against it: EIO for
// a reply that does not fit (a deputy bug, never written), EFAULT when the
// body's buffer is no longer writable, ESRCH when the body died.
std::expected<std::int64_t, int> apply_reply(const SyscallEntry& entry, const std::uint64_t args[6],
                                             const wire::SyscallReply& reply, BodyMemory& mem);

// The same for the registers as seccomp hands them over (struct
// seccomp_data's __u64 args[6], which is unsigned long long on x86_64).
inline std::expected<wire::SyscallRequest, int> marshal_request(const SyscallEntry& entry,
                                                                const unsigned long long args[6],
                                                                BodyMemory& mem, std::uint64_t id) {
  const std::uint64_t a[6] = {args[0], args[1], args[2], args[3], args[4], args[5]};
  return marshal_request(entry, a, mem, id);
}
inline std::expected<std::int64_t, int> apply_reply(const SyscallEntry& entry,
                                                    const unsigned long long args[6],
                                                    const wire::SyscallReply& reply,
                                                    BodyMemory& mem) {
  const std::uint64_t a[6] = {args[0], args[1], args[2], args[3], args[4], args[5]};
  return apply_reply(entry, a, reply, mem);
}

// The fds named by the SCM_RIGHTS messages of a msghdr's control bytes.
std::vector<int> scm_rights_fds(std::string_view control);

}  // namespace mos::remote
