// Unit tests for the process and file plumbing under moscluster (and, later,
// the sandbox): commands and their exit codes, pid files and /proc parsing,
// waiting for processes that are not our children, daemons that report their
// start (or their failure) through the spawn channel, atomic state files, and
// the cgroup path arithmetic. Nothing here needs root.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "common/Cgroup.h"
#include "common/Files.h"
#include "common/Process.h"

namespace fs = std::filesystem;
using namespace mos::common;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mos-process-test.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("exit codes follow the shell's convention") {
  auto ok = run_command({"sh", "-c", "exit 7"});
  REQUIRE(ok);
  CHECK(ok->exit_code == 7);
  auto killed = run_command({"sh", "-c", "kill -TERM $$"});
  REQUIRE(killed);
  CHECK(killed->exit_code == 128 + SIGTERM);
  auto missing = run_command({"/nonexistent/mos-no-such-command"});
  REQUIRE(missing);
  CHECK(missing->exit_code == 127);
}

TEST_CASE("run_command collects stdout and stderr; run_checked quotes them on failure") {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2"});
  REQUIRE(r);
  CHECK(r->output == "out\nerr\n");
  auto bad = run_checked({"sh", "-c", "echo it broke; exit 3"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("exit 3") != std::string::npos);
  CHECK(bad.error().find("it broke") != std::string::npos);
}

TEST_CASE("run_command kills a command that outlives its timeout") {
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sleep", "30"}, 200ms);
  CHECK_FALSE(r);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("run_command returns once the command exits, even if a grandchild keeps the pipe") {
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "echo started; sleep 5 & exit 0"}, 10s);
  REQUIRE(r);
  CHECK(r->output == "started\n");
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}

TEST_CASE("read_process_stat parses comm with spaces and parentheses") {
  auto self = read_process_stat(::getpid());
  REQUIRE(self);
  CHECK(self->ppid == ::getppid());
  CHECK(self->start_time > 0);
  CHECK(self->state == 'R');
  CHECK_FALSE(read_process_stat(-1));

  // comm comes from the name the program was run by: a symlink can make it
  // "a) b (c", which a naive split of /proc/PID/stat at spaces gets wrong.
  TempDir dir;
  auto link = dir.path / "a) b (c";
  auto sleep = find_executable("sleep");
  REQUIRE(sleep);
  fs::create_symlink(*sleep, link);
  DaemonSpec spec;
  spec.argv = {link.string(), "30"};
  auto pid = spawn_daemon(spec);
  REQUIRE(pid);
  auto st = read_process_stat(*pid);
  REQUIRE(st);
  CHECK(st->comm == "a) b (c");
  CHECK(process_alive(*pid));
  CHECK(st->start_time >= self->start_time);
  CHECK(stop_process(*pid, 5s) == StopOutcome::kExited);
}

TEST_CASE("wait_for_exit and stop_process work on processes that are not our children") {
  // A daemon is reparented away from us: exactly the case pidfd waiting is for.
  DaemonSpec spec;
  spec.argv = {"sleep", "30"};
  auto pid = spawn_daemon(spec);
  REQUIRE(pid);
  CHECK(process_alive(*pid));
  auto st = read_process_stat(*pid);
  REQUIRE(st);
  CHECK(st->ppid != ::getpid());
  CHECK(read_cmdline(*pid) == std::vector<std::string>{"sleep", "30"});
  CHECK_FALSE(wait_for_exit(*pid, 50ms));
  CHECK(stop_process(*pid, 5s) == StopOutcome::kExited);
  CHECK(stop_process(*pid, 5s) == StopOutcome::kNotRunning);
}

TEST_CASE("stop_process escalates to SIGKILL when SIGTERM is ignored") {
  DaemonSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; while :; do sleep 1; done"};
  auto pid = spawn_daemon(spec);
  REQUIRE(pid);
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  CHECK(stop_process(*pid, 200ms) == StopOutcome::kKilled);
}

TEST_CASE("spawn_daemon reports a failed execve and redirects output") {
  TempDir dir;
  DaemonSpec bad;
  bad.argv = {"/nonexistent/mos-daemon"};
  auto r = spawn_daemon(bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("/nonexistent/mos-daemon") != std::string::npos);

  auto log = dir.path / "log";
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  DaemonSpec spec;
  spec.argv = {"sh", "-c", "echo to-log; echo to-err >&2; pwd"};
  spec.stdout_fd = fd;
  spec.stderr_fd = fd;
  spec.cwd = dir.path;
  auto pid = spawn_daemon(spec);
  ::close(fd);
  REQUIRE(pid);
  CHECK(wait_for_exit(*pid, 5s));
  // The daemon's parent reaps it; the output is complete once it has exited.
  std::this_thread::sleep_for(50ms);
  auto text = read_text_file(log);
  REQUIRE(text);
  CHECK(*text == fmt::format("to-log\nto-err\n{}\n", dir.path.string()));
}

TEST_CASE("write_text_file replaces atomically with the requested mode") {
  TempDir dir;
  auto f = dir.path / "secret";
  ::umask(022);
  REQUIRE(write_text_file(f, "one\n", 0600));
  REQUIRE(write_text_file(f, "two\n", 0600));
  CHECK(read_text_file(f).value() == "two\n");
  struct stat st;
  REQUIRE(::stat(f.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(fs::directory_iterator(dir.path) != fs::directory_iterator());
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path)) {
    ++entries;
  }
  CHECK(entries == 1);  // no temporary left behind
  CHECK_FALSE(read_text_file(dir.path / "missing"));
}

TEST_CASE("random_hex gives fresh lowercase hex of the asked length") {
  auto a = random_hex(32);
  auto b = random_hex(32);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->size() == 64);
  CHECK(*a != *b);
  CHECK(a->find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("cgroup_dir maps a cgroup path into its hierarchy's mount") {
  CgroupHierarchy root{CgroupVersion::kV1, {"rw", "cpu"}, "/sys/fs/cgroup/cpu", "/"};
  CHECK(cgroup_dir(root, "/") == "/sys/fs/cgroup/cpu");
  CHECK(cgroup_dir(root, "/mosix/node1") == "/sys/fs/cgroup/cpu/mosix/node1");
  CHECK(root.has("cpu"));
  CHECK_FALSE(root.has("cpuacct"));
  // A container that sees only its own subtree mounted at the mount point.
  CgroupHierarchy sub{CgroupVersion::kV2, {}, "/sys/fs/cgroup", "/docker/abc"};
  CHECK(cgroup_dir(sub, "/docker/abc/mosix/node2") == "/sys/fs/cgroup/mosix/node2");
}

TEST_CASE("our own cgroups can be found") {
  auto all = list_cgroup_hierarchies();
  if (all.empty()) {
    MESSAGE("no cgroup hierarchy mounted; skipped");
    return;
  }
  auto dirs = cgroup_dirs_of(0);
  CHECK_FALSE(dirs.empty());
  for (const auto& d : dirs) {
    CHECK(fs::is_directory(d));
  }
}
