#include "home/detail/DeputyControl.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "common/Auth.h"
#include "common/ControlClient.h"
#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/SessionLink.h"
#include "common/control.pb.h"
#include "common/guest.pb.h"
#include "home/ProgramControl.h"

namespace mos::home::detail {

namespace {

using common::MsgType;
using Clock = std::chrono::steady_clock;

constexpr int kKickMagic = 0x6d6f736b;  // "mosk"
// How often the main thread is kicked until it takes an order.
constexpr auto kKickEvery = std::chrono::milliseconds(20);
// A migration that has not finished within this long is reported failed
// to the one waiting (the deputy finishes it on its own terms).
constexpr auto kMigrateWait = std::chrono::minutes(10);

struct State {
  std::mutex mu;
  std::condition_variable cv;
  int fd = -1;
  std::string path;
  pid_t pid = -1;
  uid_t owner = 0;
  std::optional<MigrateOrder> order;  // waiting for the main thread
  bool busy = false;                  // an order is being carried out
  std::uint64_t generation = 0;       // of finished migrations
  wire::MigrateReply last;
  std::string where = "home";
  bool remote = false;
  std::uint32_t migrations = 0;
  wire::BodyUsage usage;
  std::uint64_t cpu_before_ms = 0;  // CPU time of the bodies the program left
  std::atomic<std::uint64_t> syscalls{0};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples;
};

State* g = new State;  // one per process; a child deputy makes a new one
// mosrun -L, for the program and every child deputy it forks.
std::atomic<bool> g_stay{false};
std::atomic<bool> g_may_leave{false};

void kick_main() {
  siginfo_t si{};
  si.si_signo = SIGURG;
  si.si_code = SI_QUEUE;
  si.si_pid = ::getpid();
  si.si_uid = ::getuid();
  si.si_value.sival_int = kKickMagic;
  ::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), ::getpid(), SIGURG, &si);
}

wire::MigrateReply failure(int e, const std::string& why) {
  wire::MigrateReply r;
  r.set_errno_code(e);
  r.set_error(why);
  return r;
}

// Asks the local daemon for a guest supervisor at `node` ("home": this
// node) that takes an image. A move of the placement loop carries what
// the target may refuse it for (`automatic`: see RemoteRunRequest).
std::expected<MigrateOrder, wire::MigrateReply> place(const std::string& node,
                                                      const std::string& where,
                                                      const wire::MigrateRequest& asked,
                                                      std::uint64_t rss) {
  auto client = common::ControlClient::connect(common::default_control_socket());
  if (!client) {
    return std::unexpected(failure(EHOSTDOWN, "no mosixd on this node: " + client.error().message));
  }
  wire::RemoteRunRequest req;
  MigrateOrder o;
  o.token = common::random_bytes(common::kSessionTokenBytes);
  req.set_node(node == "home" ? std::string() : node);
  req.set_token(o.token);
  req.set_restore(true);
  req.set_here(true);
  req.set_automatic(asked.automatic());
  req.set_seen_load(asked.seen_load());
  req.set_rss(rss);
  wire::RemoteRunReply reply;
  auto r = client->call(MsgType::kRemoteRunRequest, req, MsgType::kRemoteRunReply, reply,
                        std::chrono::seconds(15));
  if (!r) {
    const int e = r.error().kind == common::ControlError::Kind::kRefused ? r.error().errno_code
                                                                         : EHOSTUNREACH;
    return std::unexpected(failure(e, r.error().message));
  }
  o.node = reply.node();
  o.address = reply.address();
  o.port = static_cast<std::uint16_t>(reply.port());
  (void)where;
  return o;
}

