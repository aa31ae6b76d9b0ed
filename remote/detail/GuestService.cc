#include "remote/GuestService.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/Files.h"
#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/Text.h"
#include "common/Watchdog.h"

namespace mos::remote {

using common::MsgType;

struct GuestService::Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::string node;
  std::optional<wire::GuestReply> reply;
};

GuestService::GuestService(asio::io_context& io, const common::Config& config,
                           common::LinkManager& links, std::filesystem::path guest_binary)
    : io_(io),
      config_(config),
      links_(links),
      guest_binary_(std::move(guest_binary)),
      registry_(config.control_socket.parent_path() / "guest-list") {
  std::error_code ec;
  std::filesystem::create_directories(registry_, ec);
  links_.on_message(
      MsgType::kGuestRequest,
      [this](const std::string& peer, const common::Frame& f) { on_guest_request(peer, f); });
  links_.on_message(MsgType::kGuestReply, [this](const std::string& peer, const common::Frame& f) {
    on_guest_reply(peer, f);
  });
}

void GuestService::register_control(common::ControlServer& control) {
  control.on_request(
      MsgType::kRemoteRunRequest,
      [this](common::ControlConnection& c, const common::Frame& f) { return on_remote_run(c, f); });
}

asio::awaitable<void> GuestService::on_remote_run(common::ControlConnection& c,
                                                  const common::Frame& f) {
  wire::RemoteRunRequest req;
  if (!common::parse_payload(f, req) || req.token().size() != common::kSessionTokenBytes) {
    co_await c.reply_error(EINVAL, "malformed remote-run request");
    co_return;
  }
  const common::NodeEntry* node =
      config_.find_node(req.node().empty() && req.here() ? config_.node_name : req.node());
  if (node == nullptr) {
    co_await c.reply_error(ENOENT, fmt::format("unknown node '{}' (not in cluster {})", req.node(),
                                               config_.cluster_name));
    co_return;
  }
  if (node->name == config_.node_name && !req.here()) {
    wire::RemoteRunReply local;
    local.set_local(true);
    local.set_node(node->name);
    co_await c.reply(MsgType::kRemoteRunReply, local);
    co_return;
  }
  wire::GuestRequest g;
  g.set_id(next_id_++);
  g.set_token(req.token());
  g.set_uid(c.peer().uid);
  g.set_pid(static_cast<std::uint32_t>(c.peer().pid));
  g.set_restore(req.restore());
  g.set_automatic(req.automatic());
  g.set_seen_load(req.seen_load());
  g.set_rss(req.rss());
  if (node->name == config_.node_name) {
    // A guest of our own (a body coming home).
    ++counters_.requested;
    wire::GuestReply here = co_await launch_guest(config_.node_name, g);
    if (here.errno_code() != 0) {
      co_await c.reply_error(here.errno_code(), fmt::format("this node refused: {}", here.error()));
      co_return;
    }
    wire::RemoteRunReply r;
    r.set_address(here.address());
    r.set_port(here.port());
    r.set_node(node->name);
    co_await c.reply(MsgType::kRemoteRunReply, r);
    co_return;
  }
  if (!links_.is_up(node->name)) {
    co_await c.reply_error(EHOSTUNREACH,
                           fmt::format("node {} is unreachable (no link)", node->name));
    co_return;
  }
  auto w = std::make_shared<Waiter>(io_);
  w->node = node->name;
  waiting_[g.id()] = w;
  ++counters_.requested;
  if (!links_.send(node->name, MsgType::kGuestRequest, g)) {
    waiting_.erase(g.id());
    co_await c.reply_error(EHOSTUNREACH, fmt::format("node {} is unreachable", node->name));
    co_return;
  }
  w->timer.expires_after(tuning::kGuestStartTimeout);
  boost::system::error_code ec;
  co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  waiting_.erase(g.id());
  if (!w->reply) {
    co_await c.reply_error(ETIMEDOUT,
                           fmt::format("node {} did not start a guest in time", node->name));
    co_return;
  }
  if (w->reply->errno_code() != 0) {
    co_await c.reply_error(w->reply->errno_code(),
                           fmt::format("node {} refused: {}", node->name, w->reply->error()));
    co_return;
  }
  wire::RemoteRunReply r;
  r.set_address(w->reply->address());
  r.set_port(w->reply->port());
  r.set_node(node->name);
  co_await c.reply(MsgType::kRemoteRunReply, r);
}

