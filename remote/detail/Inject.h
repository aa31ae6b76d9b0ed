#pragma once
// One syscall injected into a stopped tracee, its failure as a sentence
// (what the dump, the restore and pre-copy's set-up all need).

#include <fmt/format.h>

#include <cstring>
#include <expected>
#include <string>

#include "remote/detail/Tracee.h"

namespace mos::remote::detail {

inline std::expected<std::int64_t, std::string> call(Tracee& t, long nr,
                                                     std::initializer_list<std::uint64_t> args,
                                                     const Tracee::Pump& pump, const char* what) {
  auto r = t.syscall(nr, args, pump);
  if (!r) {
    return std::unexpected(fmt::format("{}: {}", what, r.error()));
  }
  if (*r < 0 && *r > -4096) {
    return std::unexpected(
        fmt::format("{} in the body: {}", what, std::strerror(static_cast<int>(-*r))));
  }
  return *r;
}

}  // namespace mos::remote::detail

// `var` = `expr`, returning its error from the enclosing function.
#define MOS_TRY(var, expr)               \
  auto var = (expr);                     \
  if (!var) {                            \
    return std::unexpected(var.error()); \
  }
