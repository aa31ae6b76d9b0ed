#pragma once
// The supervisor's inside, shared by its three files: Supervisor.cc (the
// loop, forwarding and the dispatch of special calls), SupervisorTree.cc
// (forks, threads, stops: the members of a body tree), SupervisorFiles.cc
// (fd mirrors at home; a guest's exec, mmap and /proc views). See
// remote/Supervisor.h for what it does.

#include <linux/seccomp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "common/Files.h"
#include "common/FramedChannel.h"
#include "common/MsgType.h"
#include "common/UniqueFd.h"
#include "common/forward.pb.h"
#include "common/migrate.pb.h"
#include "remote/Sandbox.h"
#include "remote/Supervisor.h"
#include "remote/SyscallTable.h"
#include "remote/detail/FileCache.h"
#include "remote/detail/Image.h"
#include "remote/detail/Postcopy.h"
#include "remote/detail/Tracee.h"

namespace mos::remote::detail {

using common::MsgType;
// A whole /proc file, or "" when it cannot be read (the process is gone).
inline std::string read_proc(const std::string& path) {
  return common::read_text_file(path).value_or(std::string());
}

// pidfd_open of a thread rather than a process (Linux 6.9; O_EXCL's value).
constexpr unsigned kPidfdThread = 0x80;

// The kernel's restart code for a call cut short by a signal: the body's
// kernel restarts it or fails it with EINTR by the handler's SA_RESTART.
constexpr std::int64_t kErestartSys = 512;

// An Answer value meaning "already answered" (fork answers the body itself
// before it registers the child).
constexpr std::int64_t kAnswered = INT64_MIN;

// A forwarded call waiting for its deputy's reply.
struct Pending {
  seccomp_notif notif;
  const SyscallEntry* entry;
  std::uint64_t request_id;
};

// One body of the tree and its deputy.
struct Member {
  pid_t host_pid = -1;     // the body, as this supervisor sees it
  pid_t program_pid = -1;  // its deputy's PID: the program's PID
  common::UniqueFd pidfd;  // the body's
  common::UniqueFd deputy_pidfd;
  std::unique_ptr<common::FramedChannel> link;
  std::vector<int> hidden;  // the deputy's own fds
  int thread_link = -1;     // a thread's: its deputy thread's end (in `hidden` of its process)
  bool our_child = false;   // the first body is our child; the rest are its descendants
  // A thread of a body (clone with CLONE_THREAD, at home): its own deputy
  // thread and link; the process's PID and leader are those below.
  bool is_thread = false;
  pid_t process_pid = -1;       // the program's PID (= program_pid unless a thread)
  pid_t process_host_pid = -1;  // the thread group leader, as we see it
  bool bootstrapped = true;     // the first body starts by closing its listener copy
  bool link_gone = false;
  bool exited = false;        // BodyExited sent
  double runnable = 1.0;      // decayed share of usage reports that found it runnable
  bool same_pid = false;      // the body's PID in its namespace is program_pid
  bool exec_pending = false;  // an exec was let through; not yet known to have worked
  std::string exec_path;
  // The program's executable at home, for a body restored from an image
  // (its own /proc/PID/exe names the restoring process's): exec of
  // /proc/self/exe runs this.
  std::string exe;
  std::string exec_auxv;  // before the exec
  // A guest's fds that have a local copy in the body (a file it mapped):
  // closed natively too when the program closes them.
  std::set<int> local_fds;
  // A guest's job-control signal passed on by the deputy: until when to
  // look for the body's stop (it may first have to leave a forwarded call).
  int stop_signal = 0;
  std::chrono::steady_clock::time_point stop_deadline;
  // The forwarded call waiting for its reply (a body has one thread, so at
  // most one).
  std::optional<Pending> pending;
};

// Live migration's clock and limits: how long the source waits for the
// target's restore, and for the deputy's word after it (its own dial and
// resume take at most ~15 s).
using MigrationClock = std::chrono::steady_clock;
inline std::uint64_t micros_since(MigrationClock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(MigrationClock::now() - t).count());
}
constexpr auto kRestoreTimeout = std::chrono::seconds(60);
constexpr auto kCommitTimeout = std::chrono::seconds(30);

