// Executes a forwarded syscall with local buffers. Three passes: validate
// every size and index before allocating anything, build the local copies and
// check the lengths the kernel will use against them, then call and trim.

#include "home/Executor.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace mos::home {
namespace {

constexpr std::uint64_t kMaxRequestBytes = wire::MAX_REQUEST_BYTES;
constexpr std::uint64_t kMaxBufferBytes = wire::MAX_BUFFER_BYTES;
constexpr int kMaxIovSegments = wire::MAX_IOV_SEGMENTS;
constexpr int kMaxNested = wire::MAX_NESTED;
constexpr int kMaxSyscallNr = 1024;               // far above the table; only a sanity bound
constexpr std::uint64_t kMaxFdSetFds = 1u << 20;  // default fs.nr_open

// Calls that act on the caller's own address space, threads, signal frames or
// life. The supervisor handles them itself (local or special); run by the
// deputy they would damage the deputy, so a request naming one is refused.
constexpr int kNeverRun[] = {
    SYS_mmap,       SYS_mprotect,        SYS_munmap,          SYS_brk,          SYS_mremap,
    SYS_madvise,    SYS_rt_sigaction,    SYS_rt_sigprocmask,  SYS_rt_sigreturn, SYS_sigaltstack,
    SYS_shmat,      SYS_shmdt,           SYS_clone,           SYS_clone3,       SYS_fork,
    SYS_vfork,      SYS_execve,          SYS_execveat,        SYS_exit,         SYS_exit_group,
    SYS_arch_prctl, SYS_set_tid_address, SYS_set_robust_list, SYS_rseq,         SYS_seccomp,
    SYS_ptrace,
};

// One local allocation, zero-filled; never a null pointer, even for size 0,
// so a non-NULL body pointer stays non-NULL.
struct Local {
  std::unique_ptr<std::uint8_t[]> mem;
  std::size_t size = 0;
  std::uint8_t* ptr() const { return mem.get(); }
};

struct Prepared {
  const wire::PointerArg* spec = nullptr;
  Local buffer;                 // SHAPE_BUFFER
  std::vector<Local> nested;    // SHAPE_BUFFER's nested buffers
  std::vector<Local> segments;  // SHAPE_IOVEC, SHAPE_MSGHDR
  std::vector<iovec> iov;       // points into segments
  Local name;                   // SHAPE_MSGHDR
  Local control;                // SHAPE_MSGHDR
  msghdr msg{};                 // SHAPE_MSGHDR
};

wire::SyscallReply refuse(std::uint64_t id, int err) {
  wire::SyscallReply reply;
  reply.set_id(id);
  reply.set_ret(-err);
  return reply;
}

std::uint64_t alloc_size(const wire::Buffer& b) {
  return std::max<std::uint64_t>(b.size(), b.data().size());
}

// Adds the bytes `b` needs to `total`; false (with the errno) when a limit is
// crossed. Nothing is allocated yet.
bool account(const wire::Buffer& b, bool allow_nested, std::uint64_t& total, int& err) {
  const std::uint64_t n = alloc_size(b);
  if (n > kMaxBufferBytes) {
    err = ENOMEM;
    return false;
  }
  total += std::max<std::uint64_t>(n, 1);
  if (b.nested_size() > (allow_nested ? kMaxNested : 0)) {
    err = EINVAL;
    return false;
  }
  for (const wire::Nested& n : b.nested()) {
    if (!account(n.buffer(), false, total, err)) {
      return false;
    }
  }
  if (total > kMaxRequestBytes) {
    err = ENOMEM;
    return false;
  }
  return true;
}

bool account_iov(const wire::Iovec& iov, std::uint64_t& total, int& err) {
  if (iov.segments_size() > kMaxIovSegments) {
    err = EINVAL;
    return false;
  }
  for (const wire::Buffer& s : iov.segments()) {
    if (!account(s, false, total, err)) {
      return false;
    }
  }
  return true;
}

Local make_local(const wire::Buffer& b) {
  Local l;
  l.size = alloc_size(b);
  l.mem = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(l.size, 1));
  std::memcpy(l.mem.get(), b.data().data(), b.data().size());
  return l;
}

void make_iov(const wire::Iovec& spec, Prepared& p) {
  p.segments.reserve(spec.segments_size());
  for (const wire::Buffer& s : spec.segments()) {
    p.segments.push_back(make_local(s));
  }
  for (const Local& l : p.segments) {
    p.iov.push_back(iovec{l.ptr(), l.size});
  }
}

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// base + elem * count <= size, without overflow.
bool fits(std::uint64_t base, std::uint64_t elem, std::uint64_t count, std::uint64_t size) {
  std::uint64_t prod = 0;
  std::uint64_t need = 0;
  if (__builtin_mul_overflow(elem, count, &prod) || __builtin_add_overflow(base, prod, &need)) {
    return false;
  }
  return need <= size;
}

