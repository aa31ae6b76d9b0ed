#include "remote/detail/Tracee.h"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/Files.h"

namespace mos::remote::detail {

namespace {

std::string err(const char* what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

// The largest XSAVE area this code accepts (AVX-512 needs about 2.7 KiB; AMX
// tiles 11 KiB).
constexpr std::size_t kMaxXstate = 16 << 10;

}  // namespace

std::expected<std::vector<MapArea>, std::string> read_maps(pid_t pid) {
  auto text = common::read_text_file(fmt::format("/proc/{}/maps", pid));
  if (!text) {
    return std::unexpected(std::string("cannot read the body's maps"));
  }
  std::vector<MapArea> out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    MapArea a;
    char perms[8] = {};
    unsigned dev_major = 0, dev_minor = 0;
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    int used = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                    &dev_major, &dev_minor, &inode, &used) < 7) {
      continue;
    }
    a.start = start;
    a.end = end;
    a.offset = offset;
    a.inode = inode;
    a.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
             (perms[2] == 'x' ? PROT_EXEC : 0);
    a.shared = perms[3] == 's';
    if (used > 0 && static_cast<std::size_t>(used) < line.size()) {
      a.name = line.substr(static_cast<std::size_t>(used));
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::expected<Tracee, std::string> Tracee::seize(pid_t pid) {
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_EXITKILL) != 0) {
    return std::unexpected(err("ptrace(SEIZE)"));
  }
  Tracee t(pid);
  t.attached_ = true;
  t.mem_.reset(::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDWR | O_CLOEXEC));
  if (!t.mem_) {
    return std::unexpected(err("open /proc/PID/mem"));
  }
  t.pagemap_.reset(::open(fmt::format("/proc/{}/pagemap", pid).c_str(), O_RDONLY | O_CLOEXEC));
  return t;
}

Tracee::Tracee(Tracee&& o) noexcept
    : pid_(o.pid_),
      attached_(o.attached_),
      mem_(std::move(o.mem_)),
      pagemap_(std::move(o.pagemap_)),
      syscall_ip_(o.syscall_ip_),
      vdso_offset_(o.vdso_offset_),
      held_(std::move(o.held_)) {
  o.attached_ = false;
}

Tracee::~Tracee() {
  if (attached_) {
    detach();
  }
}

std::expected<int, std::string> Tracee::wait_stop(std::chrono::milliseconds limit,
                                                  const Pump& pump) {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, __WALL | WNOHANG);
    if (r == pid_) {
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        attached_ = false;
        return std::unexpected(std::string("the body died"));
      }
      return status;
    }
    if (r < 0 && errno != EINTR) {
      attached_ = false;
      return std::unexpected(err("waitpid"));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::unexpected(std::string("the body did not stop in time"));
    }
    // Most stops come within microseconds (a cross-CPU wake-up is tens):
    // look again at once for the first few milliseconds (answering
    // notifications, yielding the CPU), then in 1 ms steps.
    if (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(5)) {
      pump(0);
      ::sched_yield();
    } else {
      pump(1);
    }
  }
}

std::expected<void, std::string> Tracee::interrupt(std::chrono::milliseconds limit,
                                                   const Pump& pump) {
  if (::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) {
    return std::unexpected(err("ptrace(INTERRUPT)"));
  }
  for (;;) {
    auto st = wait_stop(limit, pump);
    if (!st) {
      return std::unexpected(st.error());
    }
    if (WIFSTOPPED(*st) && (*st >> 16) == PTRACE_EVENT_STOP) {
      return {};
    }
    // A signal-delivery stop came first: the signal was dequeued. Keep it
    // (it moves with the body, or is queued again if it stays), suppress
    // it, and take the interrupt's stop that is still due.
    if (WIFSTOPPED(*st)) {
      hold_signal();
      if (::ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0) {
        return std::unexpected(err("ptrace(CONT)"));
      }
    }
  }
}

void Tracee::hold_signal() {
  siginfo_t si{};
  if (::ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &si) == 0) {
    held_.emplace_back(reinterpret_cast<const char*>(&si), sizeof si);
  }
}

void Tracee::detach() {
  if (attached_) {
    ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    attached_ = false;
  }
}

void Tracee::kill() {
  ::kill(pid_, SIGKILL);
  if (attached_) {
    // The tracer sees the end first; the parent (the namespace's, or a
    // body) is told after we have collected it.
    int status = 0;
    while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
    attached_ = false;
  }
}

