#include "common/Text.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

namespace mos::common {

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string lower_env(const char* name) {
  const char* v = std::getenv(name);
  std::string out = v != nullptr ? v : "";
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string human_bytes(double b) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}B", b) : fmt::format("{:.1f}{}", b, kUnits[u]);
}

}  // namespace mos::common
