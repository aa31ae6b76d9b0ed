#include "remote/detail/ProcView.h"

#include <array>
#include <cstdlib>
#include <string_view>

namespace mos::remote::detail {

std::optional<std::string> body_proc_entry(const std::string& path, pid_t program_pid) {
  static constexpr std::array<std::string_view, 9> kBodyEntries = {
      "cmdline", "environ", "auxv", "maps", "smaps", "smaps_rollup", "numa_maps", "statm", "exe"};
  std::string_view p = path;
  if (!p.starts_with("/proc/")) {
    return std::nullopt;
  }
  p.remove_prefix(6);
  const auto slash = p.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view who = p.substr(0, slash);
  p.remove_prefix(slash + 1);
  const bool self =
      who == "self" || who == "thread-self" ||
      (!who.empty() && who.find_first_not_of("0123456789") == std::string_view::npos &&
       std::atoi(std::string(who).c_str()) == program_pid);
  if (!self) {
    return std::nullopt;
  }
  if (p.starts_with("task/")) {  // task/<tid>/E: the body's too
    p.remove_prefix(5);
    const auto s2 = p.find('/');
    if (s2 == std::string_view::npos) {
      return std::nullopt;
    }
    p.remove_prefix(s2 + 1);
  }
  for (std::string_view e : kBodyEntries) {
    if (p == e) {
      return std::string(e);
    }
  }
  return std::nullopt;
}

}  // namespace mos::remote::detail