std::expected<user_regs_struct, std::string> Tracee::regs() const {
  user_regs_struct r{};
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &r) != 0) {
    return std::unexpected(err("ptrace(GETREGS)"));
  }
  return r;
}

std::expected<void, std::string> Tracee::set_regs(const user_regs_struct& r) const {
  if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &r) != 0) {
    return std::unexpected(err("ptrace(SETREGS)"));
  }
  return {};
}

std::expected<std::string, std::string> Tracee::xstate() const {
  std::string buf(kMaxXstate, '\0');
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_GETREGSET, pid_, NT_X86_XSTATE, &iov) != 0) {
    return std::unexpected(err("ptrace(GETREGSET, NT_X86_XSTATE)"));
  }
  buf.resize(iov.iov_len);
  return buf;
}

std::expected<void, std::string> Tracee::set_xstate(const std::string& x) const {
  std::string buf = x;
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_SETREGSET, pid_, NT_X86_XSTATE, &iov) != 0) {
    return std::unexpected(err("ptrace(SETREGSET, NT_X86_XSTATE)"));
  }
  return {};
}

std::expected<std::uint64_t, std::string> Tracee::blocked() const {
  std::uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, pid_, sizeof mask, &mask) != 0) {
    return std::unexpected(err("ptrace(GETSIGMASK)"));
  }
  return mask;
}

std::expected<void, std::string> Tracee::set_blocked(std::uint64_t mask) const {
  if (::ptrace(PTRACE_SETSIGMASK, pid_, sizeof mask, &mask) != 0) {
    return std::unexpected(err("ptrace(SETSIGMASK)"));
  }
  return {};
}

std::expected<Tracee::Rseq, std::string> Tracee::rseq() const {
  __ptrace_rseq_configuration c{};
  if (::ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid_, sizeof c, &c) < 0) {
    return std::unexpected(err("ptrace(GET_RSEQ_CONFIGURATION)"));
  }
  return Rseq{c.rseq_abi_pointer, c.rseq_abi_size, c.signature};
}

std::expected<std::vector<std::string>, std::string> Tracee::pending(bool shared) const {
  std::vector<std::string> out;
  for (;;) {
    __ptrace_peeksiginfo_args a{};
    a.off = out.size();
    a.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
    a.nr = 32;
    siginfo_t si[32];
    const long n = ::ptrace(PTRACE_PEEKSIGINFO, pid_, &a, si);
    if (n < 0) {
      return std::unexpected(err("ptrace(PEEKSIGINFO)"));
    }
    for (long i = 0; i < n; ++i) {
      out.emplace_back(reinterpret_cast<const char*>(&si[i]), sizeof(siginfo_t));
    }
    if (n < 32) {
      return out;
    }
  }
}