void GuestService::on_guest_reply(const std::string& peer, const common::Frame& f) {
  wire::GuestReply r;
  if (!common::parse_payload(f, r)) {
    MOS_LOG_WARN("guest: malformed reply from {}", peer);
    return;
  }
  auto it = waiting_.find(r.id());
  if (it == waiting_.end() || it->second->node != peer) {
    return;  // late (timed out) or not ours
  }
  it->second->reply = std::move(r);
  it->second->timer.cancel();
}

wire::GuestReply GuestService::refusal(const std::string& peer, std::uint64_t id, int errno_code,
                                       const std::string& why) {
  ++counters_.refused;
  MOS_LOG_WARN("guest: refusing a body from {}: {}", peer, why);
  wire::GuestReply r;
  r.set_id(id);
  r.set_errno_code(errno_code);
  r.set_error(why);
  return r;
}

void GuestService::on_guest_request(const std::string& peer, const common::Frame& f) {
  wire::GuestRequest req;
  if (!common::parse_payload(f, req)) {
    MOS_LOG_WARN("guest: malformed request from {}", peer);
    return;
  }
  if (req.token().size() != common::kSessionTokenBytes) {
    links_.send(peer, MsgType::kGuestReply, refusal(peer, req.id(), EINVAL, "bad session token"));
    return;
  }
  // A body already here may still move within this node (restore = false
  // never comes from one), but no new one comes in.
  if (blocked_) {
    links_.send(peer, MsgType::kGuestReply,
                refusal(peer, req.id(), EAGAIN,
                        fmt::format("node {} takes no guests (blocked by its administrator: "
                                    "mosctl block)",
                                    config_.node_name)));
    return;
  }
  // A move the home's policy chose on its (older) news of us.
  if (req.automatic() && admission_) {
    if (std::string why = admission_(req.seen_load(), req.rss()); !why.empty()) {
      links_.send(peer, MsgType::kGuestReply, refusal(peer, req.id(), EAGAIN, why));
      return;
    }
  }
  asio::co_spawn(io_, start_guest(peer, std::move(req)), asio::detached);
}

asio::awaitable<void> GuestService::start_guest(std::string peer, wire::GuestRequest req) {
  wire::GuestReply r = co_await launch_guest(peer, std::move(req));
  links_.send(peer, MsgType::kGuestReply, r);
}