// Logs, once, which transport a migration's pages take and why.
// Which road a move's pages take and why: each move that was offered one,
// once per process for the channel (at home, where the log is the user's
// terminal, at debug level).
void log_page_road(int program, const std::string& node, bool daemon_log, const RoadOffer& offer,
                   const PageRoad* road, const std::string& why);

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions o) : opts_(std::move(o)) {}
  int run();

 private:
  struct Answer {
    bool cont = false;       // let the body's kernel run the call
    std::int64_t value = 0;  // else: >= 0 result, < 0 -errno
  };

  Answer handle(Member& m, const seccomp_notif& n);
  Answer forward(Member& m, const SyscallEntry& e, const seccomp_notif& n);
  Answer fork_body(Member& m, const seccomp_notif& n);
  Answer thread_body(Member& m, const seccomp_notif& n);
  pid_t continue_and_find_new(const seccomp_notif& n,
                              const std::function<std::vector<pid_t>()>& list);
  void notice(Member& m, const std::string& text);
  std::optional<Answer> proc_view(Member& m, const seccomp_notif& n);
  std::string unstage(std::string text) const;
  // The program's executable as its home knows it: the recorded path of a
  // restored body, else the body's own /proc/PID/exe unstaged ("" if gone).
  std::string program_exe(const Member& m) const;
  bool ask_deputy(Member& m, MsgType type, const google::protobuf::MessageLite& request,
                  MsgType reply_type, google::protobuf::MessageLite& reply);
  Answer guest_exec(Member& m, const seccomp_notif& n);
  Answer guest_mmap(Member& m, const seccomp_notif& n);
  bool install_local_copy(Member& m, const seccomp_notif& n, const detail::CachedFile& f, int fd);
  detail::FileCache::OtherFrame other_frames(Member& m) {
    return [this, &m](const common::Frame& f) { serve_link_frame(m, f); };
  }
  void report_stop(Member& m, int sig);
  // Live migration (SupervisorMigrate.cc; the modes' parts in
  // SupervisorModes.cc).
  void migrate_out(Member& m, const wire::Migrate& req);
  bool start_restored(Member& first);
  // What a pump does with the body's own notifications: answer them with
  // the restart (freezing), let them run (injected calls), or keep them
  // waiting (pre-copy: the body runs, but its calls wait for the move).
  enum class Hold { kFreeze, kInject, kHold };
  Tracee::Pump pump_for(pid_t pid, Member* frozen, Hold how);
  void take_notification(pid_t pid, Hold how);
  void fill_image(const Member& m, wire::MigrateImage& image) const;
  wire::MigrateMode choose_mode(const Member& m, wire::MigrateMode asked) const;
  struct Precopied {
    wire::MigrateImage image;  // the final one, sent
    PageStats stats;
    std::uint32_t rounds = 0;
    std::uint64_t precopy_us = 0;  // before the freeze
  };
  // Pre-copy from a frozen body `t` (registers `regs`) up to the end of its
  // pages, frozen again (t and regs then the new freeze's). On an error
  // `running` says whether the body runs (it was resumed for the rounds)
  // or is still frozen, and `sent_any` whether the target has been sent
  // anything yet (if not, stop-and-copy may go on instead).
  std::expected<Precopied, std::string> precopy(Member& m, std::optional<Tracee>& t,
                                                user_regs_struct& regs, PageSink& out,
                                                bool& running, bool& sent_any);
  // Post-copy at the source, after the image and the working set: the
  // target's answer, the deputy's commit, the target's requests and the push
  // of every page. Returns "" once the target has them all, or why not;
  // `resume_here`: the body never ran there (resume it here); `told`:
  // MigrateDone went to the deputy.
  std::string postcopy_serve(Member& m, Tracee& t, PageSink& sink, const wire::MigrateImage& image,
                             const Ranges& sent, wire::MigrateDone& done, bool& resume_here,
                             bool& told);
  bool hold_for_pager(const seccomp_notif& n);
  void pager_finished();
  void report_usage();
  bool check_stops();
  bool guest() const { return opts_.guest.has_value(); }
  void complete_forward(Member& m, const wire::SyscallReply& reply);
  void settle_exec(Member& m);
  void respond(const seccomp_notif& n, const Answer& a);
  static bool waits_with_sigmask(const seccomp_notif& n);
  bool sigchld_interrupts(const Member& m) const;
  bool serve_link_frame(Member& m, const common::Frame& f);
  void mirror_fd(Member& m, const seccomp_notif& n, int fd);
  void mirror_results(Member& m, const seccomp_notif& n, std::int64_t ret);
  bool cloexec_at_deputy(const Member& m, int fd) const;
  void body_exited(Member& m, int status);
  void reap_dead_bodies();
  Member* find_member(pid_t host_pid);
  static void kill_body(Member& m) {
    ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), SIGKILL, nullptr, 0);
  }

  SupervisorOptions opts_;
  common::UniqueFd listener_;
  std::optional<BodyNamespace> ns_;
  std::map<pid_t, Member> members_;    // by host pid
  std::map<pid_t, int> orphan_exits_;  // namespace PID -> status, from the init
  SupervisorStats stats_;
  std::optional<detail::FileCache> files_;  // a guest's
  std::uint64_t next_request_ = 1;
  // Notifications of other bodies taken while one was being frozen or
  // restored: served first by the loop.
  std::deque<seccomp_notif> deferred_;
  std::chrono::steady_clock::time_point last_usage_{};
  int first_status_ = 0;
  // Pre-copy: the migrating body's call, kept until its freeze.
  std::optional<seccomp_notif> held_notif_;
  // Post-copy at the target: the pages still coming, and the body's forks
  // held until they are in (a child would not get the missing ones).
  std::unique_ptr<Pager> pager_;
  std::deque<seccomp_notif> held_forks_;
};

}  // namespace mos::remote::detail
