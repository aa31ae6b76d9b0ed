#include "remote/detail/Image.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <linux/prctl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>
#include <sstream>

#include "common/Files.h"
#include "common/FrameIo.h"
#include "common/Log.h"
#include "remote/detail/Inject.h"
#include "remote/detail/PageRoad.h"
#include "remote/detail/ProcView.h"

namespace mos::remote::detail {

namespace {

constexpr std::uint64_t kPage = 4096;
// ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK.
constexpr std::int64_t kRestartCodes[] = {-512, -513, -514, -516};
// Offset of XCR0 in the software bytes of the FXSAVE area.
constexpr std::size_t kXcr0Offset = 464;

// The kernel's struct sigaction for rt_sigaction (x86-64) and stack_t.
struct KernelSigaction {
  std::uint64_t handler, flags, restorer, mask;
};
struct KernelStack {
  std::uint64_t sp;
  std::int32_t flags;
  std::int32_t pad;
  std::uint64_t size;
};

// struct prctl_mm_map (linux/prctl.h), spelled out to keep the layout ours.
struct MmMap {
  std::uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
      arg_end, env_start, env_end;
  std::uint64_t auxv;
  std::uint32_t auxv_size;
  std::uint32_t exe_fd;
};
static_assert(sizeof(MmMap) == 104);

std::string bytes_of(const void* p, std::size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

template <typename T>
bool from_bytes(const std::string& s, T& out) {
  if (s.size() != sizeof(T)) {
    return false;
  }
  std::memcpy(&out, s.data(), sizeof(T));
  return true;
}

bool overlaps(std::uint64_t a0, std::uint64_t a1, std::uint64_t b0, std::uint64_t b1) {
  return a0 < b1 && b0 < a1;
}

// A free range of `len` bytes, clear of every range in `used`.
std::uint64_t find_hole(std::uint64_t len,
                        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& used) {
  for (std::uint64_t at = 8ull << 30; at < (0x7000ull << 32); at += 1ull << 30) {
    bool clear = true;
    for (const auto& [s, e] : used) {
      if (overlaps(at, at + len, s, e)) {
        clear = false;
        break;
      }
    }
    if (clear) {
      return at;
    }
  }
  return 0;
}

const MapArea* find_named(const std::vector<MapArea>& v, const std::string& name) {
  for (const auto& a : v) {
    if (a.name == name) {
      return &a;
    }
  }
  return nullptr;
}

// The image's areas from the maps; refuses a shared writable one.
std::expected<void, std::string> add_areas(wire::MigrateImage& img,
                                           const std::vector<MapArea>& maps) {
  for (const auto& a : maps) {
    if (a.shared && (a.prot & PROT_WRITE)) {
      return std::unexpected(fmt::format(
          "shared writable mapping {} at {:#x}: its writes could not be seen by the other side",
          a.name.empty() ? "(anonymous)" : a.name, a.start));
    }
    if (a.name == "[vsyscall]") {
      continue;
    }
    auto* m = img.add_areas();
    m->set_start(a.start);
    m->set_end(a.end);
    m->set_prot(a.prot);
    m->set_name(a.name);
    m->set_stack(a.name == "[stack]");
  }
  return {};
}

}  // namespace

std::expected<wire::MigrateImage, std::string> list_areas(pid_t pid) {
  MOS_TRY(maps, read_maps(pid));
  wire::MigrateImage img;
  if (auto r = add_areas(img, *maps); !r) {
    return std::unexpected(r.error());
  }
  img.set_preliminary(true);
  return img;
}

std::uint64_t xstate_features(const std::string& xstate) {
  std::uint64_t x = 0;
  if (xstate.size() >= kXcr0Offset + sizeof x) {
    std::memcpy(&x, xstate.data() + kXcr0Offset, sizeof x);
  }
  return x;
}

user_regs_struct with_restart(user_regs_struct r) {
  const auto ax = static_cast<std::int64_t>(r.rax);
  if (static_cast<std::int64_t>(r.orig_rax) >= 0 &&
      std::find(std::begin(kRestartCodes), std::end(kRestartCodes), ax) !=
          std::end(kRestartCodes)) {
    r.rax = r.orig_rax;
    r.rip -= 2;
  }
  r.orig_rax = ~0ull;  // out of the call: the kernel must not restart it again
  return r;
}

std::expected<wire::MigrateImage, std::string> dump_state(Tracee& t, const Tracee::Pump& pump) {
  const pid_t pid = t.pid();
  std::error_code ec;
  const auto tasks =
      std::distance(std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec),
                    std::filesystem::directory_iterator());
  if (ec || tasks != 1) {
    return std::unexpected(
        std::string("the program has threads (only single-threaded bodies move)"));
  }
  MOS_TRY(maps, read_maps(pid));
  wire::MigrateImage img;
  if (auto r = add_areas(img, *maps); !r) {
    return std::unexpected(r.error());
  }
  const MapArea* vdso = find_named(*maps, "[vdso]");
  if (vdso == nullptr) {
    return std::unexpected(std::string("the body has no vDSO"));
  }
  if (auto r = t.use_vdso(vdso->start, vdso->end); !r) {
    return std::unexpected(r.error());
  }
  MOS_TRY(regs, t.regs());
  const user_regs_struct saved = *regs;
  user_regs_struct fixed = with_restart(*regs);
  img.set_regs(bytes_of(&fixed, sizeof fixed));
  MOS_TRY(xs, t.xstate());
  img.set_xcr0(xstate_features(*xs));
  img.set_xstate(std::move(*xs));
  MOS_TRY(mask, t.blocked());
  img.set_blocked(*mask);
  MOS_TRY(rs, t.rseq());
  img.set_rseq_ptr(rs->ptr);
  img.set_rseq_len(rs->len);
  img.set_rseq_sig(rs->sig);
  MOS_TRY(thread_q, t.pending(false));
  MOS_TRY(shared_q, t.pending(true));
  for (const auto& s : t.held()) {
    img.add_pending(s);
  }
  for (const auto& s : *thread_q) {
    img.add_pending(s);
  }
  for (const auto& s : *shared_q) {
    img.add_pending_shared(s);
  }

