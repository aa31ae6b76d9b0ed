#pragma once
// A frozen body as an image (common/migrate.proto) and back: what
// docs/migration.md calls the dump and the restore. Both sides drive a
// Tracee; neither knows about deputies or daemons.
//
//   dump_state    registers (the interrupted call's restart applied), XSAVE
//                 state, signal handlers, mask, queued signals, sigaltstack,
//                 the mm fields, auxv and the list of areas. Refuses a body
//                 with threads or a shared writable mapping.
//   send_pages    every area's bytes, 128 KiB reads, pages of zeros left
//                 out (holes), as kMigratePages frames.
//   restore       into a fresh, stopped process of the target's sandbox:
//                 its own mappings go, the vDSO and vvar areas move to the
//                 recorded addresses, every area is mapped where it was, the
//                 pages arrive (receive_pages), then protections, mm fields,
//                 signals, XSAVE state and registers, in that order.

#include <cstdint>
#include <expected>
#include <string>

#include "common/FramedChannel.h"
#include "common/migrate.pb.h"
#include "remote/detail/Tracee.h"

namespace mos::remote::detail {

class PageSink;  // remote/detail/PageRoad.h
class PageSource;

// The chunk read from the source and written at the target.
inline constexpr std::size_t kPageChunk = 128 << 10;

struct PageStats {
  std::uint64_t sent = 0;   // bytes of pages sent
  std::uint64_t holes = 0;  // bytes of pages left out (all zero, or unreadable)
};

// The registers with an interrupted syscall's restart applied: the body,
// resumed, issues the call again (Linux's rule for a call cut short by a
// signal it restarts after; ERESTART_RESTARTBLOCK re-issues the original
// call, as no restart block moves with the body).
user_regs_struct with_restart(user_regs_struct r);

std::expected<wire::MigrateImage, std::string> dump_state(Tracee& t, const Tracee::Pump& pump);
// The areas as a preliminary image (pre-copy: the body still runs).
std::expected<wire::MigrateImage, std::string> list_areas(pid_t pid);
std::expected<PageStats, std::string> send_pages(const Tracee& t, const wire::MigrateImage& image,
                                                 PageSink& out);

using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// What of an area the source has bytes for: an anonymous area's pages
// (PAGEMAP_SCAN), all of a private file map (its untouched pages are the
// file's, which the target has no copy of). Adds what is left out to
// `holes`.
Ranges area_pages(const Tracee& t, const wire::MemoryArea& a, std::uint64_t* holes);

// Pages of a tracee into a sink: 128 KiB reads, runs of pages that are
// not all zero as kMigratePages frames (or road chunks); pages of zeros
// are left out, or (zeros_too, for post-copy, where a fault on them needs
// an answer) sent as kMigrateZero frames.
class PageSender {
 public:
  PageSender(const Tracee& t, PageSink& out) : t_(t), out_(out) {}
  std::expected<void, std::string> send(std::uint64_t from, std::uint64_t to,
                                        bool zeros_too = false);
  std::expected<void, std::string> zero(std::uint64_t from, std::uint64_t to);
  PageStats stats;

 private:
  const Tracee& t_;
  PageSink& out_;
  std::string buf_ = std::string(kPageChunk, '\0');
};

// Queues signals (siginfo_t bytes) in the tracee again, from the tracee
// itself (so their siginfo stays as it was). Leaves every signal blocked:
// the caller sets the mask after its last injected call (a signal that
// could be delivered would stop the next one). Needs scratch memory in the
// tracee at `scratch`.
std::expected<void, std::string> queue_signals(Tracee& t, std::uint64_t scratch,
                                               const std::vector<std::string>& thread,
                                               const std::vector<std::string>& shared,
                                               const Tracee::Pump& pump);
// Resumes a frozen body where it was: held signals queued again, its
// registers (with the restart applied) back, detached.
std::expected<void, std::string> resume_frozen(Tracee& t, const user_regs_struct& regs,
                                               const Tracee::Pump& pump);

struct RestoreOptions {
  // Fds of the new process to close first (what it kept of its starting:
  // a copy of its seccomp listener, its userfaultfd).
  std::vector<int> close_fds;
  // Post-copy: the new process's userfaultfd (UFFDIO_API done); every area
  // is registered with it (missing pages) once the first pages are in.
  int uffd = -1;
  // prepare_stub was done (with close_fds) before the image came.
  bool prepared = false;
};

// The part of a restore that needs no image, done while the source still
// dumps: the new process's fds of its starting closed, a scratch page for
// the injections, and every area of its own but the kernel's unmapped.
std::expected<void, std::string> prepare_stub(Tracee& t, const Tracee::Pump& pump,
                                              const std::vector<int>& close_fds);

// The restore, up to (not including) letting it run. `in` brings the pages
// (kMigratePages, kMigrateZero), for pre-copy the final image among them,
// and then kMigrateEnd; `image` is then the final one. On error the
// tracee is useless: kill it.
std::expected<void, std::string> restore(Tracee& t, wire::MigrateImage& image, PageSource& in,
                                         const Tracee::Pump& pump, const RestoreOptions& opts = {});

// [a) minus [b), both sorted or not; the result sorted and merged.
Ranges subtract(Ranges a, Ranges b);
// Sorted and merged; a ∩ b.
Ranges merged(Ranges v);
Ranges intersect(const Ranges& a, const Ranges& b);
// How many bytes the ranges cover (counted once each, as given).
std::uint64_t bytes_of(const Ranges& v);

// XCR0 of an XSAVE area as ptrace gives it (the kernel's software bytes).
std::uint64_t xstate_features(const std::string& xstate);

}  // namespace mos::remote::detail
