#pragma once
// Small text helpers shared by the command-line tools and the daemon.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mos::common {

// The whole of `s` as a number of type T, or nothing (no partial parses, no
// leading spaces, no trailing garbage).
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// 1536 -> "1.5K": binary units, one decimal.
std::string human_bytes(double bytes);

// An environment variable in ASCII lower case ("" when unset): settings
// such as MOSIX_RDMA=Off.
std::string lower_env(const char* name);

}  // namespace mos::common
