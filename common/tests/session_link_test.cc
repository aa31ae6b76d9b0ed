// The deputy <-> guest supervisor session: the token proof over real
// loopback sockets (a right token admitted, a wrong one, a silent or
// garbage-sending connection refused while the wait goes on).

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/SessionLink.h"

using namespace mos;
using namespace mos::common;
using namespace std::chrono_literals;

namespace {

const std::string kToken(kSessionTokenBytes, 't');

// A deputy that dials `port` and proves `token` (on its own thread).
std::thread deputy(std::uint16_t port, std::string token, std::int32_t pid, bool first) {
  return std::thread([=] {
    auto fd = dial_session("127.0.0.1", port, 2000ms);
    REQUIRE(fd);
    FramedChannel link(std::move(*fd));
    (void)prove_session(link, token, pid, first);
    // Hold the connection until the supervisor side has judged it.
    std::this_thread::sleep_for(300ms);
  });
}

}  // namespace

TEST_CASE("a deputy with the session token is admitted, with its PID") {
  std::uint16_t port = 0;
  auto l = listen_session("127.0.0.1", port);
  REQUIRE(l);
  CHECK(port != 0);
  auto t = deputy(port, kToken, 4242, true);
  auto got = accept_deputy(l->get(), kToken, 2000ms);
  t.join();
  REQUIRE(got);
  CHECK(got->hello.pid() == 4242);
  CHECK(got->hello.first());
  CHECK(got->link != nullptr);
}

TEST_CASE(
    "a wrong token, a silent peer and garbage are refused, and the right deputy after them gets "
    "in") {
  std::uint16_t port = 0;
  auto l = listen_session("127.0.0.1", port);
  REQUIRE(l);
  auto wrong = deputy(port, std::string(kSessionTokenBytes, 'x'), 1, true);
  auto got = accept_deputy(l->get(), kToken, 800ms);
  wrong.join();
  CHECK_FALSE(got);
  CHECK(got.error().find("proof") != std::string::npos);

  // A silent connection, then one sending garbage, then the real deputy:
  // the wait goes on past the bad ones.
  auto silent = dial_session("127.0.0.1", port, 1000ms);
  REQUIRE(silent);
  auto noisy = dial_session("127.0.0.1", port, 1000ms);
  REQUIRE(noisy);
  const char junk[] = "GET / HTTP/1.1\r\n\r\n";
  CHECK(::send(noisy->get(), junk, sizeof junk, MSG_NOSIGNAL) > 0);
  // (The silent one holds the queue until it goes: a deputy's own wait for
  // its challenge is as long as the supervisor's wait for a hello.)
  std::thread closer([&] {
    std::this_thread::sleep_for(500ms);
    silent->reset();
  });
  auto good = deputy(port, kToken, 77, false);
  auto admitted = accept_deputy(l->get(), kToken, 8000ms);
  good.join();
  closer.join();
  REQUIRE(admitted);
  CHECK(admitted->hello.pid() == 77);
  CHECK_FALSE(admitted->hello.first());
}

TEST_CASE("a supervisor that never challenges: the deputy gives up, it does not hang") {
  std::uint16_t port = 0;
  auto l = listen_session("127.0.0.1", port);
  REQUIRE(l);
  auto fd = dial_session("127.0.0.1", port, 1000ms);
  REQUIRE(fd);
  FramedChannel link(std::move(*fd));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = prove_session(link, kToken, 1, true);
  CHECK_FALSE(r);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("dialing nothing fails with the address named") {
  std::uint16_t port = 0;
  auto l = listen_session("127.0.0.1", port);
  REQUIRE(l);
  l->reset();  // closed: nothing listens there now
  auto fd = dial_session("127.0.0.1", port, 1000ms);
  REQUIRE_FALSE(fd);
  CHECK(fd.error().find("127.0.0.1") != std::string::npos);
  CHECK_FALSE(dial_session("not-an-address", 1, 100ms));
}

TEST_CASE("the MAC binds token, nonce, PID and role") {
  const std::string n(32, 'n');
  const auto m = session_mac(kToken, n, 5, true);
  CHECK(m != session_mac(kToken, n, 6, true));
  CHECK(m != session_mac(kToken, n, 5, false));
  CHECK(m != session_mac(kToken, std::string(32, 'm'), 5, true));
  CHECK(m != session_mac(std::string(32, 'u'), n, 5, true));
  CHECK(m == session_mac(kToken, n, 5, true));
}
