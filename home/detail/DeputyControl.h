#pragma once
// The deputy's control socket: where `migrate` and `mosps` reach a program
// (programs_dir()/PID, a Unix socket; only the program's owner and root are
// answered). A thread of the deputy serves it, so a program blocked in a
// long forwarded call still answers; a migration request is handed to the
// deputy's main thread, which alone talks to the supervisor:
//
//   control thread                         main thread
//   asks the local mosixd for a guest
//   supervisor at the target (address,
//   port, token); posts the request,
//   wakes the main thread with a kick      takes it (take()), sends Migrate
//   signal (is_kick), which also cuts a    (before the reply of a call it
//   forwarded call it is blocked in        was in), queues signals (exile),
//   short                                  re-dials the body, reports finish()
//
// One process-wide instance (the deputy is one per process); a child deputy
// starts its own after fork (reset_after_fork, start).

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/migrate.pb.h"

namespace mos::home::detail {

struct MigrateOrder {
  std::string node;  // where to
  std::string address;
  std::uint16_t port = 0;
  std::string token;
  int mode = 0;  // wire::MigrateMode
};

// The socket, made before it is known which process owns it (a child
// deputy's is made by its parent before the fork); -1 if it cannot be.
int control_socket();
// Binds `fd` at programs_dir()/getpid() and starts the serving thread.
// Failures are logged: the program runs on, without migrate or mosps.
void control_start(int fd, std::string where, bool remote);
// In a child deputy, right after fork: forget the parent's state (its
// thread is not ours) and close its socket.
void control_reset_after_fork(int parent_fd);
// Removes our socket (at exit).
void control_stop();

// Main thread.
std::optional<MigrateOrder> control_take();
void control_finish(const wire::MigrateReply& reply);
// What mosps shows.
void control_set_where(const std::string& node, bool remote);
void control_usage(const wire::BodyUsage& u);
void control_count_syscall();
// Queues a migration as if `migrate PID node --async` had asked (mosrun -M).
void control_request(const std::string& node);

// While the main thread runs a forwarded call (which may block for as long
// as the program's input takes), a frame from the supervisor (the body was
// killed, or stopped) must interrupt it: the link is O_ASYNC then, its
// kernel signal SIGURG to the main thread (F_SETSIG, F_SETOWN_EX), which
// is_link_signal tells apart and the call loop treats as a kick. The caller
// serves what is already there before it begins.
void watch_calls_begin(int link_fd);
void watch_calls_end(int link_fd);
bool is_link_signal(int sig, const siginfo_t* info);

// The kick that interrupts the main thread's forwarded call for a
// migration: not a signal of the program's, never passed on.
bool is_kick(int sig, const siginfo_t* info);

}  // namespace mos::home::detail