asio::awaitable<wire::GuestReply> GuestService::launch_guest(std::string peer,
                                                             wire::GuestRequest req) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    co_return refusal(peer, req.id(), errno, fmt::format("socketpair: {}", std::strerror(errno)));
  }
  const std::string bin = guest_binary_.string();
  // The supervisor logs at our level (to our stderr: the daemon's log).
  static constexpr const char* kLevels[] = {"error", "warn", "info", "debug", "trace"};
  const char* level = kLevels[static_cast<int>(common::log_level())];
  const pid_t mid = ::fork();
  if (mid < 0) {
    const int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    co_return refusal(peer, req.id(), e, fmt::format("fork: {}", std::strerror(e)));
  }
  if (mid == 0) {
    // Forked twice: the supervisor is nobody's child here, and outlives us.
    ::setsid();
    if (::fork() != 0) {
      ::_exit(0);
    }
    if (::dup2(sv[1], 3) < 0) {
      ::_exit(127);
    }
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::syscall(SYS_close_range, 4, ~0u, 0);
    ::setenv("MOS_LOG", level, 1);
    char* const argv[] = {const_cast<char*>("mosguest"), nullptr};
    ::execv(bin.c_str(), argv);
    ::_exit(127);
  }
  ::close(sv[1]);
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
  asio::local::stream_protocol::socket sock(io_);
  boost::system::error_code ec;
  sock.assign(asio::local::stream_protocol(), sv[0], ec);
  if (ec) {
    ::close(sv[0]);
    co_return refusal(peer, req.id(), EIO, "cannot talk to the guest supervisor");
  }
  wire::GuestSpec spec;
  spec.set_token(req.token());
  spec.set_bind_address(config_.self().address);
  spec.set_home(peer);
  spec.set_home_pid(req.pid());
  spec.set_guest_uid(tuning::kGuestUid);
  spec.set_guest_gid(tuning::kGuestGid);
  spec.set_restore(req.restore());
  wire::GuestReady ready;
  std::string failure;
  try {
    common::Watchdog dog(sock, tuning::kGuestStartTimeout);
    co_await common::write_frame(sock, MsgType::kGuestSpec, spec);
    common::FrameReader reader;
    common::Frame fr = co_await common::read_frame(sock, reader);
    if (fr.type != common::to_wire(MsgType::kGuestReady) || !common::parse_payload(fr, ready)) {
      failure = "the guest supervisor sent nonsense";
    }
  } catch (const std::exception& e) {
    failure = fmt::format("the guest supervisor did not start ({})", e.what());
  }
  if (failure.empty() && !ready.error().empty()) {
    failure = ready.error();
  }
  if (!failure.empty()) {
    co_return refusal(peer, req.id(), EAGAIN, failure);
  }
  ++counters_.started;
  if (ready.pid() > 0) {
    // (A failure to write only makes the guest unknown to expel; logged.)
    const auto file = registry_ / std::to_string(ready.pid());
    if (auto w = common::write_text_file(file, fmt::format("{} {}\n", peer, req.pid())); !w) {
      MOS_LOG_WARN("guest: cannot record guest {}: {}", ready.pid(), w.error());
    }
  }
  MOS_LOG_INFO("guest: body of {} pid {} (uid {}) {} here, supervisor on port {}", peer, req.pid(),
               req.uid(), req.restore() ? "migrates" : "starts", ready.port());
  wire::GuestReply r;
  r.set_id(req.id());
  r.set_address(config_.self().address);
  r.set_port(ready.port());
  co_return r;
}

void GuestService::set_blocked(bool blocked) {
  if (blocked != blocked_) {
    MOS_LOG_INFO("guest: {}", blocked ? "blocked: no new guests (mosctl block)"
                                      : "unblocked: guests welcome again");
  }
  blocked_ = blocked;
}

std::vector<Guest> GuestService::guests() const {
  std::vector<Guest> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(registry_, ec)) {
    const std::string name = e.path().filename().string();
    const auto pid = common::parse_number<pid_t>(name);
    const auto comm = pid ? common::read_text_file(fmt::format("/proc/{}/comm", *pid))
                          : std::expected<std::string, std::string>(std::unexpected("no pid"));
    if (!pid || !comm || *comm != "mos-guest\n") {
      std::filesystem::remove(e.path(), ec);  // its supervisor is gone
      continue;
    }
    Guest g;
    g.supervisor = *pid;
    const auto text = common::read_text_file(e.path());
    std::istringstream in(text ? *text : std::string());
    std::string home, home_pid_text;
    in >> home >> home_pid_text;
    const auto home_pid = common::parse_number<std::uint32_t>(home_pid_text);
    if (!home_pid || config_.find_node(home) == nullptr) {
      MOS_LOG_WARN("guest: {} in {} is not a guest record", name, registry_.string());
      continue;
    }
    if (home == config_.node_name) {
      continue;  // our own program's body (migrate ... home): not a guest
    }
    g.home = home;
    g.home_pid = *home_pid;
    out.push_back(std::move(g));
  }
  return out;
}

std::size_t GuestService::expel(const std::string& why) {
  set_blocked(true);
  std::size_t asked = 0;
  for (const Guest& g : guests()) {
    wire::GuestLeave leave;
    leave.set_home_pid(g.home_pid);
    leave.set_reason(why);
    if (links_.send(g.home, MsgType::kGuestLeave, leave)) {
      ++asked;
      MOS_LOG_INFO("guest: asked {} to take pid {} away ({})", g.home, g.home_pid, why);
    } else {
      MOS_LOG_WARN("guest: cannot ask {} to take pid {} away: no link", g.home, g.home_pid);
    }
  }
  return asked;
}

}  // namespace mos::remote
