// Marshalling of forwarded syscalls. Each pointer argument is first *planned*
// (where it is in the body, how long, which shape) from the arguments and the
// body's memory; marshal_request then reads the inputs, and apply_reply plans
// again after the call and writes the outputs inside the planned bounds. One
// planning function serves both sides, so they cannot disagree.

#include "remote/Marshal.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace mos::remote {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kMaxBuffer = wire::MAX_BUFFER_BYTES;
constexpr std::uint64_t kMaxRequest = wire::MAX_REQUEST_BYTES;
constexpr std::uint64_t kIovMax = wire::MAX_IOV_SEGMENTS;
constexpr std::uint64_t kSockaddrMax = 128;       // sizeof(struct sockaddr_storage)
constexpr std::uint64_t kControlMax = 256 << 10;  // ancillary data; above optmem_max anyway
constexpr std::uint64_t kSockoptMax = 1 << 20;    // setsockopt: above optmem_max
constexpr std::uint64_t kBpfInsnsMax = 4096;      // BPF_MAXINSNS
constexpr std::uint64_t kMsghdrSize = 56;

using Unexpected = std::unexpected<int>;

// ---- plans -------------------------------------------------------------

// One body buffer.
struct BufPlan {
  std::uint64_t addr = 0;  // body address
  std::uint64_t len = 0;   // bytes marshalled (the capacity for outputs)
  bool in = false;         // contents read before the call
  bool out = false;        // written back after it
  bool string = false;     // a NUL-terminated string, read as such
  wire::Writeback wb = wire::WB_NONE;
  std::uint32_t wb_arg = 0;
  std::uint64_t wb_base = 0;
  std::uint64_t wb_elem = 0;
  bool wb_on_error = false;
  wire::LengthRef length;
  // A clamped length: the argument to rewrite, or the u32 at the start of
  // another argument's input buffer to patch, so the kernel sees `clamped`.
  int rewrite_arg = -1;
  int patch_arg = -1;
  std::uint64_t clamped = 0;
  // pselect6's and SO_ATTACH_FILTER's pointer inside the buffer.
  std::optional<std::uint64_t> nested_offset;
  std::uint64_t nested_addr = 0;
  std::uint64_t nested_len = 0;
};

struct Segment {
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
};

struct IovPlan {
  std::vector<Segment> segs;
  bool in = false;
  bool out = false;
  std::uint32_t count_arg = 0;
};

struct MsgPlan {
  std::uint64_t addr = 0;  // the body's struct msghdr
  BufPlan name;            // len 0: none
  IovPlan iov;
  BufPlan control;  // len 0: none
  std::int32_t flags = 0;
  bool out = false;
  bool name_present = false;  // the body's msg_name is not NULL
};

struct ArgPlan {
  wire::Shape shape = wire::SHAPE_VALUE;
  BufPlan buf;
  IovPlan iov;
  MsgPlan msg;
};

ArgPlan shape_only(wire::Shape s) {
  ArgPlan p;
  p.shape = s;
  return p;
}

ArgPlan buffer_plan(BufPlan b) {
  ArgPlan p;
  p.shape = b.addr == 0 ? wire::SHAPE_NULL : wire::SHAPE_BUFFER;
  p.buf = std::move(b);
  return p;
}

BufPlan fixed(std::uint64_t addr, std::uint64_t len, bool in, bool out) {
  BufPlan b;
  b.addr = addr;
  b.len = len;
  b.in = in;
  b.out = out;
  b.wb = out ? wire::WB_ALL : wire::WB_NONE;
  return b;
}

std::uint64_t sat_mul_add(std::uint64_t base, std::uint64_t elem, std::uint64_t n) {
  std::uint64_t prod = 0;
  std::uint64_t sum = 0;
  if (__builtin_mul_overflow(elem, n, &prod) || __builtin_add_overflow(base, prod, &sum)) {
    return UINT64_MAX;
  }
  return sum;
}

