#pragma once
// Linux namespaces: holding another process's namespaces and entering them,
// iproute2's named network namespaces (/run/netns/NAME), creating sockets in
// a foreign network namespace, the mounts a fresh mount namespace needs, and
// starting the init (PID 1) of a new set of namespaces.
//
// Everything here must be called from a single-threaded process: setns(2)
// refuses to move a multithreaded caller into a mount namespace, and the
// spawn functions fork.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/UniqueFd.h"

namespace mos::common {

enum class Ns { kUser, kMount, kUts, kIpc, kNet, kPid, kCgroup, kTime };

// The name under /proc/PID/ns/ ("mnt", "net", ...) and the CLONE_NEW* flag.
std::string_view ns_proc_name(Ns kind);
int ns_clone_flag(Ns kind);

// Identity of one namespace: the device and inode of its nsfs file.
struct NsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NsId&) const = default;
};
std::optional<NsId> ns_id_of(const std::filesystem::path& nsfs_file);
std::optional<NsId> ns_id_of(pid_t pid, Ns kind);
// Every process (pid in our PID namespace) whose `kind` namespace is `id`.
std::vector<pid_t> pids_in_namespace(const NsId& id, Ns kind);

// Open handles on some namespaces of one process. Once opened they stay valid
// even if that process dies, so entering them cannot race with PID reuse.
class NamespaceSet {
 public:
  // Opens /proc/PID/ns/<kind> for every kind; fails if the process is gone.
  static std::expected<NamespaceSet, std::string> open_of(pid_t pid,
                                                          std::initializer_list<Ns> kinds);
  void add(Ns kind, UniqueFd fd);
  bool empty() const { return fds_.empty(); }

  // setns(2) into every held namespace: user first and mount last, so that
  // the mount namespace's permission checks see the final credentials. A PID
  // namespace applies to children forked afterwards, not to the caller. After
  // the mount namespace the cwd is that namespace's root: chdir afterwards.
  std::expected<void, std::string> enter() const;

 private:
  std::vector<std::pair<Ns, UniqueFd>> fds_;
};

// iproute2's convention: a named network namespace is a bind mount of its
// nsfs file at /run/netns/NAME (`ip netns add NAME` creates one).
std::filesystem::path named_netns_path(std::string_view name);
std::expected<UniqueFd, std::string> open_named_netns(std::string_view name);
// Names under /run/netns that start with `prefix`, sorted.
std::vector<std::string> list_named_netns(std::string_view prefix);

// Creates a socket that lives in network namespace `netns` (a socket stays in
// the namespace it was created in), then returns the caller to the namespace
// it was in before.
std::expected<UniqueFd, std::string> socket_in_netns(const UniqueFd& netns, int domain, int type);

// Mount plumbing, for a process that already is in a mount namespace of its
// own (otherwise these change the host's mounts).
std::expected<void, std::string> make_mounts_private();
std::expected<void, std::string> bind_mount(const std::filesystem::path& source,
                                            const std::filesystem::path& target);
std::expected<void, std::string> mount_tmpfs(const std::filesystem::path& target,
                                             std::string_view options);
// A procfs for the caller's active PID namespace: must run inside it (as its
// PID 1 or a descendant), not in the process that unshared it.
std::expected<void, std::string> mount_proc(const std::filesystem::path& target);
// umount2(MNT_DETACH); a path that is not a mount point is not an error.
void detach_mount(const std::filesystem::path& target);

// Starting PID 1 of new namespaces.
// Makes the caller's children's time namespace a new one whose
// CLOCK_MONOTONIC and CLOCK_BOOTTIME run these many nanoseconds ahead of
// the kernel's (negative: behind); before any process enters it.
std::expected<void, std::string> new_time_namespace_for_children(std::int64_t monotonic_ns,
                                                                 std::int64_t boottime_ns);

struct NamespaceInitSpec {
  // Joined before the new namespaces are made (e.g. an existing named network
  // namespace), so the init and all its descendants are in them.
  std::vector<std::pair<Ns, UniqueFd>> join;
  // Cgroup directories the init is put in before anything else; descendants
  // inherit them.
  std::vector<std::filesystem::path> cgroups;
  // New namespaces; must include kPid (the init is PID 1 of it).
  std::vector<Ns> create;
  // If set, also a time namespace whose CLOCK_MONOTONIC and CLOCK_BOOTTIME
  // run ahead of the kernel's by this much (a node whose clocks differ,
  // as another machine's would).
  std::optional<std::int64_t> clock_offset_s;
  // Runs as PID 1 inside the new namespaces before execve: mounts, hostname.
  // An error aborts the start and is returned by spawn_namespace_init.
  std::function<std::expected<void, std::string>()> setup;
  // What PID 1 becomes. It runs in a session of its own with /dev/null as
  // stdin, stdout and stderr, cwd "/", and must reap orphans.
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{10000};
};

// Returns the init's pid as seen from the caller's PID namespace once it has
// passed `setup` and execve. The init is not our child: it is reparented to
// our PID namespace's reaper, and lives until it is killed.
std::expected<pid_t, std::string> spawn_namespace_init(NamespaceInitSpec spec);

}  // namespace mos::common