// This node's name, from its daemon (once; "" while it cannot be had).
std::string home_name() {
  static std::mutex mu;
  static std::string name;
  std::lock_guard lock(mu);
  if (name.empty()) {
    if (auto c = common::ControlClient::connect(common::default_control_socket())) {
      wire::StatusReply st;
      if (c->call(MsgType::kStatusRequest, wire::StatusRequest{}, MsgType::kStatusReply, st,
                  std::chrono::seconds(2))) {
        name = st.node();
      }
    }
  }
  return name;
}

wire::MigrateReply migrate(const wire::MigrateRequest& req) {
  const auto started = Clock::now();
  std::string where;
  std::uint64_t rss = 0;
  {
    std::lock_guard lock(g->mu);
    if (g->busy || g->order) {
      return failure(EBUSY, "the program is already migrating");
    }
    g->busy = true;
    where = g->where;
    rss = g->usage.rss_bytes();
  }
  auto done = [&](wire::MigrateReply r) {
    std::lock_guard lock(g->mu);
    g->busy = false;
    return r;
  };
  if (req.node().empty()) {
    return done(failure(EINVAL, "no node named"));
  }
  auto o = place(req.node(), where, req, rss);
  if (!o) {
    return done(o.error());
  }
  o->mode = req.mode();
  {
    std::lock_guard lock(g->mu);
    if (o->node == where || (where == "home" && o->node == home_name())) {
      g->busy = false;
      return failure(EALREADY, fmt::format("the program already runs on {}", where));
    }
  }
  std::unique_lock lock(g->mu);
  const std::uint64_t gen = g->generation;
  g->order = *o;
  // The main thread takes it when it next looks: at once if idle (the kick
  // ends its poll), or when its forwarded call returns (the kick
  // interrupts it; repeated, in case it had not yet entered the call).
  while (g->order) {
    lock.unlock();
    kick_main();
    lock.lock();
    g->cv.wait_for(lock, kKickEvery);
  }
  if (!req.wait()) {
    wire::MigrateReply r;
    r.set_from(where);
    r.set_to(o->node);
    return r;  // busy stays until the main thread finishes
  }
  if (!g->cv.wait_for(lock, kMigrateWait, [&] { return g->generation != gen; })) {
    return failure(ETIMEDOUT, "the migration did not finish in time");
  }
  wire::MigrateReply r = g->last;
  r.set_total_us(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()));
  return r;
}

wire::ProgramStatus status() {
  const std::string home = home_name();
  std::lock_guard lock(g->mu);
  wire::ProgramStatus s;
  s.set_pid(g->pid);
  s.set_uid(g->owner);
  const bool at_home = g->where == "home" || g->where == home;
  s.set_where(at_home && !home.empty() ? home : g->where);
  s.set_state(g->busy ? "migrating" : at_home ? "home" : "remote");
  s.set_rss_bytes(g->usage.rss_bytes());
  s.set_cpu_ms(g->cpu_before_ms + g->usage.cpu_ms());
  s.set_syscalls(g->syscalls.load());
  s.set_migrations(g->migrations);
  s.set_stay(g_stay.load());
  s.set_may_leave_cluster(g_may_leave.load());
  s.set_runnable(g->usage.runnable());
  if (g->samples.size() >= 2) {
    const auto& [t0, c0] = g->samples.front();
    const auto& [t1, c1] = g->samples.back();
    const double dt = std::chrono::duration<double>(t1 - t0).count();
    s.set_syscall_rate(dt > 0 ? static_cast<double>(c1 - c0) / dt : 0.0);
  }
  char comm[32] = {};
  if (FILE* f = std::fopen("/proc/self/comm", "r")) {
    if (std::fgets(comm, sizeof comm, f) != nullptr) {
      comm[std::strcspn(comm, "\n")] = '\0';
    }
    std::fclose(f);
  }
  s.set_command(comm);
  return s;
}