// The buffer of argument `arg` when it is a SHAPE_BUFFER of at least 4 bytes
// (a u32 length the kernel reads or writes), else nullptr.
const Local* u32_buffer(const std::array<Prepared, 6>& prepared, std::uint32_t arg) {
  if (arg >= 6 || prepared[arg].spec == nullptr ||
      prepared[arg].spec->shape() != wire::SHAPE_BUFFER || prepared[arg].buffer.size < 4) {
    return nullptr;
  }
  return &prepared[arg].buffer;
}

bool length_ok(const wire::Buffer& b, const Local& l, const std::uint64_t args[6],
               const std::array<Prepared, 6>& prepared) {
  const wire::LengthRef& len = b.length();
  switch (len.from()) {
    case wire::LengthRef::FROM_NONE:
      return true;
    case wire::LengthRef::FROM_ARG:
      return len.arg() < 6 && fits(len.base(), len.elem(), args[len.arg()], l.size);
    case wire::LengthRef::FROM_DEREF: {
      const Local* src = u32_buffer(prepared, len.arg());
      return src != nullptr && fits(len.base(), len.elem(), load_u32(src->ptr()), l.size);
    }
    case wire::LengthRef::FROM_HEADER:
      return len.arg() <= l.size && l.size - len.arg() >= 4 &&
             fits(len.base(), len.elem(), load_u32(l.ptr() + len.arg()), l.size);
    case wire::LengthRef::FROM_NUL:
      return std::memchr(l.ptr(), 0, l.size) != nullptr;
    case wire::LengthRef::FROM_FDSET: {
      if (len.arg() >= 6) {
        return false;
      }
      const int nfds = static_cast<int>(args[len.arg()]);
      if (nfds <= 0) {
        return true;  // the kernel answers EINVAL or touches nothing
      }
      const std::uint64_t n = std::min<std::uint64_t>(nfds, kMaxFdSetFds);
      return (n + 63) / 64 * 8 <= l.size;
    }
    default:
      return false;
  }
}

bool writeback_ok(const wire::Buffer& b, const std::array<Prepared, 6>& prepared) {
  switch (b.writeback()) {
    case wire::WB_NONE:
    case wire::WB_ALL:
    case wire::WB_RET:
      return true;
    case wire::WB_DEREF:
      return u32_buffer(prepared, b.wb_arg()) != nullptr;
    default:
      return false;
  }
}

// How many bytes of a buffer go back, 0 for none.
std::size_t writeback_bytes(const wire::Buffer& b, const Local& l, std::int64_t ret,
                            const std::array<Prepared, 6>& prepared) {
  if (ret < 0 && !b.wb_on_error()) {
    return 0;
  }
  switch (b.writeback()) {
    case wire::WB_ALL:
      return l.size;
    case wire::WB_RET: {
      if (ret < 0) {
        return 0;
      }
      std::uint64_t prod = 0;
      std::uint64_t n = 0;
      if (__builtin_mul_overflow(b.wb_elem(), static_cast<std::uint64_t>(ret), &prod) ||
          __builtin_add_overflow(b.wb_base(), prod, &n)) {
        return l.size;
      }
      return std::min<std::uint64_t>(n, l.size);
    }
    case wire::WB_DEREF:
      return std::min<std::uint64_t>(load_u32(u32_buffer(prepared, b.wb_arg())->ptr()), l.size);
    default:
      return 0;
  }
}

// The first `total` bytes of the segments, split by segment.
void spread(const std::vector<Local>& segments, std::uint64_t total,
            google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Local& s : segments) {
    if (total == 0) {
      break;
    }
    const std::size_t n = std::min<std::uint64_t>(total, s.size);
    out->Add(std::string(reinterpret_cast<const char*>(s.ptr()), n));
    total -= n;
  }
}

bool never_run(int nr) {
  return std::ranges::find(kNeverRun, nr) != std::end(kNeverRun);
}

}  // namespace

