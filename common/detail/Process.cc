#include "common/Process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/Assert.h"
#include "common/Cgroup.h"
#include "common/Files.h"
#include "common/Namespaces.h"
#include "common/UniqueFd.h"
#include "common/detail/SpawnReport.h"

namespace mos::common {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& a : argv) {
    out.push_back(a.data());
  }
  out.push_back(nullptr);
  return out;
}

std::string quote_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += fmt::format("{}{}", out.empty() ? "" : " ", a);
  }
  return out;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return status;
}

// Puts `fds` (-1 = /dev/null) on 0, 1, 2 without one dup2 clobbering a
// source another still needs. Returns false with errno set.
bool install_stdio(const int (&fds)[3]) {
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = fds[i] >= 0 ? ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10)
                          : ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (high[i] < 0) {
      return false;
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(high[i], i) < 0) {
      return false;
    }
    ::close(high[i]);
  }
  return true;
}

}  // namespace

int exit_code_from_wait_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return 255;
}

std::expected<CommandResult, std::string> run_command(const std::vector<std::string>& argv,
                                                      std::chrono::milliseconds timeout) {
  MOS_ASSERT(!argv.empty(), "empty argv");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return std::unexpected(errno_message("pipe", errno));
  }
  UniqueFd rd(p[0]);
  UniqueFd wr(p[1]);
  auto args = argv;
  auto cargv = c_argv(args);
  pid_t pid = ::fork();
  if (pid < 0) {
    return std::unexpected(errno_message("fork", errno));
  }
  if (pid == 0) {
    int fds[3] = {-1, wr.get(), wr.get()};
    if (!install_stdio(fds)) {
      ::_exit(127);
    }
    ::execvp(cargv[0], cargv.data());
    auto msg = errno_message(fmt::format("cannot run {}", argv[0]), errno);
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  wr.reset();
  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  bool eof = false;
  int status = 0;
  bool reaped = false;
  while (!eof) {
    pollfd pf{rd.get(), POLLIN, 0};
    int pr = ::poll(&pf, 1, 100);
    if (pr > 0) {
      char buf[4096];
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n > 0) {
        result.output.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || errno != EINTR) {
        eof = true;
      }
      continue;
    }
    // A daemonized grandchild may hold the pipe: once the command itself has
    // exited and nothing more is readable, its output is complete.
    if (pr == 0 && !reaped) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        reaped = true;
        // Whatever it wrote before exiting is in the pipe by now.
        for (;;) {
          pollfd drain{rd.get(), POLLIN, 0};
          char buf[4096];
          ssize_t n = ::poll(&drain, 1, 0) > 0 ? ::read(rd.get(), buf, sizeof buf) : 0;
          if (n <= 0) {
            break;
          }
          result.output.append(buf, static_cast<std::size_t>(n));
        }
        break;
      }
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      wait_child(pid);
      return std::unexpected(fmt::format("{}: still running after {} ms, killed",
                                         quote_command(argv), timeout.count()));
    }
  }
  if (!reaped) {
    status = wait_child(pid);
  }
  result.exit_code = exit_code_from_wait_status(status);
  return result;
}

std::expected<std::string, std::string> run_checked(const std::vector<std::string>& argv,
                                                    std::chrono::milliseconds timeout) {
  auto r = run_command(argv, timeout);
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->exit_code != 0) {
    std::string out = r->output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
      out.pop_back();
    }
    return std::unexpected(fmt::format("`{}` failed (exit {}){}{}", quote_command(argv),
                                       r->exit_code, out.empty() ? "" : ": ", out));
  }
  return std::move(r->output);
}

std::optional<std::filesystem::path> find_executable(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string dirs =
      path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<ProcessStat> read_process_stat(pid_t pid) {
  auto text = read_text_file(fmt::format("/proc/{}/stat", pid));
  if (!text) {
    return std::nullopt;
  }
  // comm may hold spaces and parentheses: it ends at the last ')'.
  auto open = text->find('(');
  auto close = text->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return std::nullopt;
  }
  ProcessStat st;
  st.comm = text->substr(open + 1, close - open - 1);
  std::istringstream rest(text->substr(close + 1));
  // Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice num_threads
  // itrealvalue starttime.
  std::string skip;
  rest >> st.state >> st.ppid;
  for (int i = 0; i < 17 && rest; ++i) {
    rest >> skip;
  }
  rest >> st.start_time;
  if (!rest) {
    return std::nullopt;
  }
  return st;
}

