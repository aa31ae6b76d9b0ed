#pragma once
// Closes an Asio I/O object (socket, acceptor) when a deadline passes, so a
// coroutine blocked on it wakes with an error. Scoped: destroying the
// watchdog disarms it, also when its timer has fired but the handler has not
// yet run (the handler then finds `done` set and leaves the object alone).

#include <chrono>
#include <memory>

#include "common/Asio.h"

namespace mos::common {

template <typename Closable>
class Watchdog {
 public:
  Watchdog(Closable& target, std::chrono::steady_clock::duration d)
      : target_(target), timer_(target.get_executor()) {
    arm(d);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { disarm(); }

  // Starts a new deadline `d` from now, replacing the current one.
  void arm(std::chrono::steady_clock::duration d) {
    disarm();
    state_ = std::make_shared<State>();
    timer_.expires_after(d);
    timer_.async_wait([&t = target_, s = state_](boost::system::error_code ec) {
      if (!ec && !s->done) {
        s->fired = true;
        boost::system::error_code ignored;
        t.close(ignored);
      }
    });
  }
  void disarm() {
    if (state_) {
      state_->done = true;
      timer_.cancel();
    }
  }
  bool fired() const { return state_ && state_->fired; }

 private:
  struct State {
    bool fired = false;
    bool done = false;
  };
  Closable& target_;
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace mos::common
