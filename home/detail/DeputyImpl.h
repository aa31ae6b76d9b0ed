#pragma once
// The deputy's inside, shared by its three files: Deputy.cc (signals, the
// serving loop, set-up), DeputyTree.cc (forks, threads, files and /proc
// snapshots for the supervisor) and DeputyMigrate.cc (its part of a
// migration). See home/Deputy.h for what it does.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/FramedChannel.h"
#include "common/MsgType.h"
#include "common/forward.pb.h"
#include "common/migrate.pb.h"
#include "common/session.pb.h"
#include "home/Deputy.h"
#include "home/detail/DeputyControl.h"

namespace mos::home::detail {

using common::MsgType;

// The kernel's restart code: a forwarded call cut short by a signal we have
// passed on to the body. The body's kernel then restarts the call or fails
// it with EINTR by its handler's SA_RESTART flag, exactly as Linux would.
constexpr std::int64_t kErestartSys = 512;

extern int g_signal_pipe;
extern volatile sig_atomic_t g_interrupted;
extern volatile sig_atomic_t g_child_signal;
extern volatile sig_atomic_t g_kicked;
extern bool g_body_remote;
extern std::mutex g_thread_links_mu;
extern std::vector<int> g_thread_links;

void catch_sigchld(bool automatic);
void on_signal(int sig, siginfo_t* info, void*);
void pass_job_control_signals();
[[noreturn]] void fatal(const char* what);
int hide_fd(int fd);
void size_link_buffers(const int (&sv)[2]);
std::vector<int> open_fds();
bool contains(const std::vector<int>& v, int x);
[[noreturn]] void exit_like(int status);
bool is_thread_link(int fd);
void become_child_process();

class Deputy {
 public:
  explicit Deputy(const DeputySetup& s) : link_(common::UniqueFd(s.link_fd)), setup_(s) {}
  [[noreturn]] void serve();
  // A deputy thread: serves its body thread's calls on `link` until the
  // supervisor closes it (the body thread is gone). Signals are the main
  // thread's business; they are blocked here.
  static void serve_thread(int link, DeputySetup setup);

 private:
  bool pass_signals();  // true if a signal was passed on
  void drop_cloexec_fds();
  [[noreturn]] void body_lost(const std::string& why);

  void fork_child();
  // Live migration: the main thread's part (see detail/DeputyControl.h).
  void begin_migration(const detail::MigrateOrder& o);
  void finish_migration(const wire::MigrateDone& done);
  void flush_exiled();
  bool exile_ = false;  // the body is in flight: signals wait, calls restart
  void serve_during_call();
  std::deque<common::Frame> early_;  // came during a call, served after its reply
  std::vector<int> exiled_signals_;
  std::optional<detail::MigrateOrder> moving_;
  std::chrono::steady_clock::time_point moving_since_;
  void start_thread();
  void await_ack();
  bool hidden(int fd) const { return contains(setup_.hidden, fd) || is_thread_link(fd); }
  bool worker_ = false;  // a deputy thread: no signal pipe, no exit of its own
  void serve_file_fetch(const wire::FileFetch& what);
  void serve_snapshot(const wire::SnapshotFile& snap);
  wire::SyscallReply close_range_around_hidden(const wire::SyscallRequest& req);

  common::FramedChannel link_;
  DeputySetup setup_;  // a child deputy replaces its link and signal pipe
};

}  // namespace mos::home::detail