// One datagram per request, one per reply, back to the sender's address;
// the sender's credentials come with it (SO_PASSCRED), checked by the kernel.
// A thread of ours with an fd table of its own: the deputy's table is the
// program's, and a socket we open (to the daemon) must not take a number
// the program expects to get, nor be closed by its close(2). Threads it
// starts share this private table. The copy keeps only `keep` (-1: none):
// a program's fd held here would keep a pipe open after the program
// closed it (its reader would never see EOF, its writer never EPIPE).
void own_thread(int keep) {
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, nullptr);  // the program's signals are the main thread's
  if (::unshare(CLONE_FILES) != 0) {
    MOS_LOG_WARN("mosrun: unshare(CLONE_FILES): {}", std::strerror(errno));
    return;
  }
  if (keep > 0) {
    ::syscall(SYS_close_range, 0u, static_cast<unsigned>(keep - 1), 0u);
  }
  ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u);
}

void serve(State* st) {
  own_thread(st->fd);
  std::string buf(64 << 10, '\0');
  for (;;) {
    sockaddr_un from{};
    char cbuf[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    const ssize_t n = ::recvmsg(st->fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EBADF) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    ucred cred{-1, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      }
    }
    const socklen_t from_len = msg.msg_namelen;
    // By value: a migrate is answered from a thread of its own, later.
    auto answer = [fd = st->fd, from, from_len](MsgType type,
                                                const google::protobuf::MessageLite& m) {
      const auto bytes = common::make_frame(type, m);
      (void)::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&from), from_len);
    };
    common::Frame f;
    if (from_len <= sizeof(sa_family_t) ||
        common::decode_frame(std::string_view(buf.data(), static_cast<std::size_t>(n)), f) !=
            common::FrameStatus::kOk) {
      continue;  // nobody to answer, or not a frame
    }
    if (cred.uid != 0 && cred.uid != st->owner) {
      answer(MsgType::kMigrateReply,
             failure(EPERM, fmt::format("program {} is not yours", st->pid)));
      continue;
    }
    if (f.type == common::to_wire(MsgType::kProgramStatusRequest)) {
      answer(MsgType::kProgramStatus, status());
    } else if (f.type == common::to_wire(MsgType::kMigrateRequest)) {
      wire::MigrateRequest req;
      if (!common::parse_payload(f, req)) {
        answer(MsgType::kMigrateReply, failure(EINVAL, "malformed migrate request"));
        continue;
      }
      // Served on a thread of its own: a waiting migrate must not keep
      // mosps (or a second migrate's EBUSY) from an answer.
      std::thread([req, answer]() mutable {
        answer(MsgType::kMigrateReply, migrate(req));
      }).detach();
    } else {
      answer(MsgType::kMigrateReply, failure(EINVAL, fmt::format("unknown request {}", f.type)));
    }
  }
}

}  // namespace

bool is_kick(int sig, const siginfo_t* info) {
  return sig == SIGURG && info != nullptr && info->si_code == SI_QUEUE &&
         info->si_pid == ::getpid() && info->si_value.sival_int == kKickMagic;
}

int control_socket() {
  return ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

void control_start(int fd, std::string where, bool remote) {
  if (fd < 0) {
    return;
  }
  g->fd = fd;
  g->pid = ::getpid();
  g->owner = ::getuid();
  g->where = std::move(where);
  g->remote = remote;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  g->path = fmt::format("{}/{}", common::programs_dir(), g->pid);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (g->path.size() >= sizeof addr.sun_path) {
    MOS_LOG_WARN("mosrun: {} is too long a socket path: no migrate, no mosps", g->path);
    return;
  }
  std::memcpy(addr.sun_path, g->path.c_str(), g->path.size() + 1);
  ::unlink(g->path.c_str());  // a dead program's of the same PID
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    MOS_LOG_DEBUG("mosrun: cannot bind {}: {} (no migrate, no mosps)", g->path,
                  std::strerror(errno));
    g->path.clear();
    return;
  }
  ::chmod(g->path.c_str(), 0666);  // anyone may ask; the credentials decide
  std::thread(serve, g).detach();
}

