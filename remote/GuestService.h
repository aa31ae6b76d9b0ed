#pragma once
// The daemon's part in running bodies on other nodes (mosrun -r).
//
// Home side: a local mosrun asks over the control socket
// (RemoteRunRequest); the daemon checks the node (unknown: ENOENT; this
// node: "local"; link down: EHOSTUNREACH), sends a GuestRequest over the
// peer link and answers with where the guest supervisor listens, or the
// target's refusal, or ETIMEDOUT after tuning::kGuestStartTimeout.
//
// Target side: a GuestRequest from a peer starts a guest supervisor
// (`mosguest`, next to `mosixd`) with a socketpair on its fd 3; it listens
// on this node's address and reports its port (GuestReady), which goes back
// as the GuestReply. The supervisor is detached from the daemon (forked
// twice): a daemon that stops or restarts leaves running bodies alone.
//
// All methods run on the io_context's thread. Bad frames from a peer or a
// local tool are answered with an error or dropped; they never stop the
// daemon.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/Asio.h"
#include "common/Config.h"
#include "common/ControlServer.h"
#include "common/LinkManager.h"
#include "common/guest.pb.h"

namespace mos::remote {

namespace tuning {
using namespace std::chrono_literals;
// From GuestRequest sent to GuestReply received: a guest supervisor starts
// in milliseconds; a node that takes longer is treated as not answering.
inline constexpr auto kGuestStartTimeout = 10s;
// The unprivileged user guest bodies run as (nobody/nogroup on Debian).
inline constexpr unsigned kGuestUid = 65534;
inline constexpr unsigned kGuestGid = 65534;
}  // namespace tuning

// A body of another home running here (its supervisor alive).
struct Guest {
  pid_t supervisor = 0;
  std::string home;            // the home node's name
  std::uint32_t home_pid = 0;  // the program's PID there
};

struct GuestCounters {
  std::uint64_t requested = 0;  // asked of other nodes by local mosruns
  std::uint64_t started = 0;    // guest supervisors started here
  std::uint64_t refused = 0;    // requests from peers refused here
};

class GuestService {
 public:
  // `guest_binary`: the mosguest program to start for incoming bodies.
  GuestService(asio::io_context& io, const common::Config& config, common::LinkManager& links,
               std::filesystem::path guest_binary);
  void register_control(common::ControlServer& control);
  const GuestCounters& counters() const { return counters_; }

  // mosctl block: requests for new guests are refused (EAGAIN, saying so);
  // the bodies already here stay.
  void set_blocked(bool blocked);
  // A move chosen by another home's placement loop (GuestRequest.automatic)
  // is put to `check(seen_load, rss)` first: a non-empty answer refuses it
  // (EAGAIN) with that reason (mosixd: policy::admit on our own record).
  using Admission = std::function<std::string(double seen_load, std::uint64_t rss)>;
  void set_admission(Admission check) { admission_ = std::move(check); }
  bool blocked() const { return blocked_; }
  // The guests running here now. Kept in files under the daemon's run
  // directory (guest-list/SUPERVISOR_PID), so a restarted daemon still
  // knows the guests its predecessor took; a supervisor that is gone is
  // dropped from the list.
  std::vector<Guest> guests() const;
  // mosctl expel: blocks, and asks every guest's home (GuestLeave) to take
  // its body away. Returns how many homes were asked.
  std::size_t expel(const std::string& why);

 private:
  struct Waiter;
  asio::awaitable<void> on_remote_run(common::ControlConnection& c, const common::Frame& f);
  void on_guest_request(const std::string& peer, const common::Frame& f);
  void on_guest_reply(const std::string& peer, const common::Frame& f);
  asio::awaitable<void> start_guest(std::string peer, wire::GuestRequest req);
  asio::awaitable<wire::GuestReply> launch_guest(std::string peer, wire::GuestRequest req);
  wire::GuestReply refusal(const std::string& peer, std::uint64_t id, int errno_code,
                           const std::string& why);

  asio::io_context& io_;
  const common::Config& config_;
  common::LinkManager& links_;
  std::filesystem::path guest_binary_;
  std::map<std::uint64_t, std::shared_ptr<Waiter>> waiting_;
  std::uint64_t next_id_ = 1;
  GuestCounters counters_;
  bool blocked_ = false;
  Admission admission_;
  std::filesystem::path registry_;
};

}  // namespace mos::remote
