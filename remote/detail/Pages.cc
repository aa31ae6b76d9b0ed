// A body's pages on the wire (remote/detail/Image.h): the sender, what of
// an area has bytes, and the range arithmetic of the modes' bookkeeping.

#include <algorithm>
#include <cstring>

#include "common/Log.h"
#include "remote/detail/Image.h"
#include "remote/detail/PageRoad.h"

namespace mos::remote::detail {

namespace {
constexpr std::uint64_t kPage = 4096;
}  // namespace

std::expected<void, std::string> PageSender::zero(std::uint64_t from, std::uint64_t to) {
  std::uint64_t head[2] = {from, to - from};
  if (auto r =
          out_.send_parts(common::MsgType::kMigrateZero,
                          {std::string_view(reinterpret_cast<const char*>(head), sizeof head)});
      !r) {
    return std::unexpected(r.error());
  }
  return {};
}

std::expected<void, std::string> PageSender::send(std::uint64_t from, std::uint64_t to,
                                                  bool zeros_too) {
  auto is_zero = [](const char* p) {
    const auto* w = reinterpret_cast<const std::uint64_t*>(p);
    for (std::size_t i = 0; i < kPage / 8; ++i) {
      if (w[i] != 0) {
        return false;
      }
    }
    return true;
  };
  for (std::uint64_t at = from; at < to; at += kPageChunk) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kPageChunk, to - at));
    if (!t_.read(at, buf_.data(), len)) {
      // Pages that cannot be read (a file map past its end): one by one,
      // the unreadable ones are holes (the target maps zeros there).
      for (std::size_t off = 0; off < len; off += kPage) {
        if (!t_.read(at + off, buf_.data() + off, kPage)) {
          std::memset(buf_.data() + off, 0, kPage);
        }
      }
    }
    // Runs of pages that are not all zero go out as one frame each (and,
    // if asked, the runs of zeros as one zero frame each).
    std::size_t run = 0;
    auto flush = [&](std::size_t end) -> std::expected<void, std::string> {
      if (end > run) {
        const std::uint64_t addr = at + run;
        if (auto r = out_.pages(addr, std::string_view(buf_.data() + run, end - run)); !r) {
          return std::unexpected(r.error());
        }
        stats.sent += end - run;
      }
      return {};
    };
    std::size_t zeros_from = len;  // start of the current run of zero pages
    for (std::size_t off = 0; off < len; off += kPage) {
      if (is_zero(buf_.data() + off)) {
        if (auto r = flush(off); !r) {
          return r;
        }
        zeros_from = std::min(zeros_from, off);
        stats.holes += kPage;
        run = off + kPage;
      } else if (zeros_from < off) {
        if (zeros_too) {
          if (auto r = zero(at + zeros_from, at + off); !r) {
            return r;
          }
        }
        zeros_from = len;
      } else {
        zeros_from = len;
      }
    }
    if (auto r = flush(len); !r) {
      return r;
    }
    if (zeros_too && zeros_from < len) {
      if (auto r = zero(at + zeros_from, at + len); !r) {
        return r;
      }
    }
  }
  return {};
}

Ranges area_pages(const Tracee& t, const wire::MemoryArea& a, std::uint64_t* holes) {
  Ranges ranges{{a.start(), a.end()}};
  if (a.name().empty() || a.name()[0] == '[') {
    if (auto r = t.populated(a.start(), a.end())) {
      ranges = std::move(*r);
      if (holes != nullptr) {
        *holes += (a.end() - a.start()) - bytes_of(ranges);
      }
    }
  }
  return ranges;
}

std::expected<PageStats, std::string> send_pages(const Tracee& t, const wire::MigrateImage& image,
                                                 PageSink& out) {
  PageSender pages(t, out);
  for (const auto& a : image.areas()) {
    if (kernel_area(a.name())) {
      continue;  // the target's kernel provides its own
    }
    for (const auto& [from, to] : area_pages(t, a, &pages.stats.holes)) {
      if (auto r = pages.send(from, to); !r) {
        return std::unexpected(r.error());
      }
    }
  }
  if (auto r = out.send(common::MsgType::kMigrateEnd, wire::MigrateEnd{}); !r) {
    return std::unexpected(r.error());
  }
  return pages.stats;
}

Ranges subtract(Ranges a, Ranges b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  Ranges out;
  std::size_t j = 0;
  for (auto [s0, e0] : a) {
    while (j < b.size() && b[j].second <= s0) {
      ++j;
    }
    for (std::size_t k = j; k < b.size() && b[k].first < e0; ++k) {
      if (b[k].first > s0) {
        out.emplace_back(s0, b[k].first);
      }
      s0 = std::max(s0, b[k].second);
    }
    if (s0 < e0) {
      out.emplace_back(s0, e0);
    }
  }
  Ranges merged;
  for (const auto& r : out) {
    if (!merged.empty() && merged.back().second >= r.first) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

std::uint64_t bytes_of(const Ranges& v) {
  std::uint64_t n = 0;
  for (const auto& [s, e] : v) {
    n += e - s;
  }
  return n;
}

Ranges merged(Ranges v) {
  return subtract(std::move(v), {});
}

Ranges intersect(const Ranges& a, const Ranges& b) {
  return subtract(a, subtract(a, b));
}

}  // namespace mos::remote::detail