std::vector<std::string> read_cmdline(pid_t pid) {
  std::vector<std::string> out;
  auto text = read_text_file(fmt::format("/proc/{}/cmdline", pid));
  if (!text) {
    return out;
  }
  std::size_t start = 0;
  while (start < text->size()) {
    auto end = text->find('\0', start);
    if (end == std::string::npos) {
      end = text->size();
    }
    out.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<pid_t> list_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid > 0 && *end == '\0') {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return out;
}

bool process_alive(pid_t pid) {
  auto st = read_process_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
}

bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    if (errno == ESRCH) {
      return true;
    }
    // No pidfd (old kernel): poll /proc.
    const auto deadline = Clock::now() + timeout;
    while (process_alive(pid)) {
      if (Clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd pf{pidfd.get(), POLLIN, 0};
    int pr = ::poll(&pf, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (pr > 0) {
      return true;
    }
    if (pr == 0 || (pr < 0 && errno != EINTR)) {
      return !process_alive(pid);
    }
  }
}

StopOutcome stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (!process_alive(pid)) {
    return StopOutcome::kNotRunning;
  }
  ::kill(pid, SIGTERM);
  if (wait_for_exit(pid, grace)) {
    return StopOutcome::kExited;
  }
  ::kill(pid, SIGKILL);
  return wait_for_exit(pid, std::chrono::seconds(5)) ? StopOutcome::kKilled : StopOutcome::kStuck;
}

std::expected<pid_t, std::string> spawn_daemon(const DaemonSpec& spec) {
  MOS_ASSERT(!spec.argv.empty(), "empty argv");
  auto report = detail::SpawnReport::create();
  if (!report) {
    return std::unexpected(report.error());
  }
  auto args = spec.argv;
  auto cargv = c_argv(args);
  pid_t outer = ::fork();
  if (outer < 0) {
    return std::unexpected(errno_message("fork", errno));
  }
  if (outer == 0) {
    if (auto r = cgroup_join_all(spec.cgroups); !r) {
      report->report_error(r.error());
      ::_exit(127);
    }
    if (spec.namespaces != nullptr) {
      if (auto r = spec.namespaces->enter(); !r) {
        report->report_error(r.error());
        ::_exit(127);
      }
    }
    if (::chdir(spec.cwd.c_str()) != 0) {
      report->fail(fmt::format("chdir {}", spec.cwd.string()), errno);
    }
    // First fork: lands inside the target PID namespace. Second fork: its
    // parent is then inside too, so when that parent exits the kernel hands
    // the daemon to the namespace's init (an orphan whose parent was outside
    // would go to our own reaper instead).
    pid_t mid = ::fork();
    if (mid < 0) {
      report->fail("fork", errno);
    }
    if (mid > 0) {
      ::_exit(exit_code_from_wait_status(wait_child(mid)));
    }
    pid_t daemon = ::fork();
    if (daemon < 0) {
      report->fail("fork", errno);
    }
    if (daemon > 0) {
      ::_exit(0);
    }
    ::setsid();
    int fds[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
    if (!install_stdio(fds)) {
      report->fail("set up standard streams", errno);
    }
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    report->report_started();
    ::execvp(cargv[0], cargv.data());
    report->fail(fmt::format("execvp {}", spec.argv[0]), errno);
  }
  report->close_writer();
  wait_child(outer);
  return report->collect(spec.timeout);
}

namespace {
volatile sig_atomic_t g_foreground_child = 0;
}  // namespace

std::expected<int, std::string> run_inside(const NamespaceSet& namespaces,
                                           const std::vector<std::filesystem::path>& cgroups,
                                           std::vector<std::string> argv) {
  MOS_ASSERT(!argv.empty(), "empty argv");
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  for (const auto& dir : cgroups) {
    if (auto r = cgroup_join(dir); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = namespaces.enter(); !r) {
    return std::unexpected(r.error());
  }
  if (ec || ::chdir(cwd.c_str()) != 0) {
    (void)!::chdir("/");
  }
  struct sigaction sa {};
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sa.sa_sigaction = [](int sig, siginfo_t* si, void*) {
    // si_code > 0: from the kernel (e.g. the terminal), which signalled the
    // whole process group, the command included.
    if (g_foreground_child > 0 && si->si_code <= 0) {
      ::kill(g_foreground_child, sig);
    }
  };
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) {
    ::sigaction(sig, &sa, nullptr);
  }
  auto cargv = c_argv(argv);
  pid_t child = ::fork();
  if (child < 0) {
    return std::unexpected(errno_message("fork", errno));
  }
  if (child == 0) {
    ::execvp(cargv[0], cargv.data());
    int err = errno;
    auto msg = errno_message(argv[0], err) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(err == ENOENT ? 127 : 126);
  }
  g_foreground_child = child;
  int status = wait_child(child);
  g_foreground_child = 0;
  if (status < 0) {
    return std::unexpected(errno_message("waitpid", errno));
  }
  return exit_code_from_wait_status(status);
}

void run_as_reaper_init(std::chrono::milliseconds shutdown_grace) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  auto reap = [] {
    for (;;) {
      pid_t w = ::waitpid(-1, nullptr, WNOHANG);
      if (w <= 0 && !(w < 0 && errno == EINTR)) {
        return;
      }
    }
  };
  reap();
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&all, &si);
    if (sig < 0) {
      continue;
    }
    if (sig == SIGCHLD) {
      reap();
      continue;
    }
    // Sent by a process (si_code <= 0) that our namespace cannot see.
    bool from_outside = si.si_code <= 0 && si.si_pid == 0;
    if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && from_outside) {
      break;
    }
  }
  ::kill(-1, SIGTERM);
  const auto deadline = Clock::now() + shutdown_grace;
  while (Clock::now() < deadline) {
    pid_t w = ::waitpid(-1, nullptr, WNOHANG);
    if (w < 0 && errno == ECHILD) {
      break;
    }
    if (w <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ::_exit(0);
}

}  // namespace mos::common
