#include "remote/detail/DirtyTracker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/Log.h"
#include "remote/detail/Inject.h"

namespace mos::remote::detail {

namespace {
// Linux 6.7's features, newer than this system's headers.
constexpr std::uint64_t kFeatureWpAsync = 1ull << 15;
constexpr int kUserModeOnly = 1;  // UFFD_USER_MODE_ONLY
}  // namespace

std::expected<DirtyTracker, std::string> DirtyTracker::start(Tracee& t, int pidfd,
                                                             const wire::MigrateImage& areas,
                                                             const Tracee::Pump& pump) {
  DirtyTracker d;
  d.pagemap_.reset(::open(fmt::format("/proc/{}/pagemap", t.pid()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!d.pagemap_) {
    return std::unexpected(fmt::format("open /proc/PID/pagemap: {}", std::strerror(errno)));
  }
  MOS_TRY(fd,
          call(t, SYS_userfaultfd, {O_CLOEXEC | O_NONBLOCK | kUserModeOnly}, pump, "userfaultfd"));
  d.uffd_.reset(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, static_cast<int>(*fd), 0)));
  const int getfd_errno = errno;
  MOS_TRY(closed, call(t, SYS_close, {static_cast<std::uint64_t>(*fd)}, pump, "close"));
  if (!d.uffd_) {
    return std::unexpected(
        fmt::format("pidfd_getfd (userfaultfd): {}", std::strerror(getfd_errno)));
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync;
  if (::ioctl(d.uffd_.get(), UFFDIO_API, &api) != 0) {
    return std::unexpected(fmt::format("this kernel has no asynchronous uffd write-protect: {}",
                                       std::strerror(errno)));
  }
  for (const auto& a : areas.areas()) {
    if (kernel_area(a.name())) {
      continue;
    }
    uffdio_register reg{};
    reg.range.start = a.start();
    reg.range.len = a.end() - a.start();
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (::ioctl(d.uffd_.get(), UFFDIO_REGISTER, &reg) != 0) {
      // Not tracked: sent again in full at the freeze (not kWpAllowed).
      MOS_LOG_DEBUG("pre-copy: {:#x}-{:#x} ({}) not tracked: {}", a.start(), a.end(), a.name(),
                    std::strerror(errno));
      continue;
    }
    uffdio_writeprotect wp{};
    wp.range = reg.range;
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    if (::ioctl(d.uffd_.get(), UFFDIO_WRITEPROTECT, &wp) != 0) {
      return std::unexpected(fmt::format("write-protecting {:#x}-{:#x}: {}", a.start(), a.end(),
                                         std::strerror(errno)));
    }
    d.registered_ += a.end() - a.start();
  }
  return d;
}

std::expected<Ranges, std::string> DirtyTracker::take_written(std::uint64_t start,
                                                              std::uint64_t end) {
  auto runs = scan_pages(pagemap_.get(), start, end,
                         {.flags = page::kScanWpMatching,
                          .all_of = page::kWpAllowed | page::kWritten,
                          .any_of = page::kPresent | page::kSwapped,
                          .report = page::kWritten});
  if (!runs) {
    return std::unexpected(runs.error());
  }
  Ranges out;
  for (const auto& r : *runs) {
    if (!out.empty() && out.back().second == r.start) {
      out.back().second = r.end;
    } else {
      out.emplace_back(r.start, r.end);
    }
  }
  return out;
}

std::expected<std::vector<PageRun>, std::string> DirtyTracker::classify(std::uint64_t start,
                                                                        std::uint64_t end) {
  return scan_pages(pagemap_.get(), start, end,
                    {.report = page::kWpAllowed | page::kWritten | page::kPresent | page::kSwapped |
                               page::kPfnZero});
}

std::expected<FinalPlan, std::string> plan_final(DirtyTracker& d, const wire::MigrateImage& first,
                                                 const wire::MigrateImage& final_image,
                                                 const Ranges& sent) {
  Ranges before;
  for (const auto& a : first.areas()) {
    if (!kernel_area(a.name())) {
      before.emplace_back(a.start(), a.end());
    }
  }
  FinalPlan plan;
  for (const auto& a : final_image.areas()) {
    if (kernel_area(a.name())) {
      continue;
    }
    const bool file = !a.name().empty() && a.name()[0] != '[';
    auto runs = d.classify(a.start(), a.end());
    if (!runs) {
      return std::unexpected(runs.error());
    }
    // Kept: mapped at the target since the first image and tracked all
    // along (an area unmapped and mapped again, or moved, is not).
    Ranges tracked;
    for (const auto& r : *runs) {
      if (r.categories & page::kWpAllowed) {
        tracked.emplace_back(r.start, r.end);
      }
    }
    const Ranges keep = intersect(intersect({{a.start(), a.end()}}, before), merged(tracked));
    const Ranges fresh = subtract({{a.start(), a.end()}}, keep);
    plan.fresh.insert(plan.fresh.end(), fresh.begin(), fresh.end());
    if (file) {
      plan.fresh_send.insert(plan.fresh_send.end(), fresh.begin(), fresh.end());
    }
    Ranges written, gone, have;
    for (const auto& r : *runs) {
      const bool present = (r.categories & (page::kPresent | page::kSwapped)) != 0 &&
                           (r.categories & page::kPfnZero) == 0;
      if (present) {
        have.emplace_back(r.start, r.end);
      }
      if (present && (r.categories & page::kWritten)) {
        written.emplace_back(r.start, r.end);
      } else if (!present) {
        gone.emplace_back(r.start, r.end);
      }
    }
    if (!file) {
      const Ranges f = intersect(merged(have), fresh);
      plan.fresh_send.insert(plan.fresh_send.end(), f.begin(), f.end());
    }
    const Ranges w = intersect(merged(written), keep);
    plan.written.insert(plan.written.end(), w.begin(), w.end());
    // (A file map's untouched pages are the file's, not zeros: they were
    // sent whole and stay.)
    if (!file) {
      const Ranges z = intersect(intersect(merged(gone), keep), sent);
      plan.zero.insert(plan.zero.end(), z.begin(), z.end());
    }
  }
  plan.fresh = merged(plan.fresh);
  return plan;
}

}  // namespace mos::remote::detail
