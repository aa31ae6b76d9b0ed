#pragma once
// MOS_ASSERT stays on in release builds. It is for invariants of our own code
// only: anything a peer, a user or a dying process can cause is an Error.

#include <source_location>
#include <string_view>

namespace mos::common {
[[noreturn]] void assert_fail(std::string_view expr, std::string_view msg,
                              std::source_location where = std::source_location::current());
}  // namespace mos::common

#define MOS_ASSERT(cond, msg)                   \
  do {                                          \
    if (!(cond)) [[unlikely]] {                 \
      ::mos::common::assert_fail(#cond, (msg)); \
    }                                           \
  } while (0)