  // What only the body can say about itself: its handlers, its altstack,
  // its brk. Asked with injected calls, answers in a scratch page.
  MOS_TRY(scratch, call(t, SYS_mmap,
                        {0, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0},
                        pump, "mmap (scratch)"));
  const auto page = static_cast<std::uint64_t>(*scratch);
  std::string failure;
  // Only the signals whose action is not the default (the kernel's SigCgt
  // and SigIgn), and SIGCHLD (whose flags matter even with SIG_DFL): a
  // default action's flags and mask do nothing. (One injected call each:
  // the dump's largest cost.)
  std::uint64_t asked = 1ull << (SIGCHLD - 1);
  {
    const std::string status =
        common::read_text_file(fmt::format("/proc/{}/status", pid)).value_or("");
    for (const char* key : {"SigCgt:", "SigIgn:"}) {
      const auto at = status.find(key);
      if (at == std::string::npos) {
        asked = ~0ull;  // cannot tell: ask for all
        break;
      }
      asked |= std::strtoull(status.c_str() + at + std::strlen(key), nullptr, 16);
    }
  }
  for (int sig = 1; sig <= 64 && failure.empty(); ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || (asked & (1ull << (sig - 1))) == 0) {
      continue;
    }
    auto r = call(t, SYS_rt_sigaction, {static_cast<std::uint64_t>(sig), 0, page, 8}, pump,
                  "rt_sigaction");
    KernelSigaction ka{};
    if (!r || !t.read(page, &ka, sizeof ka)) {
      failure = r ? std::string("reading a signal action") : r.error();
      break;
    }
    if (ka.handler != 0 || ka.flags != 0 || ka.mask != 0) {
      auto* a = img.add_actions();
      a->set_signo(sig);
      a->set_handler(ka.handler);
      a->set_flags(ka.flags);
      a->set_restorer(ka.restorer);
      a->set_mask(ka.mask);
    }
  }
  KernelStack ss{};
  if (failure.empty()) {
    auto r = call(t, SYS_sigaltstack, {0, page}, pump, "sigaltstack");
    if (!r || !t.read(page, &ss, sizeof ss)) {
      failure = r ? std::string("reading the altstack") : r.error();
    }
  }
  std::uint64_t brk = 0;
  if (failure.empty()) {
    auto r = call(t, SYS_brk, {0}, pump, "brk");
    if (r) {
      brk = static_cast<std::uint64_t>(*r);
    } else {
      failure = r.error();
    }
  }
  (void)call(t, SYS_munmap, {page, kPage}, pump, "munmap (scratch)");
  (void)t.set_regs(saved);
  if (!failure.empty()) {
    return std::unexpected(failure);
  }
  img.set_altstack_sp(ss.sp);
  img.set_altstack_size(ss.size);
  img.set_altstack_flags(ss.flags);

