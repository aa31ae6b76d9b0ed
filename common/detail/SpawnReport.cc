#include "common/detail/SpawnReport.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/Files.h"

namespace mos::common::detail {

std::expected<SpawnReport, std::string> SpawnReport::create() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return std::unexpected(errno_message("socketpair", errno));
  }
  SpawnReport r;
  r.reader_.reset(sv[0]);
  r.writer_.reset(sv[1]);
  int on = 1;
  if (::setsockopt(r.reader_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    return std::unexpected(errno_message("setsockopt SO_PASSCRED", errno));
  }
  return r;
}

void SpawnReport::report_started() const {
  char tag = 'S';
  iovec iov{&tag, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(ucred));
  ucred cred{::getpid(), ::getuid(), ::getgid()};
  std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
  while (::sendmsg(writer_.get(), &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void SpawnReport::report_error(std::string_view message) const {
  char buf[1024];
  buf[0] = 'E';
  std::size_t n = std::min(message.size(), sizeof buf - 1);
  std::memcpy(buf + 1, message.data(), n);
  while (::send(writer_.get(), buf, n + 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void SpawnReport::fail(std::string_view what, int err) const {
  report_error(errno_message(what, err));
  ::_exit(127);
}

std::expected<pid_t, std::string> SpawnReport::collect(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pid_t pid = -1;
  std::string error;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::unexpected(
          fmt::format("child did not finish starting within {} ms", timeout.count()));
    }
    pollfd p{reader_.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr < 0) {
      return std::unexpected(errno_message("poll", errno));
    }
    if (pr == 0) {
      continue;
    }
    char buf[1024];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(reader_.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(errno_message("recvmsg", errno));
    }
    if (n == 0) {
      break;  // every writer is gone
    }
    if (buf[0] == 'E' && error.empty()) {
      error.assign(buf + 1, static_cast<std::size_t>(n - 1));
    } else if (buf[0] == 'S') {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred;
          std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
          pid = cred.pid;
        }
      }
    }
  }
  if (!error.empty()) {
    return std::unexpected(error);
  }
  if (pid <= 0) {
    return std::unexpected("child exited before it could start");
  }
  return pid;
}

}  // namespace mos::common::detail
