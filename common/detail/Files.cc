#include "common/Files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::common {

std::string errno_message(std::string_view what, int err) {
  return fmt::format("{}: {}", what, std::strerror(err));
}

std::expected<std::string, std::string> read_text_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(errno_message(fmt::format("open {}", path.string()), errno));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(errno_message(fmt::format("read {}", path.string()), errno));
    }
    if (n == 0) {
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

namespace {
std::expected<void, std::string> write_all(int fd, std::string_view text,
                                           const std::filesystem::path& path) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(errno_message(fmt::format("write {}", path.string()), errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}
}  // namespace

std::expected<void, std::string> write_text_file(const std::filesystem::path& path,
                                                 std::string_view text, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) {
    return std::unexpected(errno_message(fmt::format("create {}", tmp.string()), errno));
  }
  // The umask may have narrowed the mode; state files must have exactly it.
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(errno_message(fmt::format("chmod {}", tmp.string()), err));
  }
  if (auto r = write_all(fd.get(), text, tmp); !r) {
    ::unlink(tmp.c_str());
    return r;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(errno_message(fmt::format("rename to {}", path.string()), err));
  }
  return {};
}

std::expected<void, std::string> write_special_file(const std::filesystem::path& path,
                                                    std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(errno_message(fmt::format("open {}", path.string()), errno));
  }
  ssize_t n;
  do {
    n = ::write(fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return std::unexpected(
        errno_message(fmt::format("write '{}' to {}", text, path.string()), errno));
  }
  if (static_cast<std::size_t>(n) != text.size()) {
    return std::unexpected(fmt::format("write '{}' to {}: short write", text, path.string()));
  }
  return {};
}

std::expected<std::string, std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(errno_message("getrandom", errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace mos::common
