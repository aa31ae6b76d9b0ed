#pragma once
// Processes: running a command and collecting its output, asking after a
// process by pid, stopping one within a bound, starting a daemon inside other
// namespaces and cgroups, and the duty of a PID 1 (reaping orphans).
//
// The spawn functions fork: call them from a single-threaded process.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mos::common {

class NamespaceSet;

// The shell's convention: exit status as is, death by signal N as 128+N.
int exit_code_from_wait_status(int status);

struct CommandResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr, interleaved as written
};
// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null and waits
// for it. After `timeout` the command is SIGKILLed and that is an error; so is
// failing to start it. A non-zero exit is not an error here.
std::expected<CommandResult, std::string> run_command(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
// As run_command, and a non-zero exit is an error quoting the command and its
// output. Returns the output.
std::expected<std::string, std::string> run_checked(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
std::optional<std::filesystem::path> find_executable(std::string_view name);

// From /proc/PID/stat; ppid is as seen from our PID namespace (0 if the
// parent is outside it).
struct ProcessStat {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_time = 0;  // clock ticks after boot
  std::string comm;
};
std::optional<ProcessStat> read_process_stat(pid_t pid);
std::vector<std::string> read_cmdline(pid_t pid);
std::vector<pid_t> list_pids();
// Exists and has not exited (a zombie has exited).
bool process_alive(pid_t pid);
// Waits until `pid` has exited; false if it still runs after `timeout`. Works
// for processes that are not our children.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

enum class StopOutcome { kNotRunning, kExited, kKilled, kStuck };
// SIGTERM, up to `grace` for it to exit, then SIGKILL and a short wait.
StopOutcome stop_process(pid_t pid, std::chrono::milliseconds grace);

struct DaemonSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  // Borrowed descriptors for the daemon's standard streams; -1 = /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<std::filesystem::path> cgroups;  // joined first
  const NamespaceSet* namespaces = nullptr;    // then entered
  std::filesystem::path cwd = "/";             // inside the namespaces
  std::chrono::milliseconds timeout{10000};
};
// Starts a daemon in a session of its own. It is not our child: it is forked
// from inside the target PID namespace (if any) and orphaned there, so the
// init of that namespace becomes its parent and reaps it. Returns its pid as
// seen from our PID namespace once execve succeeded.
std::expected<pid_t, std::string> spawn_daemon(const DaemonSpec& spec);

// Runs argv in the foreground inside `cgroups` and `namespaces`, the way
// nsenter(1) does: the caller itself joins them and never leaves them again
// (so call this last), then forks so that a PID namespace applies, and waits.
// The command inherits our standard streams and environment, and our working
// directory if that exists inside. Signals other processes send us are passed
// on to it; the terminal's own reach it through the process group anyway.
// Returns the shell-style exit code (127: not found, 126: cannot run it); an
// error only if the cgroups or namespaces could not be entered.
std::expected<int, std::string> run_inside(const NamespaceSet& namespaces,
                                           const std::vector<std::filesystem::path>& cgroups,
                                           std::vector<std::string> argv);

// The main loop of PID 1 of a PID namespace: reaps every child that exits
// and ignores signals sent from inside the namespace. SIGTERM, SIGINT or
// SIGHUP from outside (the sender is invisible in the namespace) shuts down:
// SIGTERM to everything inside, up to `shutdown_grace` for it to exit, then
// exit, which makes the kernel SIGKILL whatever is left.
[[noreturn]] void run_as_reaper_init(std::chrono::milliseconds shutdown_grace);

}  // namespace mos::common