// process_vm_readv/writev first (one pass over the page tables);
// /proc/PID/mem (which also reaches what the protections forbid, and
// writes to read-only private pages) for what they could not.
bool Tracee::transfer(std::uint64_t addr, void* buf, std::size_t len, bool to_tracee) const {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  const ssize_t whole = to_tracee ? ::process_vm_writev(pid_, &local, 1, &remote, 1, 0)
                                  : ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (whole == static_cast<ssize_t>(len)) {
    return true;
  }
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const ssize_t n = to_tracee ? ::pwrite(mem_.get(), p, len, static_cast<off_t>(addr))
                                : ::pread(mem_.get(), p, len, static_cast<off_t>(addr));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    addr += static_cast<std::uint64_t>(n);
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

namespace {
// struct pm_scan_arg and struct page_region (not in this system's headers yet).
struct PmScanArg {
  std::uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
}  // namespace

std::expected<std::vector<PageRun>, std::string> scan_pages(int pagemap_fd, std::uint64_t start,
                                                            std::uint64_t end,
                                                            const PageScan& how) {
  std::vector<PageRun> out;
  PageRun vec[256];
  for (std::uint64_t at = start; at < end;) {
    PmScanArg a{};
    a.size = sizeof a;
    a.flags = how.flags;
    a.start = at;
    a.end = end;
    a.vec = reinterpret_cast<std::uint64_t>(vec);
    a.vec_len = std::size(vec);
    a.category_mask = how.all_of;
    a.category_anyof_mask = how.any_of;
    a.return_mask = how.report;
    const int n = ::ioctl(pagemap_fd, kPagemapScan, &a);
    if (n < 0) {
      return std::unexpected(err("PAGEMAP_SCAN"));
    }
    for (int i = 0; i < n; ++i) {
      if (!out.empty() && out.back().end == vec[i].start &&
          out.back().categories == vec[i].categories) {
        out.back().end = vec[i].end;
      } else {
        out.push_back(vec[i]);
      }
    }
    if (a.walk_end <= at) {
      break;
    }
    at = a.walk_end;
  }
  return out;
}

std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> Tracee::populated(
    std::uint64_t start, std::uint64_t end) const {
  if (!pagemap_) {
    return std::nullopt;
  }
  auto runs = scan_pages(pagemap_.get(), start, end,
                         {.any_of = page::kPresent | page::kSwapped,
                          .report = page::kPresent | page::kSwapped | page::kPfnZero});
  if (!runs) {
    return std::nullopt;
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& r : *runs) {
    if (r.categories & page::kPfnZero) {
      continue;  // the zero page: reads as zeros, a hole
    }
    if (!out.empty() && out.back().second == r.start) {
      out.back().second = r.end;
    } else {
      out.emplace_back(r.start, r.end);
    }
  }
  return out;
}

std::expected<void, std::string> Tracee::use_vdso(std::uint64_t vdso_start,
                                                  std::uint64_t vdso_end) {
  if (vdso_offset_ == 0) {
    std::string code(vdso_end - vdso_start, '\0');
    if (!read(vdso_start, code.data(), code.size())) {
      return std::unexpected(err("reading the vDSO"));
    }
    const auto at = code.find("\x0f\x05");
    if (at == std::string::npos) {
      return std::unexpected(std::string("no syscall instruction in the vDSO"));
    }
    vdso_offset_ = at;
  }
  syscall_ip_ = vdso_start + vdso_offset_;
  return {};
}

std::expected<std::int64_t, std::string> Tracee::syscall(long nr,
                                                         std::initializer_list<std::uint64_t> args,
                                                         const Pump& pump) {
  if (syscall_ip_ == 0) {
    return std::unexpected(std::string("no syscall instruction known"));
  }
  auto r = regs();
  if (!r) {
    return std::unexpected(r.error());
  }
  user_regs_struct s = *r;
  std::uint64_t a[6] = {};
  std::size_t i = 0;
  for (auto v : args) {
    if (i < 6) {
      a[i++] = v;
    }
  }
  s.rip = syscall_ip_;
  s.rax = static_cast<std::uint64_t>(nr);
  s.orig_rax = ~0ull;  // not in a syscall: no restart on the way out
  s.rdi = a[0];
  s.rsi = a[1];
  s.rdx = a[2];
  s.r10 = a[3];
  s.r8 = a[4];
  s.r9 = a[5];
  if (auto w = set_regs(s); !w) {
    return std::unexpected(w.error());
  }
  if (::ptrace(PTRACE_SINGLESTEP, pid_, nullptr, nullptr) != 0) {
    return std::unexpected(err("ptrace(SINGLESTEP)"));
  }
  for (;;) {
    auto st = wait_stop(std::chrono::seconds(10), pump);
    if (!st) {
      return std::unexpected(fmt::format("injected syscall {}: {}", nr, st.error()));
    }
    if (WIFSTOPPED(*st) && WSTOPSIG(*st) == SIGTRAP && (*st >> 16) == 0) {
      break;
    }
    // A signal sent to it meanwhile (signal-delivery stop): held, as in
    // interrupt(); the step goes on.
    if (WIFSTOPPED(*st) && (*st >> 16) == 0) {
      if (WSTOPSIG(*st) == SIGSEGV || WSTOPSIG(*st) == SIGBUS || WSTOPSIG(*st) == SIGILL) {
        auto at = regs();
        return std::unexpected(fmt::format("injected syscall {}: signal {} at {:#x}", nr,
                                           WSTOPSIG(*st), at ? at->rip : 0));
      }
      hold_signal();
    }
    if (::ptrace(PTRACE_SINGLESTEP, pid_, nullptr, nullptr) != 0) {
      return std::unexpected(err("ptrace(SINGLESTEP)"));
    }
  }
  auto after = regs();
  if (!after) {
    return std::unexpected(after.error());
  }
  if (after->rip != syscall_ip_ + 2) {
    return std::unexpected(
        fmt::format("injected syscall {} stopped at {:#x}, not after it", nr, after->rip));
  }
  if (std::getenv("MOS_TRACE_INJECT")) {
    std::fprintf(stderr, "inject %d: %ld(%llx, %llx) -> %lld\n", pid_, nr,
                 static_cast<unsigned long long>(s.rdi), static_cast<unsigned long long>(s.rsi),
                 static_cast<long long>(after->rax));
  }
  return static_cast<std::int64_t>(after->rax);
}

}  // namespace mos::remote::detail
