#include "remote/detail/ProcView.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "common/Files.h"

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

std::vector<std::uint64_t> proc_stat_fields(pid_t pid) {
  std::vector<std::uint64_t> v(53, 0);
  auto text = common::read_text_file(fmt::format("/proc/{}/stat", pid)).value_or("");
  auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 > text.size()) {
    return v;
  }
  std::istringstream in(text.substr(paren + 2));
  std::string f;
  for (std::size_t i = 3; i < v.size() && in >> f; ++i) {
    v[i] = i == 3 ? static_cast<unsigned char>(f[0]) : std::strtoull(f.c_str(), nullptr, 10);
  }
  return v;
}

std::optional<MemorySize> proc_memory(pid_t pid) {
  static const long page = ::sysconf(_SC_PAGESIZE);
  unsigned long long vm = 0, rss = 0;
  const auto text = common::read_text_file(fmt::format("/proc/{}/statm", pid)).value_or("");
  if (std::sscanf(text.c_str(), "%llu %llu", &vm, &rss) != 2) {
    return std::nullopt;
  }
  return MemorySize{vm * static_cast<std::uint64_t>(page), rss * static_cast<std::uint64_t>(page)};
}

}  // namespace mos::remote::detail