wire::SyscallReply execute(const wire::SyscallRequest& request) {
  const std::uint64_t id = request.id();
  if (request.nr() < 0 || request.nr() >= kMaxSyscallNr || never_run(request.nr())) {
    return refuse(id, ENOSYS);
  }
  if (request.args_size() > 6 || request.pointers_size() > 6) {
    return refuse(id, EINVAL);
  }
  std::uint64_t args[6] = {};
  for (int i = 0; i < request.args_size(); ++i) {
    args[i] = request.args(i);
  }

  // Pass 1: shapes, indices and sizes, before any allocation.
  std::array<Prepared, 6> prepared;
  std::uint64_t total = 0;
  int err = 0;
  for (const wire::PointerArg& p : request.pointers()) {
    if (p.index() >= 6 || prepared[p.index()].spec != nullptr) {
      return refuse(id, EINVAL);
    }
    prepared[p.index()].spec = &p;
    bool ok = true;
    switch (p.shape()) {
      case wire::SHAPE_NULL:
        break;
      case wire::SHAPE_BUFFER:
        ok = account(p.buffer(), true, total, err);
        break;
      case wire::SHAPE_IOVEC:
        ok = account_iov(p.iov(), total, err);
        break;
      case wire::SHAPE_MSGHDR:
        ok = account_iov(p.msghdr().iov(), total, err) &&
             account(p.msghdr().name(), false, total, err) &&
             account(p.msghdr().control(), false, total, err);
        break;
      default:
        return refuse(id, EINVAL);
    }
    if (!ok) {
      return refuse(id, err);
    }
  }

  // Pass 2: local copies; the arguments point at them.
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    Prepared& p = prepared[i];
    if (p.spec == nullptr) {
      continue;
    }
    switch (p.spec->shape()) {
      case wire::SHAPE_NULL:
        args[i] = 0;
        break;
      case wire::SHAPE_BUFFER: {
        const wire::Buffer& b = p.spec->buffer();
        p.buffer = make_local(b);
        for (const wire::Nested& n : b.nested()) {
          if (n.offset() > p.buffer.size || p.buffer.size - n.offset() < sizeof(std::uint64_t)) {
            return refuse(id, EINVAL);
          }
          p.nested.push_back(make_local(n.buffer()));
          const auto addr = reinterpret_cast<std::uint64_t>(p.nested.back().ptr());
          std::memcpy(p.buffer.ptr() + n.offset(), &addr, sizeof addr);
        }
        args[i] = reinterpret_cast<std::uint64_t>(p.buffer.ptr());
        break;
      }
      case wire::SHAPE_IOVEC:
        make_iov(p.spec->iov(), p);
        args[i] = reinterpret_cast<std::uint64_t>(p.iov.data());
        break;
      case wire::SHAPE_MSGHDR: {
        const wire::Msghdr& m = p.spec->msghdr();
        make_iov(m.iov(), p);
        p.name = make_local(m.name());
        p.control = make_local(m.control());
        p.msg.msg_name = p.name.size != 0 ? p.name.ptr() : nullptr;
        p.msg.msg_namelen = static_cast<socklen_t>(p.name.size);
        p.msg.msg_iov = p.iov.empty() ? nullptr : p.iov.data();
        p.msg.msg_iovlen = p.iov.size();
        p.msg.msg_control = p.control.size != 0 ? p.control.ptr() : nullptr;
        p.msg.msg_controllen = p.control.size;
        p.msg.msg_flags = m.flags();
        args[i] = reinterpret_cast<std::uint64_t>(&p.msg);
        break;
      }
      default:
        return refuse(id, EINVAL);
    }
  }

  // The lengths the kernel will use must stay inside the local copies.
  for (const Prepared& p : prepared) {
    if (p.spec == nullptr) {
      continue;
    }
    if (p.spec->shape() == wire::SHAPE_BUFFER) {
      const wire::Buffer& b = p.spec->buffer();
      if (!length_ok(b, p.buffer, args, prepared) || !writeback_ok(b, prepared)) {
        return refuse(id, EINVAL);
      }
    } else if (p.spec->shape() == wire::SHAPE_IOVEC) {
      const wire::Iovec& v = p.spec->iov();
      if (v.count_arg() >= 6 || args[v.count_arg()] != p.iov.size()) {
        return refuse(id, EINVAL);
      }
    }
  }

  const long r = ::syscall(request.nr(), args[0], args[1], args[2], args[3], args[4], args[5]);
  const std::int64_t ret = r == -1 ? -static_cast<std::int64_t>(errno) : r;

  wire::SyscallReply reply;
  reply.set_id(id);
  reply.set_ret(ret);
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const Prepared& p = prepared[i];
    if (p.spec == nullptr) {
      continue;
    }
    switch (p.spec->shape()) {
      case wire::SHAPE_BUFFER: {
        const std::size_t n = writeback_bytes(p.spec->buffer(), p.buffer, ret, prepared);
        if (n != 0) {
          wire::Output* out = reply.add_outputs();
          out->set_index(i);
          out->set_data(p.buffer.ptr(), n);
        }
        break;
      }
      case wire::SHAPE_IOVEC:
        if (p.spec->iov().spread_ret() && ret > 0) {
          wire::Output* out = reply.add_outputs();
          out->set_index(i);
          spread(p.segments, ret, out->mutable_segments());
        }
        break;
      case wire::SHAPE_MSGHDR:
        if (p.spec->msghdr().output() && ret >= 0) {
          wire::Output* out = reply.add_outputs();
          out->set_index(i);
          wire::MsghdrResult* m = out->mutable_msghdr();
          if (p.msg.msg_name != nullptr) {
            m->set_name(p.name.ptr(), std::min<std::size_t>(p.msg.msg_namelen, p.name.size));
          }
          m->set_name_len(p.msg.msg_namelen);
          if (p.msg.msg_control != nullptr) {
            m->set_control(p.control.ptr(),
                           std::min<std::size_t>(p.msg.msg_controllen, p.control.size));
          }
          m->set_control_len(p.msg.msg_controllen);
          m->set_flags(p.msg.msg_flags);
          spread(p.segments, ret, m->mutable_segments());
        }
        break;
      default:
        break;
    }
  }
  return reply;
}

}  // namespace mos::home
