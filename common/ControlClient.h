#pragma once
// The tools' side of the control socket (mosctl, mon, later mosrun and
// migrate): one request, one reply, bounded in time. Blocking and
// single-threaded on purpose: a tool has nothing else to do meanwhile.

#include <chrono>
#include <expected>
#include <string>

#include <google/protobuf/message_lite.h>

#include "common/Frame.h"
#include "common/MsgType.h"
#include "common/UniqueFd.h"

namespace mos::common {

inline constexpr const char* kDefaultControlSocket = "/run/mosix/mosixd.sock";

// The socket path: $MOSIX_SOCKET if set, else the default.
std::string default_control_socket();
// Where each program's deputy listens for migrate and mosps (one socket per
// PID, named by it), beside the daemon's socket; mosixd makes it (mode 1777).
std::string programs_dir();

struct ControlError {
  enum class Kind {
    kNoDaemon,  // nothing listens on the socket
    kLost,      // the daemon closed the connection or timed out mid-request
    kRefused,   // the daemon answered with an ErrorReply
    kProtocol,  // the reply was not what was asked for
  };
  Kind kind;
  int errno_code = 0;  // kRefused: the daemon's errno
  std::string message;
};

class ControlClient {
 public:
  static std::expected<ControlClient, ControlError> connect(const std::string& path);

  // Sends `request` and waits up to `timeout` for a reply of type `reply_type`
  // parsed into `reply`. An ErrorReply comes back as kRefused.
  std::expected<void, ControlError> call(
      MsgType type, const google::protobuf::MessageLite& request, MsgType reply_type,
      google::protobuf::MessageLite& reply,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  explicit ControlClient(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
  FrameReader reader_;
};

}  // namespace mos::common