template <typename T>
std::expected<T, int> load(BodyMemory& mem, std::uint64_t addr) {
  T v{};
  auto r = mem.read(addr, std::span(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
  if (!r) {
    return Unexpected(r.error());
  }
  return v;
}

template <typename T>
T get(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A count argument as the kernel reads it; nullopt when it is negative.
std::optional<std::uint64_t> count_of(const SyscallEntry& e, std::uint8_t arg,
                                      const std::uint64_t args[6]) {
  const ArgKind kind = arg < e.nargs ? e.args[arg].kind : ArgKind::kULong;
  const std::uint64_t v = args[arg];
  switch (kind) {
    case ArgKind::kInt:
    case ArgKind::kFd:
    case ArgKind::kDirFd:
    case ArgKind::kPid:
    case ArgKind::kSignal: {
      const auto s = static_cast<std::int32_t>(v);
      return s < 0 ? std::nullopt : std::optional<std::uint64_t>(s);
    }
    case ArgKind::kUInt:
    case ArgKind::kUid:
    case ArgKind::kGid:
      return static_cast<std::uint32_t>(v);
    case ArgKind::kLong:
      return static_cast<std::int64_t>(v) < 0 ? std::nullopt : std::optional<std::uint64_t>(v);
    default:
      return v;
  }
}

// Applies the row's bound and ours to a computed length. `shrinkable` says
// whether the kernel can be told the shorter length (see BufPlan::clamped).
std::expected<void, int> bound(BufPlan& b, const ArgLen& len, bool shrinkable) {
  const std::uint64_t cap = std::min<std::uint64_t>(len.max, kMaxBuffer);
  if (b.len <= cap) {
    return {};
  }
  if (b.len > len.max && len.over_errno != 0) {
    return Unexpected(len.over_errno);
  }
  if (len.over_errno != 0 || !shrinkable) {
    return Unexpected(ENOMEM);  // within the row's bound, beyond one request's
  }
  b.len = cap;
  return {};
}

// ---- generic arguments -------------------------------------------------

wire::Writeback to_wire(WbFrom w) {
  switch (w) {
    case WbFrom::kAll:
      return wire::WB_ALL;
    case WbFrom::kRet:
      return wire::WB_RET;
    case WbFrom::kDeref:
      return wire::WB_DEREF;
    default:
      return wire::WB_NONE;
  }
}

std::expected<ArgPlan, int> plan_string(const ArgSpec& s, std::uint64_t addr) {
  BufPlan b;
  b.addr = addr;
  b.in = true;
  b.string = true;
  b.len = s.len.max;  // the bound; the read finds the NUL
  b.length.set_from(wire::LengthRef::FROM_NUL);
  return buffer_plan(std::move(b));
}

std::expected<ArgPlan, int> plan_buffer(const SyscallEntry& e, std::size_t i,
                                        const std::uint64_t args[6], BodyMemory& mem) {
  const ArgSpec& s = e.args[i];
  if (s.len.from == LenFrom::kNul) {
    return plan_string(s, args[i]);
  }
  BufPlan b;
  b.addr = args[i];
  b.in = s.kind == ArgKind::kIn || s.kind == ArgKind::kInOut;
  b.out = s.kind == ArgKind::kOut || s.kind == ArgKind::kInOut;
  if (b.out) {
    b.wb = to_wire(s.wb.from);
    b.wb_arg = s.wb.arg;
    b.wb_base = s.wb.base;
    b.wb_elem = s.wb.elem;
    b.wb_on_error = s.wb.on_error;
  }
  if (b.addr == 0) {
    return buffer_plan(std::move(b));
  }
  const ArgLen& len = s.len;
  wire::LengthRef& ref = b.length;
  ref.set_arg(len.arg);
  ref.set_base(len.base);
  ref.set_elem(len.elem);
  bool shrinkable = true;
  switch (len.from) {
    case LenFrom::kFixed:
      b.len = len.base;
      break;
    case LenFrom::kArg: {
      const auto n = count_of(e, len.arg, args);
      if (!n) {
        return Unexpected(EINVAL);
      }
      b.len = sat_mul_add(len.base, len.elem, *n);
      ref.set_from(wire::LengthRef::FROM_ARG);
      // Always rewritten: the deputy checks the full 64-bit value, while the
      // kernel may read only 32 bits of it.
      b.rewrite_arg = len.arg;
      b.clamped = *n;
      break;
    }
    case LenFrom::kDeref: {
      auto n = load<std::int32_t>(mem, args[len.arg]);
      if (!n) {
        return Unexpected(n.error());
      }
      if (*n < 0) {
        return Unexpected(EINVAL);
      }
      b.len = sat_mul_add(len.base, len.elem, static_cast<std::uint64_t>(*n));
      ref.set_from(wire::LengthRef::FROM_DEREF);
      b.patch_arg = len.arg;
      break;
    }
    case LenFrom::kHeader: {
      auto n = load<std::uint32_t>(mem, b.addr + len.arg);
      if (!n) {
        return Unexpected(n.error());
      }
      b.len = sat_mul_add(len.base, len.elem, *n);
      ref.set_from(wire::LengthRef::FROM_HEADER);
      shrinkable = false;
      break;
    }
    case LenFrom::kFdSet: {
      const auto nfds = static_cast<std::int32_t>(args[len.arg]);
      b.len = nfds <= 0 ? 0 : (static_cast<std::uint64_t>(nfds) + 63) / 64 * 8;
      ref.set_from(wire::LengthRef::FROM_FDSET);
      // The kernel itself clamps nfds to its fd table, which the row's max covers.
      b.len = std::min<std::uint64_t>(b.len, len.max);
      break;
    }
    default:
      return Unexpected(ENOSYS);
  }
  const std::uint64_t wanted = b.len;
  if (auto r = bound(b, len, shrinkable); !r) {
    return Unexpected(r.error());
  }
  if (b.len < wanted && (len.from == LenFrom::kArg || len.from == LenFrom::kDeref)) {
    // Tell the kernel the clamped count: a whole number of elements.
    b.clamped = len.elem == 0 ? 0 : (b.len - std::min<std::uint64_t>(b.len, len.base)) / len.elem;
    b.len = sat_mul_add(len.base, len.elem, b.clamped);
  } else if (len.from == LenFrom::kDeref) {
    b.patch_arg = -1;  // the body's value stands
  }
  return buffer_plan(std::move(b));
}

// The struct iovec array at `addr` with `count` elements.
std::expected<IovPlan, int> plan_iovec(std::uint64_t addr, std::uint64_t count, bool in,
                                       BodyMemory& mem) {
  IovPlan v;
  v.in = in;
  v.out = !in;
  if (count == 0) {
    return v;
  }
  std::vector<std::uint8_t> raw(count * 16);
  if (auto r = mem.read(addr, raw); !r) {
    return Unexpected(r.error());
  }
  std::uint64_t budget = kMaxBuffer;  // a shorter transfer is always allowed
  for (std::uint64_t k = 0; k < count; ++k) {
    Segment s{get<std::uint64_t>(&raw[k * 16]), get<std::uint64_t>(&raw[k * 16 + 8])};
    if (static_cast<std::int64_t>(s.len) < 0) {
      return Unexpected(EINVAL);
    }
    s.len = std::min(s.len, budget);
    budget -= s.len;
    v.segs.push_back(s);
  }
  return v;
}

std::expected<ArgPlan, int> plan_iov_arg(const SyscallEntry& e, std::size_t i,
                                         const std::uint64_t args[6], BodyMemory& mem) {
  const ArgSpec& s = e.args[i];
  const auto n = count_of(e, s.len.arg, args);
  if (!n || sat_mul_add(0, s.len.elem, *n) > s.len.max) {
    return Unexpected(s.len.over_errno != 0 ? s.len.over_errno : EINVAL);
  }
  if (args[i] == 0 && *n != 0) {
    return Unexpected(EFAULT);
  }
  auto v = plan_iovec(args[i], *n, s.kind == ArgKind::kIovIn, mem);
  if (!v) {
    return Unexpected(v.error());
  }
  ArgPlan p;
  p.shape = wire::SHAPE_IOVEC;
  p.iov = std::move(*v);
  p.iov.count_arg = s.len.arg;
  return p;
}

// ---- ioctl -------------------------------------------------------------

enum class Dir : std::uint8_t { kValue, kIn, kOut, kInOut };

struct IoctlShape {
  std::uint32_t request;
  Dir dir;
  std::uint32_t size;
};

constexpr std::uint32_t kTermios = 36;  // the kernel's struct termios (not glibc's)
constexpr std::uint32_t kTermio = 18;
constexpr std::uint32_t kIfreq = 40;

// Requests from before the _IOC encoding (their numbers carry no direction
// or size). Integers by value, or a fixed struct in or out.
constexpr IoctlShape kLegacyIoctls[] = {
    {TCGETS, Dir::kOut, kTermios},
    {TCSETS, Dir::kIn, kTermios},
    {TCSETSW, Dir::kIn, kTermios},
    {TCSETSF, Dir::kIn, kTermios},
    {TCGETA, Dir::kOut, kTermio},
    {TCSETA, Dir::kIn, kTermio},
    {TCSETAW, Dir::kIn, kTermio},
    {TCSETAF, Dir::kIn, kTermio},
    {TCSBRK, Dir::kValue, 0},
    {TCXONC, Dir::kValue, 0},
    {TCFLSH, Dir::kValue, 0},
    {TIOCEXCL, Dir::kValue, 0},
    {TIOCNXCL, Dir::kValue, 0},
    {TIOCSCTTY, Dir::kValue, 0},
    {TIOCGPGRP, Dir::kOut, 4},
    {TIOCSPGRP, Dir::kIn, 4},
    {TIOCOUTQ, Dir::kOut, 4},
    {TIOCSTI, Dir::kIn, 1},
    {TIOCGWINSZ, Dir::kOut, 8},
    {TIOCSWINSZ, Dir::kIn, 8},
    {TIOCMGET, Dir::kOut, 4},
    {TIOCMBIS, Dir::kIn, 4},
    {TIOCMBIC, Dir::kIn, 4},
    {TIOCMSET, Dir::kIn, 4},
    {FIONREAD, Dir::kOut, 4},
    {TIOCCONS, Dir::kValue, 0},
    {FIONBIO, Dir::kIn, 4},
    {TIOCNOTTY, Dir::kValue, 0},
    {TIOCSETD, Dir::kIn, 4},
    {TIOCGETD, Dir::kOut, 4},
    {TCSBRKP, Dir::kValue, 0},
    {TIOCSBRK, Dir::kValue, 0},
    {TIOCCBRK, Dir::kValue, 0},
    {TIOCGSID, Dir::kOut, 4},
    {0x5441 /* TIOCGPTPEER */, Dir::kValue, 0},
    {FIONCLEX, Dir::kValue, 0},
    {FIOCLEX, Dir::kValue, 0},
    {FIOASYNC, Dir::kIn, 4},
    {TIOCGLCKTRMIOS, Dir::kOut, kTermios},
    {TIOCSLCKTRMIOS, Dir::kIn, kTermios},
    {FIOQSIZE, Dir::kOut, 8},
    {SIOCATMARK, Dir::kOut, 4},
    {0x8906 /* SIOCGSTAMP_OLD */, Dir::kOut, 16},
    {0x8907 /* SIOCGSTAMPNS_OLD */, Dir::kOut, 16},
    {SIOCGIFNAME, Dir::kInOut, kIfreq},
    {SIOCGIFFLAGS, Dir::kInOut, kIfreq},
    {SIOCGIFADDR, Dir::kInOut, kIfreq},
    {SIOCGIFDSTADDR, Dir::kInOut, kIfreq},
    {SIOCGIFBRDADDR, Dir::kInOut, kIfreq},
    {SIOCGIFNETMASK, Dir::kInOut, kIfreq},
    {SIOCGIFMETRIC, Dir::kInOut, kIfreq},
    {SIOCGIFMTU, Dir::kInOut, kIfreq},
    {SIOCGIFHWADDR, Dir::kInOut, kIfreq},
    {SIOCGIFINDEX, Dir::kInOut, kIfreq},
    {SIOCGIFTXQLEN, Dir::kInOut, kIfreq},
};

// _IOC types whose numbers include legacy, unencoded requests that take
// pointers (block, SCSI, KD, loop, CD-ROM, tty, VT, sockets, wireless, HDIO):
// a request of theirs with no direction bits is not known to be by value.
constexpr std::uint8_t kLegacyTypes[] = {0x00, 0x03, 0x12, 0x22, 0x4B, 0x4C,
                                         0x53, 0x54, 0x56, 0x89, 0x8B};

// How an ioctl's argument is passed; nullopt for a request we cannot
// marshal safely (answered ENOTTY, as a driver that does not know it would).
std::optional<IoctlShape> ioctl_shape(std::uint32_t request) {
  for (const IoctlShape& s : kLegacyIoctls) {
    if (s.request == request) {
      return s;
    }
  }
  const std::uint32_t dir = request >> 30;
  const std::uint32_t size = (request >> 16) & 0x3FFF;
  const auto type = static_cast<std::uint8_t>(request >> 8);
  if (dir == 0 && size == 0) {
    if (std::ranges::find(kLegacyTypes, type) != std::end(kLegacyTypes)) {
      return std::nullopt;
    }
    return IoctlShape{request, Dir::kValue, 0};
  }
  if (size == 0) {
    return IoctlShape{request, Dir::kValue, 0};
  }
  // _IOC_WRITE: user -> kernel; _IOC_READ: kernel -> user.
  static constexpr Dir kByDir[] = {Dir::kValue, Dir::kIn, Dir::kOut, Dir::kInOut};
  return IoctlShape{request, kByDir[dir], size};
}

std::expected<ArgPlan, int> plan_dir(std::uint64_t addr, Dir dir, std::uint32_t size) {
  if (dir == Dir::kValue) {
    return shape_only(wire::SHAPE_VALUE);
  }
  return buffer_plan(fixed(addr, size, dir == Dir::kIn || dir == Dir::kInOut,
                           dir == Dir::kOut || dir == Dir::kInOut));
}

std::expected<ArgPlan, int> plan_ioctl(const std::uint64_t args[6]) {
  const auto shape = ioctl_shape(static_cast<std::uint32_t>(args[1]));
  if (!shape) {
    return Unexpected(ENOTTY);
  }
  return plan_dir(args[2], shape->dir, shape->size);
}

// ---- fcntl -------------------------------------------------------------

constexpr std::uint32_t kFlock = 32;

std::expected<ArgPlan, int> plan_fcntl(const std::uint64_t args[6]) {
  switch (static_cast<std::int32_t>(args[1])) {
    case F_GETLK:
    case F_OFD_GETLK:
      return plan_dir(args[2], Dir::kInOut, kFlock);
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return plan_dir(args[2], Dir::kIn, kFlock);
    case F_GETOWN_EX:
      return plan_dir(args[2], Dir::kOut, 8);
    case F_SETOWN_EX:
      return plan_dir(args[2], Dir::kIn, 8);
    case F_GET_RW_HINT:
    case F_GET_FILE_RW_HINT:
      return plan_dir(args[2], Dir::kOut, 8);
    case F_SET_RW_HINT:
    case F_SET_FILE_RW_HINT:
      return plan_dir(args[2], Dir::kIn, 8);
    default:
      return shape_only(wire::SHAPE_VALUE);  // an integer or nothing
  }
}

// ---- sockets -----------------------------------------------------------

std::expected<MsgPlan, int> plan_msghdr(std::uint64_t addr, bool out, BodyMemory& mem) {
  if (addr == 0) {
    return Unexpected(EFAULT);
  }
  std::uint8_t raw[kMsghdrSize];
  if (auto r = mem.read(addr, raw); !r) {
    return Unexpected(r.error());
  }
  MsgPlan m;
  m.addr = addr;
  m.out = out;
  m.flags = get<std::int32_t>(raw + 48);
  const auto name = get<std::uint64_t>(raw);
  const auto namelen = get<std::int32_t>(raw + 8);
  const auto iov = get<std::uint64_t>(raw + 16);
  const auto iovlen = get<std::uint64_t>(raw + 24);
  const auto control = get<std::uint64_t>(raw + 32);
  const auto controllen = get<std::uint64_t>(raw + 40);
  if (namelen < 0) {
    return Unexpected(EINVAL);
  }
  if (iovlen > kIovMax) {
    return Unexpected(EMSGSIZE);
  }
  if (iovlen != 0 && iov == 0) {
    return Unexpected(EFAULT);
  }
  m.name_present = name != 0;
  if (name != 0 && namelen != 0) {
    // The kernel treats a longer name as sockaddr_storage-sized.
    m.name = fixed(name, std::min<std::uint64_t>(namelen, kSockaddrMax), !out, out);
  }
  if (control != 0 && controllen != 0) {
    if (!out && controllen > kControlMax) {
      return Unexpected(ENOBUFS);
    }
    m.control = fixed(control, std::min(controllen, kControlMax), !out, out);
  }
  auto v = plan_iovec(iov, iovlen, !out, mem);
  if (!v) {
    return Unexpected(v.error());
  }
  m.iov = std::move(*v);
  return m;
}

std::expected<ArgPlan, int> plan_sockopt(const std::uint64_t args[6], BodyMemory& mem) {
  BufPlan b;
  b.addr = args[3];
  b.in = true;
  if (b.addr == 0) {
    return buffer_plan(std::move(b));
  }
  const auto optlen = static_cast<std::int32_t>(args[4]);
  if (optlen < 0) {
    return Unexpected(EINVAL);
  }
  b.len = std::min<std::uint64_t>(optlen, kSockoptMax);
  b.length.set_from(wire::LengthRef::FROM_ARG);
  b.length.set_arg(4);
  b.length.set_elem(1);
  b.rewrite_arg = 4;  // normalised to 32 bits, and clamped
  b.clamped = b.len;
  const auto level = static_cast<std::int32_t>(args[1]);
  const auto name = static_cast<std::int32_t>(args[2]);
  if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_REUSEPORT_CBPF) &&
      b.len >= 16) {
    // struct sock_fprog { unsigned short len; struct sock_filter* filter; }
    auto count = load<std::uint16_t>(mem, b.addr);
    auto filter = load<std::uint64_t>(mem, b.addr + 8);
    if (!count || !filter) {
      return Unexpected(EFAULT);
    }
    if (*count == 0 || *count > kBpfInsnsMax) {
      return Unexpected(EINVAL);
    }
    b.nested_offset = 8;
    b.nested_addr = *filter;
    b.nested_len = std::uint64_t{*count} * 8;
  }
  return buffer_plan(std::move(b));
}

// pselect6's sixth argument: NULL or { const sigset_t* ss; size_t ss_len }.
std::expected<ArgPlan, int> plan_pselect_sigmask(const std::uint64_t args[6], BodyMemory& mem) {
  BufPlan b = fixed(args[5], 16, true, false);
  if (b.addr == 0) {
    return buffer_plan(std::move(b));
  }
  auto ss = load<std::uint64_t>(mem, b.addr);
  auto ss_len = load<std::uint64_t>(mem, b.addr + 8);
  if (!ss || !ss_len) {
    return Unexpected(EFAULT);
  }
  if (*ss != 0) {
    if (*ss_len != 8) {
      return Unexpected(EINVAL);
    }
    b.nested_offset = 0;
    b.nested_addr = *ss;
    b.nested_len = 8;
  }
  return buffer_plan(std::move(b));
}

std::expected<ArgPlan, int> plan_complex(const SyscallEntry& e, std::size_t i,
                                         const std::uint64_t args[6], BodyMemory& mem) {
  switch (e.args[i].marshaller) {
    case Marshaller::kIoctlArg:
      return plan_ioctl(args);
    case Marshaller::kFcntlArg:
      return plan_fcntl(args);
    case Marshaller::kMsghdrIn:
    case Marshaller::kMsghdrOut: {
      auto m = plan_msghdr(args[i], e.args[i].marshaller == Marshaller::kMsghdrOut, mem);
      if (!m) {
        return Unexpected(m.error());
      }
      ArgPlan p;
      p.shape = wire::SHAPE_MSGHDR;
      p.msg = std::move(*m);
      return p;
    }
    case Marshaller::kSockoptIn:
      return plan_sockopt(args, mem);
    case Marshaller::kPselectSigmask:
      return plan_pselect_sigmask(args, mem);
    default:
      return Unexpected(ENOSYS);  // not written yet: see Marshal.h
  }
}

std::expected<ArgPlan, int> plan_arg(const SyscallEntry& e, std::size_t i,
                                     const std::uint64_t args[6], BodyMemory& mem) {
  const ArgSpec& s = e.args[i];
  switch (s.kind) {
    case ArgKind::kString:
      return args[i] == 0 ? shape_only(wire::SHAPE_NULL) : plan_string(s, args[i]);
    case ArgKind::kIn:
    case ArgKind::kOut:
    case ArgKind::kInOut:
      return plan_buffer(e, i, args, mem);
    case ArgKind::kIovIn:
    case ArgKind::kIovOut:
      return plan_iov_arg(e, i, args, mem);
    case ArgKind::kComplex:
      return plan_complex(e, i, args, mem);
    default:
      return shape_only(wire::SHAPE_VALUE);
  }
}

// ---- marshal: plans to wire --------------------------------------------

std::expected<std::string, int> read_bytes(BodyMemory& mem, std::uint64_t addr, std::uint64_t len) {
  std::string data(len, '\0');
  if (auto r = mem.read(addr, std::span(reinterpret_cast<std::uint8_t*>(data.data()), len)); !r) {
    return Unexpected(r.error());
  }
  return data;
}

std::expected<void, int> fill_buffer(const BufPlan& b, const ArgSpec* spec, BodyMemory& mem,
                                     wire::Buffer& w, std::uint64_t& total) {
  if (b.string) {
    auto s = mem.read_string(b.addr, b.len);
    if (!s) {
      const int over =
          spec != nullptr && spec->len.over_errno != 0 ? spec->len.over_errno : ENAMETOOLONG;
      return Unexpected(s.error() == ENAMETOOLONG ? over : s.error());
    }
    s->push_back('\0');
    total += s->size();
    w.set_size(s->size());
    w.set_data(std::move(*s));
  } else {
    if (b.in && b.len != 0) {
      auto d = read_bytes(mem, b.addr, b.len);
      if (!d) {
        return Unexpected(d.error());
      }
      w.set_data(std::move(*d));
    } else if (b.out && b.len != 0) {
      if (auto r = mem.probe(b.addr, b.len); !r) {
        return Unexpected(r.error());
      }
    }
    w.set_size(b.len);
    total += b.len;
  }
  w.set_writeback(b.wb);
  w.set_wb_arg(b.wb_arg);
  w.set_wb_base(b.wb_base);
  w.set_wb_elem(b.wb_elem);
  w.set_wb_on_error(b.wb_on_error);
  *w.mutable_length() = b.length;
  if (b.nested_offset) {
    auto d = read_bytes(mem, b.nested_addr, b.nested_len);
    if (!d) {
      return Unexpected(d.error());
    }
    total += d->size();
    wire::Nested* n = w.add_nested();
    n->set_offset(*b.nested_offset);
    n->mutable_buffer()->set_size(d->size());
    n->mutable_buffer()->set_data(std::move(*d));
  }
  return {};
}

std::expected<void, int> fill_iovec(const IovPlan& v, BodyMemory& mem, wire::Iovec& w,
                                    std::uint64_t& total) {
  w.set_spread_ret(v.out);
  w.set_count_arg(v.count_arg);
  for (const Segment& s : v.segs) {
    wire::Buffer* seg = w.add_segments();
    seg->set_size(s.len);
    total += s.len;
    if (s.len == 0) {
      continue;
    }
    if (v.in) {
      auto d = read_bytes(mem, s.addr, s.len);
      if (!d) {
        return Unexpected(d.error());
      }
      seg->set_data(std::move(*d));
    } else if (auto r = mem.probe(s.addr, s.len); !r) {
      return Unexpected(r.error());
    }
  }
  return {};
}

std::expected<void, int> fill_msghdr(const MsgPlan& m, BodyMemory& mem, wire::Msghdr& w,
                                     std::uint64_t& total) {
  w.set_flags(m.flags);
  w.set_output(m.out);
  if (m.name.len != 0) {
    if (auto r = fill_buffer(m.name, nullptr, mem, *w.mutable_name(), total); !r) {
      return r;
    }
  }
  if (m.control.len != 0) {
    if (auto r = fill_buffer(m.control, nullptr, mem, *w.mutable_control(), total); !r) {
      return r;
    }
  }
  // Only the data and sizes of the pieces matter to the deputy.
  for (wire::Buffer* b : {w.mutable_name(), w.mutable_control()}) {
    b->clear_writeback();
    b->clear_length();
  }
  return fill_iovec(m.iov, mem, *w.mutable_iov(), total);
}

// ---- apply: wire to the body -------------------------------------------

std::expected<void, int> put(BodyMemory& mem, std::uint64_t addr, std::string_view data,
                             std::uint64_t capacity) {
  if (data.size() > capacity) {
    return Unexpected(EIO);
  }
  if (data.empty()) {
    return {};
  }
  return mem.write(addr,
                   std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

template <typename T>
std::expected<void, int> put_value(BodyMemory& mem, std::uint64_t addr, T v) {
  return mem.write(addr, std::span(reinterpret_cast<const std::uint8_t*>(&v), sizeof v));
}

std::expected<void, int> put_segments(BodyMemory& mem, const IovPlan& v,
                                      const google::protobuf::RepeatedPtrField<std::string>& s) {
  if (!v.out || static_cast<std::size_t>(s.size()) > v.segs.size()) {
    return Unexpected(EIO);
  }
  for (int k = 0; k < s.size(); ++k) {
    if (auto r = put(mem, v.segs[k].addr, s[k], v.segs[k].len); !r) {
      return r;
    }
  }
  return {};
}

std::expected<void, int> apply_output(const ArgPlan& p, const wire::Output& out, BodyMemory& mem) {
  switch (p.shape) {
    case wire::SHAPE_BUFFER:
      if (!p.buf.out) {
        return Unexpected(EIO);
      }
      return put(mem, p.buf.addr, out.data(), p.buf.len);
    case wire::SHAPE_IOVEC:
      return put_segments(mem, p.iov, out.segments());
    case wire::SHAPE_MSGHDR: {
      const MsgPlan& m = p.msg;
      const wire::MsghdrResult& r = out.msghdr();
      if (!m.out) {
        return Unexpected(EIO);
      }
      if (auto w = put_segments(mem, m.iov, r.segments()); !w) {
        return w;
      }
      if (auto w = put(mem, m.name.addr, r.name(), m.name.len); !w) {
        return w;
      }
      if (auto w = put(mem, m.control.addr, r.control(), m.control.len); !w) {
        return w;
      }
      if (m.name_present) {
        if (auto w = put_value<std::uint32_t>(mem, m.addr + 8, r.name_len()); !w) {
          return w;
        }
      }
      if (auto w = put_value<std::uint64_t>(mem, m.addr + 40, r.control_len()); !w) {
        return w;
      }
      return put_value<std::int32_t>(mem, m.addr + 48, r.flags());
    }
    default:
      return Unexpected(EIO);
  }
}

}  // namespace

// ---- BodyMemory ----------------------------------------------------------

std::expected<void, int> BodyMemory::probe(std::uint64_t addr, std::uint64_t len) {
  if (len == 0) {
    return {};
  }
  if (addr + len < addr) {
    return Unexpected(EFAULT);
  }
  std::uint8_t byte = 0;
  for (std::uint64_t p = addr; p < addr + len; p = (p / kPage + 1) * kPage) {
    if (auto r = read(p, std::span(&byte, 1)); !r) {
      return r;
    }
  }
  return {};
}

std::expected<std::string, int> BodyMemory::read_string(std::uint64_t addr, std::size_t max) {
  std::string s;
  std::uint8_t chunk[kPage];
  std::uint64_t p = addr;
  while (s.size() < max) {
    // Page by page, so a string that ends just before an unmapped page reads.
    const std::size_t n = std::min<std::uint64_t>(kPage - p % kPage, max - s.size());
    if (auto r = read(p, std::span(chunk, n)); !r) {
      return Unexpected(r.error());
    }
    if (const void* nul = std::memchr(chunk, 0, n)) {
      s.append(reinterpret_cast<const char*>(chunk), static_cast<const std::uint8_t*>(nul) - chunk);
      return s;
    }
    s.append(reinterpret_cast<const char*>(chunk), n);
    p += n;
  }
  return Unexpected(ENAMETOOLONG);
}

// ---- ProcessMemory -------------------------------------------------------

namespace {
// process_vm_* report a partial transfer when they reach an unmapped page;
// we retry from there so the failure carries its errno (EFAULT).
template <typename Op>
std::expected<void, int> transfer(std::uint64_t addr, std::uint8_t* local, std::size_t len, Op op) {
  if (addr + len < addr) {
    return Unexpected(EFAULT);
  }
  std::size_t done = 0;
  while (done < len) {
    iovec l{local + done, len - done};
    iovec r{reinterpret_cast<void*>(addr + done), len - done};
    const ssize_t n = op(&l, &r);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Unexpected(errno == ESRCH ? ESRCH : EFAULT);
    }
    if (n == 0) {
      return Unexpected(EFAULT);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}
}  // namespace

std::expected<void, int> ProcessMemory::read(std::uint64_t addr, std::span<std::uint8_t> out) {
  return transfer(addr, out.data(), out.size(), [this](const iovec* l, const iovec* r) {
    return ::process_vm_readv(pid_, l, 1, r, 1, 0);
  });
}

std::expected<void, int> ProcessMemory::write(std::uint64_t addr,
                                              std::span<const std::uint8_t> in) {
  return transfer(
      addr, const_cast<std::uint8_t*>(in.data()), in.size(),
      [this](const iovec* l, const iovec* r) { return ::process_vm_writev(pid_, l, 1, r, 1, 0); });
}

std::expected<void, int> ProcessMemory::probe(std::uint64_t addr, std::uint64_t len) {
  if (len == 0) {
    return {};
  }
  if (addr + len < addr) {
    return Unexpected(EFAULT);
  }
  // One byte of every page, up to IOV_MAX pages per call.
  constexpr std::size_t kBatch = 1024;
  std::uint8_t sink[kBatch];
  std::vector<iovec> local(kBatch);
  std::vector<iovec> remote;
  remote.reserve(kBatch);
  std::uint64_t p = addr;
  while (p < addr + len) {
    remote.clear();
    for (; p < addr + len && remote.size() < kBatch; p = (p / kPage + 1) * kPage) {
      remote.push_back(iovec{reinterpret_cast<void*>(p), 1});
    }
    for (std::size_t k = 0; k < remote.size(); ++k) {
      local[k] = iovec{&sink[k], 1};
    }
    const ssize_t n =
        ::process_vm_readv(pid_, local.data(), remote.size(), remote.data(), remote.size(), 0);
    if (n < 0) {
      return Unexpected(errno == ESRCH ? ESRCH : EFAULT);
    }
    if (static_cast<std::size_t>(n) != remote.size()) {
      return Unexpected(EFAULT);
    }
  }
  return {};
}

// ---- marshal_request / apply_reply ---------------------------------------

std::expected<wire::SyscallRequest, int> marshal_request(const SyscallEntry& entry,
                                                         const std::uint64_t args[6],
                                                         BodyMemory& mem, std::uint64_t id) {
  if (!entry.args_known) {
    return Unexpected(ENOSYS);
  }
  wire::SyscallRequest req;
  req.set_id(id);
  req.set_nr(entry.nr);
  std::uint64_t regs[6];
  std::copy_n(args, 6, regs);
  struct Patch {
    int arg;
    std::uint32_t value;
  };
  std::vector<Patch> patches;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < entry.nargs; ++i) {
    auto plan = plan_arg(entry, i, args, mem);
    if (!plan) {
      return Unexpected(plan.error());
    }
    if (plan->shape == wire::SHAPE_VALUE) {
      continue;
    }
    wire::PointerArg* p = req.add_pointers();
    p->set_index(i);
    p->set_shape(plan->shape);
    std::expected<void, int> r;
    switch (plan->shape) {
      case wire::SHAPE_BUFFER:
        r = fill_buffer(plan->buf, &entry.args[i], mem, *p->mutable_buffer(), total);
        if (plan->buf.rewrite_arg >= 0) {
          regs[plan->buf.rewrite_arg] = plan->buf.clamped;
        }
        if (plan->buf.patch_arg >= 0) {
          patches.push_back({plan->buf.patch_arg, static_cast<std::uint32_t>(plan->buf.clamped)});
        }
        break;
      case wire::SHAPE_IOVEC:
        r = fill_iovec(plan->iov, mem, *p->mutable_iov(), total);
        regs[plan->iov.count_arg] = plan->iov.segs.size();
        break;
      case wire::SHAPE_MSGHDR:
        r = fill_msghdr(plan->msg, mem, *p->mutable_msghdr(), total);
        break;
      default:
        break;  // SHAPE_NULL: nothing to read
    }
    if (!r) {
      return Unexpected(r.error());
    }
    if (total > kMaxRequest) {
      return Unexpected(ENOMEM);
    }
  }
  // A clamped value-result length: the deputy's copy of it says the clamp.
  for (const Patch& patch : patches) {
    for (wire::PointerArg& p : *req.mutable_pointers()) {
      if (static_cast<int>(p.index()) == patch.arg && p.buffer().data().size() >= 4) {
        std::memcpy(p.mutable_buffer()->mutable_data()->data(), &patch.value, 4);
      }
    }
  }
  for (std::uint64_t r : regs) {
    req.add_args(r);
  }
  return req;
}

std::expected<std::int64_t, int> apply_reply(const SyscallEntry& entry, const std::uint64_t args[6],
                                             const wire::SyscallReply& reply, BodyMemory& mem) {
  // Outputs come in argument order, so a buffer whose capacity is a
  // value-result length is placed before that length is overwritten.
  for (const wire::Output& out : reply.outputs()) {
    if (out.index() >= entry.nargs) {
      return Unexpected(EIO);
    }
    auto plan = plan_arg(entry, out.index(), args, mem);
    if (!plan) {
      return Unexpected(plan.error() == EFAULT || plan.error() == ESRCH ? plan.error() : EIO);
    }
    if (auto r = apply_output(*plan, out, mem); !r) {
      return Unexpected(r.error());
    }
  }
  return reply.ret();
}

// SCM_RIGHTS passes fd numbers: the program's fds are the deputy's at the
// same numbers, so the bytes go as they are; the supervisor checks them
// against the deputy's own fds (sendmsg) and mirrors what arrives (recvmsg).
std::vector<int> scm_rights_fds(std::string_view control) {
  std::vector<int> fds;
  std::size_t off = 0;
  while (off + 16 <= control.size()) {
    const auto* at = reinterpret_cast<const std::uint8_t*>(control.data() + off);
    const auto len = get<std::uint64_t>(at);
    const auto level = get<std::int32_t>(at + 8);
    const auto type = get<std::int32_t>(at + 12);
    if (len < 16 || len > control.size() - off) {
      break;
    }
    if (level == SOL_SOCKET && type == SCM_RIGHTS) {
      for (std::size_t k = 16; k + 4 <= len; k += 4) {
        fds.push_back(get<std::int32_t>(at + k));
      }
    }
    off += (len + 7) & ~std::uint64_t{7};
  }
  return fds;
}

}  // namespace mos::remote