  const auto st = proc_stat_fields(pid);
  MmMap mm{};
  mm.start_code = st[26];
  mm.end_code = st[27];
  mm.start_stack = st[28];
  mm.start_data = st[45];
  mm.end_data = st[46];
  mm.start_brk = st[47];
  mm.brk = std::max(brk, mm.start_brk);
  mm.arg_start = st[48];
  mm.arg_end = st[49];
  mm.env_start = st[50];
  mm.env_end = st[51];
  mm.exe_fd = ~0u;
  img.set_mm_map(bytes_of(&mm, sizeof mm));
  img.set_auxv(common::read_text_file(fmt::format("/proc/{}/auxv", pid)).value_or(""));
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  img.set_monotonic_ns(static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec);
  return img;
}

std::expected<void, std::string> queue_signals(Tracee& t, std::uint64_t scratch,
                                               const std::vector<std::string>& thread,
                                               const std::vector<std::string>& shared,
                                               const Tracee::Pump& pump) {
  if (thread.empty() && shared.empty()) {
    return {};
  }
  if (auto r = t.set_blocked(~0ull); !r) {
    return std::unexpected(r.error());
  }
  MOS_TRY(self, call(t, SYS_getpid, {}, pump, "getpid"));
  MOS_TRY(tid, call(t, SYS_gettid, {}, pump, "gettid"));
  auto one = [&](const std::string& si, bool to_process) -> std::expected<void, std::string> {
    siginfo_t info{};
    if (si.size() != sizeof info) {
      return std::unexpected(std::string("malformed queued signal"));
    }
    std::memcpy(&info, si.data(), sizeof info);
    if (info.si_signo <= 0 || info.si_signo > 64 || !t.write(scratch, &info, sizeof info)) {
      return std::unexpected(std::string("malformed queued signal"));
    }
    const auto sig = static_cast<std::uint64_t>(info.si_signo);
    auto r = to_process
                 ? call(t, SYS_rt_sigqueueinfo, {static_cast<std::uint64_t>(*self), sig, scratch},
                        pump, "rt_sigqueueinfo")
                 : call(t, SYS_rt_tgsigqueueinfo,
                        {static_cast<std::uint64_t>(*self), static_cast<std::uint64_t>(*tid), sig,
                         scratch},
                        pump, "rt_tgsigqueueinfo");
    if (!r) {
      return std::unexpected(r.error());
    }
    return {};
  };
  for (const auto& s : thread) {
    if (auto r = one(s, false); !r) {
      return r;
    }
  }
  for (const auto& s : shared) {
    if (auto r = one(s, true); !r) {
      return r;
    }
  }
  return {};
}

std::expected<void, std::string> resume_frozen(Tracee& t, const user_regs_struct& regs,
                                               const Tracee::Pump& pump) {
  if (!t.held().empty()) {
    auto mask = t.blocked();
    auto maps = read_maps(t.pid());
    const MapArea* vdso = maps ? find_named(*maps, "[vdso]") : nullptr;
    if (vdso != nullptr && t.use_vdso(vdso->start, vdso->end)) {
      auto page = call(t, SYS_mmap,
                       {0, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0},
                       pump, "mmap (scratch)");
      if (page) {
        if (auto r = queue_signals(t, static_cast<std::uint64_t>(*page), t.held(), {}, pump); !r) {
          MOS_LOG_WARN("migration: signals held at the freeze are lost: {}", r.error());
        }
        (void)call(t, SYS_munmap, {static_cast<std::uint64_t>(*page), kPage}, pump, "munmap");
      }
    }
    if (mask) {
      (void)t.set_blocked(*mask);
    }
    t.clear_held();
  }
  auto r = t.set_regs(with_restart(regs));
  t.detach();
  return r;
}

