#pragma once
// Every frame type on every mosix stream. One number space so that a frame
// that reaches the wrong service is recognised as such. Ranges per concern:
//   1..99     peer link (common/link.proto)
//   100..199  local control socket (common/control.proto)
//   200..299  gossip (gossip/gossip.proto, gossip/service.proto)
//   300..     later modules
//     300..399  syscall forwarding (common/forward.proto, common/session.proto)
//     400..499  starting bodies on other nodes (common/guest.proto)
// Numbers are never reused; retire them with a comment.

#include <cstdint>

namespace mos::common {

enum class MsgType : std::uint16_t {
  kHello = 1,
  kChallenge = 2,
  kProof = 3,
  kWelcome = 4,
  kRefusal = 5,
  kPing = 6,
  kPong = 7,

  kStatusRequest = 100,
  kStatusReply = 101,
  kErrorReply = 102,
  kAdminRequest = 103,  // mosctl block|unblock|lstay|nolstay|expel
  kAdminReply = 104,
  kPlaceRequest = 105,  // mosrun -b: where should a new program start?
  kPlaceReply = 106,

  kGossipWindow = 200,    // gossip/gossip.proto, over a peer link (too big for UDP)
  kGossipDatagram = 201,  // gossip/service.proto, the UDP envelope
  kBoardRequest = 202,    // control socket: the whole board (mon, scripts)
  kBoardReply = 203,

  kSyscallRequest = 300,  // common/forward.proto, supervisor -> deputy
  kSyscallReply = 301,    // deputy -> supervisor
  // common/session.proto: the rest of the deputy <-> supervisor conversation
  kBodyStarted = 310,
  kBodyFailed = 311,
  kBodyExited = 312,
  kSignalBody = 313,
  kExecDone = 314,
  kForkDeputy = 315,
  kForkDone = 316,
  kForkAck = 317,
  kSessionChallenge = 318,  // session over TCP (a body on another node)
  kSessionHello = 319,
  kBodyStart = 320,
  kFileFetch = 321,
  kFileInfo = 322,
  kFileSend = 323,
  kFileChunk = 324,
  kBodyStopped = 325,
  kThreadDeputy = 326,
  kThreadDone = 327,
  kNotice = 328,
  kChildReaping = 329,
  kSnapshotFile = 330,
  kSnapshotDone = 331,

  // common/guest.proto: starting a body on another node
  kRemoteRunRequest = 400,  // control socket, mosrun -> mosixd
  kRemoteRunReply = 401,
  kGuestRequest = 402,  // peer link, home daemon -> target daemon
  kGuestReply = 403,
  kGuestSpec = 404,  // target daemon -> guest supervisor
  kGuestReady = 405,
  kGuestLeave = 406,  // peer link, host daemon -> home daemon: move this body away

  // common/migrate.proto: live migration
  kMigrate = 500,       // deputy -> supervisor: move the body
  kMigrateImage = 501,  // source supervisor -> target supervisor
  kMigratePages = 502,  // (raw: 8-byte address, then the bytes)
  kMigrateEnd = 503,
  kMigrateRestored = 504,  // target -> source
  kMigrateDone = 505,      // source supervisor -> deputy
  kMigrateCommit = 506,    // deputy -> source supervisor
  kBodyResume = 507,       // deputy -> target supervisor
  kBodyResumed = 508,      // target supervisor -> deputy
  kBodyUsage = 509,        // supervisor -> deputy, periodic
  kMigrateRequest = 510,   // migrate -> the deputy's control socket
  kMigrateReply = 511,
  kProgramStatusRequest = 512,  // mosps -> the deputy's control socket
  kProgramStatus = 513,
  kMigrateZero = 514,          // (raw: 8-byte address, 8-byte length) the range reads as zeros
  kMigratePageRequest = 515,   // post-copy, target -> source (raw: 8-byte address)
  kMigratePostcopyDone = 516,  // post-copy, target -> source: every page is in
  kMigrateClock = 517,         // source -> target, before the image
  kMigrateReady = 518,         // target -> source: the new process waits (freeze now)
  // (raw: u32) on the channel: that many chunks came on the page road
  // since the last one; on a socket page road: a slot's credit
  kMigrateBulk = 519,
};

constexpr std::uint16_t to_wire(MsgType t) {
  return static_cast<std::uint16_t>(t);
}

}  // namespace mos::common
