#include "home/ProgramControl.h"

#include <dirent.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/ControlClient.h"
#include "common/FrameIo.h"
#include "common/UniqueFd.h"

namespace mos::home {

std::expected<common::Frame, AskError> ask_program(pid_t pid, common::MsgType type,
                                                   const google::protobuf::MessageLite& request,
                                                   std::chrono::milliseconds timeout) {
  const std::string path = fmt::format("{}/{}", common::programs_dir(), pid);
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  if (path.size() >= sizeof to.sun_path) {
    return std::unexpected(AskError{ENAMETOOLONG, "socket path too long: " + path});
  }
  std::memcpy(to.sun_path, path.c_str(), path.size() + 1);
  common::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return std::unexpected(AskError{errno, fmt::format("socket: {}", std::strerror(errno))});
  }
  // An address of our own (autobind, abstract) for the reply.
  sa_family_t fam = AF_UNIX;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&fam), sizeof fam) != 0) {
    return std::unexpected(AskError{errno, fmt::format("bind: {}", std::strerror(errno))});
  }
  const int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  const auto bytes = common::make_frame(type, request);
  if (::sendto(fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) < 0) {
    const int e = errno;
    return std::unexpected(AskError{e, e == ENOENT || e == ECONNREFUSED
                                           ? fmt::format("no program {} on this node", pid)
                                           : fmt::format("{}: {}", path, std::strerror(e))});
  }
  // In steps, so that a program that ends meanwhile is noticed.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      break;
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      return std::unexpected(AskError{ESRCH, fmt::format("program {} has ended", pid)});
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::unexpected(AskError{ETIMEDOUT, fmt::format("program {} did not answer", pid)});
    }
  }
  std::string buf(64 << 10, '\0');
  const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
  if (n <= 0) {
    return std::unexpected(AskError{EIO, fmt::format("program {}: no reply", pid)});
  }
  common::Frame f;
  if (common::decode_frame(std::string_view(buf.data(), static_cast<std::size_t>(n)), f) !=
      common::FrameStatus::kOk) {
    return std::unexpected(AskError{EPROTO, fmt::format("program {}: malformed reply", pid)});
  }
  return f;
}

std::vector<pid_t> listed_programs() {
  std::vector<pid_t> out;
  if (DIR* d = ::opendir(common::programs_dir().c_str())) {
    while (dirent* e = ::readdir(d)) {
      char* end = nullptr;
      const long v = std::strtol(e->d_name, &end, 10);
      if (end != e->d_name && *end == '\0' && v > 0) {
        out.push_back(static_cast<pid_t>(v));
      }
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void forget_program(pid_t pid) {
  ::unlink(fmt::format("{}/{}", common::programs_dir(), pid).c_str());
}

}  // namespace mos::home