namespace {
// A page for injected calls at `at`, its last two bytes a syscall
// instruction, which the injections use from then on.
std::expected<void, std::string> map_scratch(Tracee& t, std::uint64_t at,
                                             const Tracee::Pump& pump) {
  MOS_TRY(sp, call(t, SYS_mmap,
                   {at, kPage, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ~0ull, 0},
                   pump, "mmap (scratch)"));
  const char code[2] = {'\x0f', '\x05'};
  if (!t.write(at + kPage - 2, code, 2)) {
    return std::unexpected(std::string("cannot write the scratch page"));
  }
  t.use_ip(at + kPage - 2);
  return {};
}
}  // namespace

std::expected<void, std::string> prepare_stub(Tracee& t, const Tracee::Pump& pump,
                                              const std::vector<int>& close_fds) {
  MOS_TRY(mine, read_maps(t.pid()));
  const MapArea* my_vdso = find_named(*mine, "[vdso]");
  if (my_vdso == nullptr) {
    return std::unexpected(std::string("the new process has no vDSO"));
  }
  if (auto r = t.use_vdso(my_vdso->start, my_vdso->end); !r) {
    return std::unexpected(r.error());
  }
  for (int fd : close_fds) {
    MOS_TRY(r, call(t, SYS_close, {static_cast<std::uint64_t>(fd)}, pump, "close"));
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> used;
  for (const auto& a : *mine) {
    used.emplace_back(a.start, a.end);
  }
  const std::uint64_t scratch = find_hole(2 * kPage, used);
  if (scratch == 0) {
    return std::unexpected(std::string("no room for a scratch page"));
  }
  if (auto r = map_scratch(t, scratch, pump); !r) {
    return r;
  }
  // Away with its own mappings (its code and stack too), its rseq area
  // first: the kernel writes there on every return to it.
  MOS_TRY(my_rseq, t.rseq());
  if (my_rseq->ptr != 0) {
    MOS_TRY(r, call(t, SYS_rseq,
                    {my_rseq->ptr, my_rseq->len, 1 /* RSEQ_FLAG_UNREGISTER */, my_rseq->sig}, pump,
                    "rseq (unregister)"));
  }
  for (const auto& a : *mine) {
    if (a.special()) {
      continue;
    }
    MOS_TRY(r, call(t, SYS_munmap, {a.start, a.end - a.start}, pump, "munmap"));
  }
  return {};
}

std::expected<void, std::string> restore(Tracee& t, wire::MigrateImage& image, PageSource& in,
                                         const Tracee::Pump& pump, const RestoreOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  auto phase = [&](const char* what) {
    MOS_LOG_DEBUG(
        "restore {}: {} at {} us", t.pid(), what,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  };
  if (!opts.prepared) {
    if (auto r = prepare_stub(t, pump, opts.close_fds); !r) {
      return std::unexpected(r.error());
    }
  }
  MOS_TRY(my_xs, t.xstate());
  const std::uint64_t have = xstate_features(*my_xs);
  if ((image.xcr0() & ~have) != 0) {
    return std::unexpected(
        fmt::format("this CPU lacks features the program may be using (XSAVE {:#x}, here {:#x})",
                    image.xcr0(), have));
  }
  // What is left of the new process: the kernel's areas and the scratch page.
  MOS_TRY(mine, read_maps(t.pid()));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> used;
  for (const auto& a : image.areas()) {
    used.emplace_back(a.start(), a.end());
  }
  for (const auto& a : *mine) {
    used.emplace_back(a.start, a.end);
  }
  // The special areas must exist here with the same sizes.
  struct Move {
    std::uint64_t from, to, len;
  };
  std::vector<Move> moves;
  for (const auto& a : image.areas()) {
    if (!kernel_area(a.name())) {
      continue;
    }
    const MapArea* here = find_named(*mine, a.name());
    if (here == nullptr || here->end - here->start != a.end() - a.start()) {
      return std::unexpected(fmt::format("this kernel's {} differs from the source's", a.name()));
    }
    moves.push_back({here->start, a.start(), a.end() - a.start()});
  }
  // The scratch page where the image has nothing (moved if it has).
  std::uint64_t scratch = 0;
  for (const auto& a : *mine) {
    if (!a.special()) {
      scratch = a.start;
    }
  }
  bool clash = scratch == 0;
  for (const auto& a : image.areas()) {
    clash = clash || overlaps(a.start(), a.end(), scratch, scratch + kPage);
  }
  if (clash) {
    const std::uint64_t old = scratch;
    scratch = find_hole(2 * kPage, used);
    if (scratch == 0) {
      return std::unexpected(std::string("no room for a scratch page"));
    }
    if (auto r = map_scratch(t, scratch, pump); !r) {
      return r;
    }
    if (old != 0) {
      MOS_TRY(u, call(t, SYS_munmap, {old, kPage}, pump, "munmap (scratch)"));
    }
  }
  used.emplace_back(scratch, scratch + 2 * kPage);
  // The vDSO and vvar areas to the addresses the program knows: through
  // holes first, so that no move lands on another one.
  for (auto& m : moves) {
    const std::uint64_t hole = find_hole(m.len, used);
    used.emplace_back(hole, hole + m.len);
    MOS_TRY(r, call(t, SYS_mremap, {m.from, m.len, m.len, MREMAP_MAYMOVE | MREMAP_FIXED, hole},
                    pump, "mremap (vDSO)"));
    m.from = hole;
  }
  for (const auto& m : moves) {
    MOS_TRY(r, call(t, SYS_mremap, {m.from, m.len, m.len, MREMAP_MAYMOVE | MREMAP_FIXED, m.to},
                    pump, "mremap (vDSO)"));
  }
  phase("old areas gone, vDSO moved");
  // Every area at its address, writable until its pages are in.
  auto map_at = [&](std::uint64_t start, std::uint64_t end,
                    bool stack) -> std::expected<void, std::string> {
    if (end <= start || (start % kPage) != 0 || (end % kPage) != 0 ||
        overlaps(start, end, scratch, scratch + kPage)) {
      return std::unexpected(fmt::format("malformed area {:#x}-{:#x}", start, end));
    }
    const std::uint64_t flags =
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (stack ? MAP_GROWSDOWN : 0);
    MOS_TRY(r, call(t, SYS_mmap, {start, end - start, PROT_READ | PROT_WRITE, flags, ~0ull, 0},
                    pump, "mmap"));
    return {};
  };
  for (const auto& a : image.areas()) {
    if (kernel_area(a.name())) {
      continue;
    }
    if (auto r = map_at(a.start(), a.end(), a.stack()); !r) {
      return r;
    }
  }
  phase("areas mapped");
  auto program_areas = [](const wire::MigrateImage& img) {
    Ranges v;
    for (const auto& a : img.areas()) {
      if (!kernel_area(a.name())) {
        v.emplace_back(a.start(), a.end());
      }
    }
    return v;
  };
  auto inside = [&](std::uint64_t addr, std::uint64_t len) {
    if (addr + len < addr) {
      return false;
    }
    return subtract({{addr, addr + len}}, program_areas(image)).empty();
  };
  // Pre-copy: the image of the frozen body, after the rounds. Its areas
  // replace the first ones: what went is unmapped, what is new (`fresh`)
  // mapped anew; the kernel's areas must not have moved.
  auto take_final = [&](wire::MigrateImage next) -> std::expected<void, std::string> {
    for (const auto& a : next.areas()) {
      if (!kernel_area(a.name())) {
        continue;
      }
      bool same = false;
      for (const auto& b : image.areas()) {
        same = same || (b.name() == a.name() && b.start() == a.start() && b.end() == a.end());
      }
      if (!same) {
        return std::unexpected(fmt::format("the program moved its {} during the move", a.name()));
      }
    }
    const Ranges before = program_areas(image), now = program_areas(next);
    Ranges fresh;
    for (const auto& r : next.fresh()) {
      if (!subtract({{r.start(), r.end()}}, now).empty()) {
        return std::unexpected(
            fmt::format("fresh range {:#x}-{:#x} outside the areas", r.start(), r.end()));
      }
      fresh.emplace_back(r.start(), r.end());
    }
    if (!subtract(subtract(now, before), fresh).empty()) {
      return std::unexpected(std::string("the final image has new areas it does not send"));
    }
    for (const auto& [from, to] : subtract(before, now)) {
      MOS_TRY(r, call(t, SYS_munmap, {from, to - from}, pump, "munmap"));
    }
    for (const auto& [from, to] : fresh) {
      bool stack = false;
      for (const auto& a : next.areas()) {
        stack = stack || (a.stack() && a.start() == from);
      }
      if (auto r = map_at(from, to, stack); !r) {
        return r;
      }
    }
    image = std::move(next);
    return {};
  };
  // The pages.
  bool final_image = !image.preliminary();
  for (;;) {
    auto f = in.receive(std::chrono::seconds(30));
    if (!f) {
      return std::unexpected(fmt::format("the source stopped sending: {}", f.error()));
    }
    if (f->type == common::to_wire(common::MsgType::kMigrateEnd)) {
      if (!final_image) {
        return std::unexpected(std::string("the pages ended before the final image"));
      }
      break;
    }
    if (f->type == common::to_wire(common::MsgType::kMigrateImage)) {
      wire::MigrateImage next;
      if (final_image || !common::parse_payload(*f, next) || next.preliminary() ||
          next.program_pid() != image.program_pid()) {
        return std::unexpected(std::string("an unexpected second image"));
      }
      if (auto r = take_final(std::move(next)); !r) {
        return r;
      }
      final_image = true;
      phase("final image in");
      continue;
    }
    if (f->type == common::to_wire(common::MsgType::kMigrateZero) && f->payload.size() == 16) {
      std::uint64_t range[2];
      std::memcpy(range, f->payload.data(), sizeof range);
      if (!inside(range[0], range[1]) || (range[0] % kPage) != 0 || (range[1] % kPage) != 0) {
        return std::unexpected(fmt::format("zeros at {:#x} do not fit the image", range[0]));
      }
      MOS_TRY(r, call(t, SYS_madvise, {range[0], range[1], MADV_DONTNEED}, pump, "madvise"));
      continue;
    }
    if (f->type != common::to_wire(common::MsgType::kMigratePages) || f->payload.size() < 8) {
      return std::unexpected(fmt::format(
          "unexpected frame {} ({} bytes: {:02x}) among the pages", f->type, f->payload.size(),
          fmt::join(std::span(reinterpret_cast<const unsigned char*>(f->payload.data()),
                              f->payload.size()),
                    "")));
    }
    std::uint64_t addr = 0;
    std::memcpy(&addr, f->payload.data(), 8);
    const std::uint64_t len = f->payload.size() - 8;
    if (!inside(addr, len) || !t.write(addr, f->payload.data() + 8, len)) {
      return std::unexpected(
          fmt::format("pages at {:#x} ({} bytes) do not fit the image", addr, len));
    }
  }
  // Post-copy: what did not come faults from now on, and is fetched.
  if (opts.uffd >= 0) {
    for (const auto& [from, to] : program_areas(image)) {
      uffdio_register reg{};
      reg.range.start = from;
      reg.range.len = to - from;
      reg.mode = UFFDIO_REGISTER_MODE_MISSING;
      if (::ioctl(opts.uffd, UFFDIO_REGISTER, &reg) != 0) {
        return std::unexpected(fmt::format("registering {:#x}-{:#x} for post-copy: {}", from, to,
                                           std::strerror(errno)));
      }
    }
  }
  for (const auto& a : image.areas()) {
    if (kernel_area(a.name()) || a.prot() == (PROT_READ | PROT_WRITE)) {
      continue;
    }
    MOS_TRY(r, call(t, SYS_mprotect,
                    {a.start(), a.end() - a.start(), static_cast<std::uint64_t>(a.prot())}, pump,
                    "mprotect"));
  }
  phase("pages in, protections set");
  // brk, code, stack, arguments, environment, auxv: the kernel's mm fields.
  MmMap mm{};
  if (!from_bytes(image.mm_map(), mm) || image.auxv().size() > kPage - sizeof mm - 16) {
    return std::unexpected(std::string("malformed mm fields"));
  }
  mm.auxv = scratch + sizeof mm;
  mm.auxv_size = static_cast<std::uint32_t>(image.auxv().size());
  mm.exe_fd = ~0u;
  if (!t.write(scratch, &mm, sizeof mm) ||
      !t.write(scratch + sizeof mm, image.auxv().data(), image.auxv().size())) {
    return std::unexpected(std::string("cannot write the scratch page"));
  }
  MOS_TRY(r, call(t, SYS_prctl, {PR_SET_MM, PR_SET_MM_MAP, scratch, sizeof mm, 0}, pump,
                  "prctl(PR_SET_MM_MAP)"));
  // The program's resource limits (a limit above the new process's hard
  // one cannot be raised without privileges: it stays at that hard limit).
  for (const auto& l : image.rlimits()) {
    std::uint64_t lim[2] = {l.cur(), l.max()};
    if (l.resource() < 0 || l.resource() >= 16 || !t.write(scratch, lim, sizeof lim)) {
      return std::unexpected(fmt::format("malformed resource limit {}", l.resource()));
    }
    auto r = call(t, SYS_prlimit64, {0, static_cast<std::uint64_t>(l.resource()), scratch, 0}, pump,
                  "prlimit64");
    if (!r) {
      std::uint64_t have[2] = {};
      if (call(t, SYS_prlimit64, {0, static_cast<std::uint64_t>(l.resource()), 0, scratch + 64},
               pump, "prlimit64") &&
          t.read(scratch + 64, have, sizeof have)) {
        lim[0] = std::min(lim[0], have[1]);
        lim[1] = have[1];
        (void)t.write(scratch, lim, sizeof lim);
        (void)call(t, SYS_prlimit64, {0, static_cast<std::uint64_t>(l.resource()), scratch, 0},
                   pump, "prlimit64");
      }
    }
  }
  // Signals: handlers, altstack, then the queued ones (all blocked while
  // they go in), then the mask.
  for (const auto& a : image.actions()) {
    if (a.signo() <= 0 || a.signo() > 64 || a.signo() == SIGKILL || a.signo() == SIGSTOP) {
      return std::unexpected(fmt::format("malformed signal action for {}", a.signo()));
    }
    KernelSigaction ka{a.handler(), a.flags(), a.restorer(), a.mask()};
    if (!t.write(scratch, &ka, sizeof ka)) {
      return std::unexpected(std::string("cannot write the scratch page"));
    }
    MOS_TRY(s, call(t, SYS_rt_sigaction, {static_cast<std::uint64_t>(a.signo()), scratch, 0, 8},
                    pump, "rt_sigaction"));
  }
  if ((image.altstack_flags() & SS_DISABLE) == 0) {
    KernelStack ss{image.altstack_sp(), image.altstack_flags() & ~SS_ONSTACK, 0,
                   image.altstack_size()};
    if (!t.write(scratch, &ss, sizeof ss)) {
      return std::unexpected(std::string("cannot write the scratch page"));
    }
    MOS_TRY(s, call(t, SYS_sigaltstack, {scratch, 0}, pump, "sigaltstack"));
  }
  if (auto q = queue_signals(
          t, scratch, std::vector<std::string>(image.pending().begin(), image.pending().end()),
          std::vector<std::string>(image.pending_shared().begin(), image.pending_shared().end()),
          pump);
      !q) {
    return std::unexpected(q.error());
  }
  phase("signals and limits set");
  if (image.rseq_ptr() != 0) {
    MOS_TRY(r, call(t, SYS_rseq, {image.rseq_ptr(), image.rseq_len(), 0, image.rseq_sig()}, pump,
                    "rseq"));
  }
  MOS_TRY(u, call(t, SYS_munmap, {scratch, kPage}, pump, "munmap (scratch)"));
  user_regs_struct regs{};
  if (!from_bytes(image.regs(), regs)) {
    return std::unexpected(std::string("malformed registers"));
  }
  if (auto x = t.set_xstate(image.xstate()); !x) {
    return std::unexpected(x.error());
  }
  if (auto s = t.set_blocked(image.blocked()); !s) {
    return std::unexpected(s.error());
  }
  if (auto s = t.set_regs(regs); !s) {
    return std::unexpected(s.error());
  }
  return {};
}

}  // namespace mos::remote::detail
