// The dump and the restore without daemons: a forked program with state in
// every place a migration must carry (patterned memory, a grown heap, a
// handler on an altstack, a pending signal, a blocked mask, SSE/AVX
// registers, a native call it is blocked in) is frozen, its image streamed
// over a socketpair into a second forked process, which then runs on as the
// first and checks everything. Both come from this test's own image, so the
// new process's areas sit exactly where the image's go: the restore must
// clear them first.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/FramedChannel.h"
#include "common/Log.h"
#include "remote/detail/Image.h"
#include "remote/detail/PageRoad.h"

using namespace mos;
using namespace mos::remote::detail;

namespace {

volatile sig_atomic_t g_usr2 = 0;
volatile std::uintptr_t g_on_altstack = 0;
char g_altstack[64 << 10];

void on_usr2(int) {
  char here;
  g_on_altstack = (&here >= g_altstack && &here < g_altstack + sizeof g_altstack) ? 1 : 2;
  g_usr2 = 1;
}

std::uint64_t pattern(std::uint64_t i) {
  return i * 0x9e3779b97f4a7c15ull ^ (i >> 7);
}

// The program: sets its state up, says ready, blocks reading `ctl`, then
// checks and reports on `out` ("PASS" or what failed).
[[noreturn]] void program(int ready, int ctl, int out) {
  constexpr std::size_t kWords = (24 << 20) / 8;
  auto* big = static_cast<std::uint64_t*>(
      ::mmap(nullptr, kWords * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  for (std::size_t i = 0; i < kWords; ++i) {  // every third page: the rest are holes
    if ((i / 512) % 3 == 0) {
      big[i] = pattern(i);
    }
  }
  ::mprotect(big + kWords / 2, 4096, PROT_READ);  // a read-only page inside
  auto* heap = static_cast<std::uint64_t*>(std::malloc(100 << 10));
  for (int i = 0; i < (100 << 10) / 8; ++i) {
    heap[i] = pattern(i + 7);
  }
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  ::sigaction(SIGUSR2, &sa, nullptr);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::sigprocmask(SIG_BLOCK, &block, nullptr);
  ::raise(SIGUSR2);  // pending across the move
  double x = 1.0;
  for (int i = 0; i < 1000; ++i) {
    x = x * 1.000001 + 0.5;
  }
  const double expect = x;
  alignas(32) double lanes[4] = {x, 2 * x, 3 * x, 4 * x};
  double back[4];
  char b = 'r';
  (void)!::write(ready, &b, 1);
  // ymm0 across the blocked read (a native call: the freeze interrupts it
  // and the restored body issues it again).
  asm volatile("vmovupd (%0), %%ymm7" ::"r"(lanes) : "xmm7");
  char got = 0;
  const ssize_t n = ::read(ctl, &got, 1);
  asm volatile("vmovupd %%ymm7, (%0)" ::"r"(back) : "memory");
  const char* fail = nullptr;
  if (n != 1 || got != 'g') {
    fail = "the blocked read";
  }
  for (std::size_t i = 0; i < kWords && !fail; ++i) {
    if (big[i] != ((i / 512) % 3 == 0 ? pattern(i) : 0)) {
      fail = "patterned memory";
    }
  }
  for (int i = 0; i < (100 << 10) / 8 && !fail; ++i) {
    if (heap[i] != pattern(i + 7)) {
      fail = "heap";
    }
  }
  if (!fail && std::memcmp(lanes, back, sizeof back) != 0) {
    fail = "ymm7";
  }
  if (!fail && x != expect) {
    fail = "x87/SSE value";
  }
  if (!fail && g_usr2) {
    fail = "SIGUSR2 ran while blocked";
  }
  ::sigprocmask(SIG_UNBLOCK, &block, nullptr);
  if (!fail && (!g_usr2 || g_on_altstack != 1)) {
    fail = g_usr2 ? "handler not on the altstack" : "pending SIGUSR2 lost";
  }
  void* more = std::malloc(1 << 20);  // brk (or mmap) still works
  if (!fail && more == nullptr) {
    fail = "malloc after the move";
  }
  const char* text = fail ? fail : "PASS";
  (void)!::write(out, text, std::strlen(text));
  ::_exit(0);
}

// `slots`: 0 for the pages on the channel, else a socket page road of that
// many slots beside it (the two-road ordering of an RDMA move).
void move_once(std::uint32_t slots) {
  common::init_log_from_env();
  int ready[2], ctl[2], out[2], link[2], road[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(ctl) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, road) == 0);
  const pid_t src = ::fork();
  if (src == 0) {
    program(ready[1], ctl[0], out[1]);
  }
  const pid_t dst = ::fork();
  if (dst == 0) {
    for (;;) {
      ::pause();
    }
  }
  // Whatever fails below, neither child outlives the test.
  struct Reaper {
    pid_t a, b;
    ~Reaper() {
      for (pid_t p : {a, b}) {
        if (::waitpid(p, nullptr, WNOHANG) == 0) {  // still ours and running
          ::kill(p, SIGKILL);
          ::waitpid(p, nullptr, 0);
        }
      }
    }
  } reaper{src, dst};
  char b = 0;
  REQUIRE(::read(ready[0], &b, 1) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // into its read
  Tracee::Pump none = [](int ms) {
    if (ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  };
  auto from = Tracee::seize(src);
  REQUIRE(from);
  REQUIRE(from->interrupt(std::chrono::seconds(5), none));
  auto image = dump_state(*from, none);
  REQUIRE_MESSAGE(image, (image ? "" : image.error()));
  CHECK(image->areas_size() > 5);

  auto to = Tracee::seize(dst);
  REQUIRE(to);
  REQUIRE(to->interrupt(std::chrono::seconds(5), none));
  common::FramedChannel tx{common::UniqueFd(link[0])};
  std::unique_ptr<PageRoad> tx_road, rx_road;
  common::UniqueFd road_tx(road[0]), road_rx(road[1]);
  if (slots != 0) {
    tx_road = make_socket_road(std::make_unique<common::FramedChannel>(std::move(road_tx)), slots);
    rx_road = make_socket_road(std::make_unique<common::FramedChannel>(std::move(road_rx)), slots);
    REQUIRE(tx_road);
    REQUIRE(rx_road);
  }
  PageSink sink(tx, tx_road.get());
  auto rx = std::make_unique<PageSource>(
      std::make_unique<common::FramedChannel>(common::UniqueFd(link[1])), std::move(rx_road));
  std::expected<PageStats, std::string> sent;
  std::thread sender([&] { sent = send_pages(*from, *image, sink); });
  auto restored = restore(*to, *image, *rx, none);
  rx.reset();  // (a sender still writing fails rather than waits)
  sender.join();
  REQUIRE_MESSAGE(sent, (sent ? "" : sent.error()));
  REQUIRE_MESSAGE(restored, (restored ? "" : restored.error()));
  CHECK(sent->holes >= (16u << 20));  // two thirds of the big area are zeros
  from->kill();
  to->detach();
  REQUIRE(::write(ctl[1], "g", 1) == 1);
  char text[128] = {};
  ::close(out[1]);
  const ssize_t n = ::read(out[0], text, sizeof text - 1);
  CHECK(std::string(text, n > 0 ? n : 0) == "PASS");
  int status = 0;
  CHECK(::waitpid(dst, &status, 0) == dst);
  CHECK(WIFEXITED(status));
  for (int fd : {ready[0], ready[1], ctl[0], ctl[1], out[0]}) {
    ::close(fd);
  }
}

}  // namespace

TEST_CASE("a frozen process is dumped and restored into another, and runs on") {
  move_once(0);
}

TEST_CASE("the same with the pages on a second road of 4 slots beside the channel") {
  move_once(4);
}
