#pragma once
// Pre-copy's dirty-page tracking at the source (docs/migration.md,
// "Modes"). This kernel has no soft-dirty bits; it has userfaultfd's
// asynchronous write-protect (UFFD_FEATURE_WP_ASYNC, Linux 6.7): every area
// of the body is registered and write-protected once; a write to a
// protected page is resolved by the kernel itself (the body never waits)
// and leaves the page "written", which PAGEMAP_SCAN reports and, in the
// same call, protects again (PM_SCAN_WP_MATCHING). One round is one scan.
//
// The userfaultfd must be the body's own (it tracks the mm of whoever
// made it): it is made by an injected userfaultfd() while the body is
// stopped (UFFD_USER_MODE_ONLY, all an unprivileged body may have, which
// async write-protect does not need more than) and taken with pidfd_getfd.

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "common/UniqueFd.h"
#include "common/migrate.pb.h"
#include "remote/detail/Image.h"
#include "remote/detail/Tracee.h"

namespace mos::remote::detail {

class DirtyTracker {
 public:
  // `t` stopped, with use_vdso done; `pidfd` the body's.
  static std::expected<DirtyTracker, std::string> start(Tracee& t, int pidfd,
                                                        const wire::MigrateImage& areas,
                                                        const Tracee::Pump& pump);

  // The pages of [start, end) written since the last look (present or
  // swapped), protected again.
  std::expected<Ranges, std::string> take_written(std::uint64_t start, std::uint64_t end);
  // Every run of pages of [start, end) with its categories (page::k*),
  // touching nothing: the final look, the body frozen.
  std::expected<std::vector<PageRun>, std::string> classify(std::uint64_t start, std::uint64_t end);
  // The areas registered (their runs read kWpAllowed while they last).
  std::uint64_t registered_bytes() const { return registered_; }

 private:
  DirtyTracker() = default;
  common::UniqueFd uffd_;
  common::UniqueFd pagemap_;
  std::uint64_t registered_ = 0;
};

// What the freeze must still send, after the rounds: the image's areas
// the target must map anew (not in the first image, or replaced since:
// no longer tracked) and the pages to send there; the written pages of the
// areas it keeps (their zero pages as zeros: the target has other bytes
// there) and the pages it got that are gone since (MADV_DONTNEED).
struct FinalPlan {
  Ranges fresh;       // -> MigrateImage.fresh
  Ranges fresh_send;  // pages within `fresh`
  Ranges written;     // pages in kept areas, zeros too
  Ranges zero;        // kept pages that read as zeros now
};
std::expected<FinalPlan, std::string> plan_final(DirtyTracker& d, const wire::MigrateImage& first,
                                                 const wire::MigrateImage& final_image,
                                                 const Ranges& sent);

}  // namespace mos::remote::detail
