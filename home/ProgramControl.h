#pragma once
// Talking to a program's deputy from a tool (migrate, mosps): one request
// datagram to its control socket (common::programs_dir()/PID), one reply.
// See home/detail/DeputyControl.h for the deputy's side.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>

#include "common/Frame.h"
#include "common/MsgType.h"

namespace mos::home {

struct AskError {
  int errno_code = 0;  // ENOENT/ECONNREFUSED: no such program; ETIMEDOUT: no answer
  std::string message;
};

std::expected<common::Frame, AskError> ask_program(pid_t pid, common::MsgType type,
                                                   const google::protobuf::MessageLite& request,
                                                   std::chrono::milliseconds timeout);

// The PIDs that have a control socket on this node (some may be stale).
std::vector<pid_t> listed_programs();

// Removes the socket of a program that is gone (if we may).
void forget_program(pid_t pid);

}  // namespace mos::home