void control_reset_after_fork(int parent_fd) {
  g = new State;  // the parent's (and its mutex's state) is not ours
  if (parent_fd >= 0) {
    ::close(parent_fd);
  }
}

void control_stop() {
  if (!g->path.empty()) {
    ::unlink(g->path.c_str());
    g->path.clear();
  }
}

std::optional<MigrateOrder> control_take() {
  std::lock_guard lock(g->mu);
  auto o = std::move(g->order);
  g->order.reset();
  if (o) {
    g->cv.notify_all();
  }
  return o;
}

void control_finish(const wire::MigrateReply& reply) {
  std::lock_guard lock(g->mu);
  g->busy = false;
  g->last = reply;
  if (reply.error().empty()) {
    ++g->migrations;
    // The new body's clock starts at zero: what the old one used is kept.
    g->cpu_before_ms += g->usage.cpu_ms();
    g->usage.set_cpu_ms(0);
  }
  ++g->generation;
  g->cv.notify_all();
}

void control_set_where(const std::string& node, bool remote) {
  std::lock_guard lock(g->mu);
  g->where = node;
  g->remote = remote;
}

void control_usage(const wire::BodyUsage& u) {
  std::lock_guard lock(g->mu);
  g->usage = u;
  const auto now = Clock::now();
  g->samples.emplace_back(now, g->syscalls.load());
  while (g->samples.size() > 2 && now - g->samples.front().first > std::chrono::seconds(5)) {
    g->samples.pop_front();
  }
}

void control_count_syscall() {
  g->syscalls.fetch_add(1, std::memory_order_relaxed);
}

void control_request(const std::string& node) {
  wire::MigrateRequest req;
  req.set_node(node);
  req.set_wait(false);
  std::thread([req]() mutable {
    own_thread(-1);
    req.set_wait(true);
    auto r = migrate(req);
    // Not yet movable (its exec is under way): again, for a few seconds.
    for (int i = 0; i < 100 && r.errno_code() == EAGAIN; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r = migrate(req);
    }
    if (!r.error().empty()) {
      std::fprintf(stderr, "mosrun: -M %s: %s\n", req.node().c_str(), r.error().c_str());
    }
  }).detach();
}

// The kernel's own signal for the link (F_SETSIG): SIGURG, from the
// link's fd, while a call runs (O_ASYNC set only then).
namespace {
std::atomic<int> g_watched{-1};
}  // namespace

namespace {
// The link's file status flags (without O_ASYNC), read once per link.
thread_local int t_link = -1;
thread_local int t_link_flags = 0;
}  // namespace

void watch_calls_begin(int link_fd) {
  if (t_link != link_fd) {
    f_owner_ex owner{F_OWNER_TID, static_cast<pid_t>(::syscall(SYS_gettid))};
    ::fcntl(link_fd, F_SETOWN_EX, &owner);
    ::fcntl(link_fd, F_SETSIG, SIGURG);
    t_link_flags = std::max(0, ::fcntl(link_fd, F_GETFL)) & ~O_ASYNC;
    t_link = link_fd;
  }
  g_watched.store(link_fd, std::memory_order_relaxed);
  ::fcntl(link_fd, F_SETFL, t_link_flags | O_ASYNC);
}

void watch_calls_end(int link_fd) {
  ::fcntl(link_fd, F_SETFL, t_link_flags);
  g_watched.store(-1, std::memory_order_relaxed);
}

bool is_link_signal(int sig, const siginfo_t* info) {
  return sig == SIGURG && info != nullptr && info->si_code > 0 && info->si_code <= POLL_HUP &&
         info->si_fd == g_watched.load(std::memory_order_relaxed) && info->si_fd >= 0;
}

}  // namespace mos::home::detail

namespace mos::home {

void no_automatic_migration() {
  detail::g_stay = true;
}

void may_leave_cluster() {
  detail::g_may_leave = true;
}

}  // namespace mos::home
