#pragma once
// Post-copy (docs/migration.md, "Modes"): the body runs at the target as
// soon as its registers and a few pages are there; the rest follows.
//
//   Pager       (target) a thread on the body's userfaultfd and the
//               source's channel. A fault asks the source for its 128 KiB
//               chunk; pages that come, asked for or pushed, go in with
//               UFFDIO_COPY (zeros with UFFDIO_ZEROPAGE), which wakes
//               whoever waits on them: the body, or the supervisor reading
//               its memory for a forwarded call. A range the body discards
//               (MADV_DONTNEED) reads as zeros from then on; one it moves
//               (mremap) gets its pages at the new address. On the source's
//               kMigrateEnd the userfaultfd goes and the source is told
//               (kMigratePostcopyDone). If the source goes first the body
//               is killed: its pages are nowhere else.
//   PageServer  (source) answers requests ahead of the push of every
//               page the target does not have yet.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/FramedChannel.h"
#include "common/UniqueFd.h"
#include "common/migrate.pb.h"
#include "remote/detail/Image.h"
#include "remote/detail/PageRoad.h"

namespace mos::remote::detail {

// The pages a resumed body needs at once (its code, the top of its stack,
// its rseq area), sent before kMigrateEnd; `sent` says which.
std::expected<PageStats, std::string> send_working_set(const Tracee& t,
                                                       const wire::MigrateImage& image,
                                                       const user_regs_struct& regs, PageSink& out,
                                                       Ranges& sent);

// UFFDIO_API for a pager's userfaultfd (the events it follows).
std::expected<void, std::string> enable_pager_features(int uffd);

class Pager {
 public:
  // Its thread starts at once and waits for begin(): a process that has
  // made its bodies' PID namespace can no longer start threads.
  Pager();
  ~Pager();
  Pager(const Pager&) = delete;
  Pager& operator=(const Pager&) = delete;

  // The thread, or why there is none.
  const std::expected<void, std::string>& started() const { return started_; }
  // The work: the body's userfaultfd (its areas registered) and the
  // channel the rest of its pages come on; `body_pidfd` to kill it if the
  // source goes before the last page.
  void begin(common::UniqueFd uffd, std::unique_ptr<PageSource> source, int body_pidfd,
             int program_pid);
  // Readable once the pager is done: every page in, or the source lost
  // (the body killed), or stop().
  int done_fd() const { return done_.get(); }
  bool failed() const { return failed_.load(); }
  // The body is gone (or there is no post-copy): stop at once.
  void stop();
  void join();

  std::uint64_t faults() const { return faults_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void run();
  void serve();
  bool on_event();
  bool on_frame(const common::Frame& f);
  void put(std::uint64_t addr, const char* data, std::uint64_t len);
  void put_zeros(std::uint64_t addr, std::uint64_t len);
  std::uint64_t here(std::uint64_t source_addr) const;  // after the body's mremaps
  std::uint64_t there(std::uint64_t addr) const;        // back to the source's address
  bool discarded(std::uint64_t addr) const;

  common::UniqueFd uffd_;
  std::unique_ptr<PageSource> source_;
  int body_pidfd_ = -1;
  int program_pid_ = 0;
  std::chrono::steady_clock::time_point begun_;
  common::UniqueFd done_, stop_, go_;
  std::thread thread_;
  std::expected<void, std::string> started_;
  std::atomic<bool> failed_{false};
  bool mm_gone_ = false;
  struct Move {
    std::uint64_t from, to, len;
  };
  std::vector<Move> moves_;
  Ranges discarded_;
  std::set<std::uint64_t> asked_;  // chunks asked for (source addresses)
  std::uint64_t faults_ = 0, bytes_ = 0;
};

class PageServer {
 public:
  // `sent`: what the target has already (the working set).
  PageServer(const Tracee& t, const wire::MigrateImage& image, PageSink& out, const Ranges& sent);
  // A request from the target (kMigratePageRequest's payload).
  std::expected<void, std::string> serve(const common::Frame& request);
  // Pushes the next chunk the target may not have; false once all are
  // pushed (and kMigrateEnd sent).
  std::expected<bool, std::string> push();
  std::uint64_t remaining() const { return remaining_; }
  std::uint64_t requests() const { return requests_; }
  const PageStats& stats() const { return pages_.stats; }

 private:
  const Tracee& t_;
  const wire::MigrateImage& image_;
  PageSink& out_;
  PageSender pages_;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> todo_;  // chunks, in address order
  std::set<std::uint64_t> served_;                            // chunk bases sent on request
  std::uint64_t remaining_ = 0, requests_ = 0;
  bool ended_ = false;
};

}  // namespace mos::remote::detail
