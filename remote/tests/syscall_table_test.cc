// Unit tests for remote/SyscallTable.h: the generated table covers every
// x86_64 number exactly once and agrees with libc's SYS_* constants, the
// dispositions of the calls the design names are what it says, every
// forwarded call is fully described for marshalling, and numbers outside the
// table find nothing (they go to the ENOSYS fallback).

#include "remote/SyscallTable.h"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace mos::remote {
namespace {

TEST_SUITE_BEGIN("syscall_table");

bool unassigned(long nr) {
  return std::ranges::any_of(unassigned_syscall_ranges(),
                             [nr](const NrRange& r) { return nr >= r.first && nr <= r.last; });
}

const SyscallEntry& must_find(std::string_view name) {
  const SyscallEntry* e = find_syscall(name);
  REQUIRE_MESSAGE(e != nullptr, name);
  return *e;
}

bool is_scalar(ArgKind k) {
  return k >= ArgKind::kInt && k <= ArgKind::kAddr;
}

TEST_CASE("numbering is dense: every number is one entry or declared unassigned") {
  const auto all = all_syscalls();
  REQUIRE(!all.empty());
  CHECK(all.back().nr == max_syscall_nr());
  CHECK(max_syscall_nr() >= 469);  // Linux 6.18 ends at file_setattr
  for (std::size_t i = 1; i < all.size(); ++i) {
    CHECK(all[i - 1].nr < all[i].nr);
  }
  long holes = 0;
  for (long nr = 0; nr <= max_syscall_nr(); ++nr) {
    const SyscallEntry* e = find_syscall(nr);
    if (unassigned(nr)) {
      ++holes;
      CHECK_MESSAGE(e == nullptr, nr);
    } else {
      REQUIRE_MESSAGE(e != nullptr, nr);
      CHECK(e->nr == nr);
      CHECK(find_syscall(e->name) == e);
    }
  }
  CHECK(static_cast<long>(all.size()) + holes == max_syscall_nr() + 1);
  std::set<std::string_view> names;
  for (const auto& e : all) {
    CHECK_MESSAGE(names.insert(e.name).second, e.name);
  }
}

TEST_CASE("numbers match libc's SYS_* constants for every name <sys/syscall.h> defines") {
  constexpr std::pair<long, std::string_view> kLibc[] = {
#include "SyscallLibcCheck.inc"
  };
  // The header may predate the kernel, but it knows the classic calls.
  CHECK(std::size(kLibc) >= 330);
  for (const auto& [nr, name] : kLibc) {
    const SyscallEntry* e = find_syscall(nr);
    REQUIRE_MESSAGE(e != nullptr, name);
    CHECK(e->name == name);
  }
  // A few spelled out by hand, independent of the generator.
  CHECK(must_find("read").nr == SYS_read);
  CHECK(must_find("openat").nr == SYS_openat);
  CHECK(must_find("newfstatat").nr == SYS_newfstatat);
  CHECK(must_find("exit_group").nr == SYS_exit_group);
  CHECK(must_find("clone3").nr == SYS_clone3);
  CHECK(must_find("pidfd_open").nr == SYS_pidfd_open);
}

TEST_CASE("the design's dispositions") {
  for (auto name : {"read", "write", "openat", "open", "close", "getpid", "getppid", "gettid",
                    "socket", "connect", "pipe2", "wait4", "chdir", "getcwd", "setuid",
                    "clock_settime", "fcntl", "ioctl", "uname"}) {
    CHECK_MESSAGE(must_find(name).disposition == Disposition::kForward, name);
  }
  for (auto name : {"mmap", "clone", "clone3", "fork", "vfork", "execve", "execveat", "exit",
                    "exit_group", "rt_sigaction", "kill", "tgkill", "prctl"}) {
    CHECK_MESSAGE(must_find(name).disposition == Disposition::kSpecial, name);
  }
  for (auto name : {"brk",
                    "munmap",
                    "mprotect",
                    "mremap",
                    "madvise",
                    "rt_sigprocmask",
                    "rt_sigreturn",
                    "sched_yield",
                    "nanosleep",
                    "clock_nanosleep",
                    "futex",
                    "getrandom",
                    "clock_gettime",
                    "gettimeofday",
                    "time",
                    "arch_prctl",
                    "set_tid_address",
                    "set_robust_list",
                    "uretprobe",
                    "uprobe"}) {
    CHECK_MESSAGE(must_find(name).disposition == Disposition::kLocal, name);
  }
  const SyscallEntry& rseq = must_find("rseq");
  CHECK(rseq.disposition == Disposition::kRefuse);
  CHECK(rseq.refuse_errno == ENOSYS);
  CHECK(rseq.support == Support::kNone);
  for (auto name : {"io_uring_setup", "perf_event_open", "bpf", "kexec_load", "init_module",
                    "ptrace", "userfaultfd", "process_vm_readv"}) {
    const SyscallEntry& e = must_find(name);
    CHECK_MESSAGE(e.disposition == Disposition::kRefuse, name);
    CHECK_MESSAGE((e.refuse_errno == ENOSYS || e.refuse_errno == EPERM), name);
  }
}

TEST_CASE("anonymous mmap has a native fast path; file mmap traps") {
  const SyscallEntry& mmap = must_find("mmap");
  REQUIRE(mmap.local_if.present);
  CHECK(mmap.local_if.arg == 3);
  CHECK(mmap.local_if.op == CondOp::kMaskedEq);
  CHECK(mmap.local_if.mask == MAP_ANONYMOUS);
  CHECK(mmap.local_if.value == MAP_ANONYMOUS);
  CHECK(std::ranges::any_of(local_fast_paths(),
                            [](const LocalFastPath& f) { return f.nr == SYS_mmap; }));
}

TEST_CASE("every forwarded call is completely described") {
  for (const auto& e : all_syscalls()) {
    CAPTURE(e.name);
    CHECK(!e.note.empty());
    if (e.disposition == Disposition::kRefuse) {
      CHECK(e.refuse_errno > 0);
      CHECK(e.support == Support::kNone);
    } else {
      CHECK(e.refuse_errno == 0);
      CHECK(e.support != Support::kNone);
    }
    if (e.disposition != Disposition::kForward) {
      continue;
    }
    REQUIRE(e.args_known);
    REQUIRE(e.nargs <= 6);
    for (const ArgSpec& a : e.arg_specs()) {
      CAPTURE(a.name);
      CHECK(!a.name.empty());
      REQUIRE(a.kind != ArgKind::kNone);
      if (is_scalar(a.kind)) {
        CHECK(a.len.from == LenFrom::kNone);
        CHECK(a.marshaller == Marshaller::kNone);
        continue;
      }
      if (a.kind == ArgKind::kComplex) {
        CHECK(a.marshaller != Marshaller::kNone);
        CHECK(to_string(a.marshaller) != "?");
        continue;
      }
      REQUIRE(a.len.from != LenFrom::kNone);
      CHECK(a.len.max > 0);
      switch (a.len.from) {
        case LenFrom::kFixed:
          CHECK(a.len.base > 0);
          break;
        case LenFrom::kArg:
        case LenFrom::kFdSet:
          REQUIRE(a.len.arg < e.nargs);
          CHECK(is_scalar(e.args[a.len.arg].kind));
          break;
        case LenFrom::kDeref:
          REQUIRE(a.len.arg < e.nargs);
          CHECK(e.args[a.len.arg].len.from == LenFrom::kFixed);
          CHECK(e.args[a.len.arg].len.base == 4);
          break;
        default:
          break;
      }
      CHECK((a.kind == ArgKind::kString) == (a.len.from == LenFrom::kNul));
      const bool writes =
          a.kind == ArgKind::kOut || a.kind == ArgKind::kInOut || a.kind == ArgKind::kIovOut;
      CHECK(writes == (a.wb.from != WbFrom::kNone));
      if (a.wb.from == WbFrom::kDeref) {
        REQUIRE(a.wb.arg < e.nargs);
        CHECK(e.args[a.wb.arg].kind == ArgKind::kInOut);
      }
    }
    for (std::size_t i = e.nargs; i < 6; ++i) {
      CHECK(e.args[i].kind == ArgKind::kNone);
    }
  }
}

TEST_CASE("read and write marshal their buffer by the count argument") {
  const SyscallEntry& read = must_find("read");
  REQUIRE(read.nargs == 3);
  CHECK(read.args[0].kind == ArgKind::kFd);
  CHECK(read.args[1].kind == ArgKind::kOut);
  CHECK(read.args[1].len.from == LenFrom::kArg);
  CHECK(read.args[1].len.arg == 2);
  CHECK(read.args[1].wb.from == WbFrom::kRet);
  CHECK(read.blocks);
  const SyscallEntry& write = must_find("write");
  CHECK(write.args[1].kind == ArgKind::kIn);
  CHECK(write.args[1].wb.from == WbFrom::kNone);
  const SyscallEntry& openat = must_find("openat");
  CHECK(openat.args[0].kind == ArgKind::kDirFd);
  CHECK(openat.args[1].kind == ArgKind::kString);
  CHECK(openat.args[1].len.max == 4096);
  CHECK(openat.args[1].len.over_errno == ENAMETOOLONG);
}

TEST_CASE("unknown numbers find nothing") {
  for (long nr : {-1L, 337L, 400L, 423L, max_syscall_nr() + 1, 512L, 547L, 100000L, 0x40000000L,
                  0x40000000L + SYS_read}) {
    CHECK_MESSAGE(find_syscall(nr) == nullptr, nr);
  }
  CHECK(find_syscall("no_such_call") == nullptr);
  CHECK(find_syscall("") == nullptr);
}

TEST_CASE("the filter lists split the table") {
  const auto trapped = trapped_syscalls();
  const auto local = local_syscalls();
  CHECK(std::ranges::is_sorted(trapped));
  CHECK(trapped.size() + local.size() == all_syscalls().size());
  for (int nr : trapped) {
    const SyscallEntry* e = find_syscall(nr);
    REQUIRE(e != nullptr);
    CHECK(e->disposition != Disposition::kLocal);
  }
  for (int nr : local) {
    const SyscallEntry* e = find_syscall(nr);
    REQUIRE(e != nullptr);
    CHECK(e->disposition == Disposition::kLocal);
  }
  CHECK(std::ranges::binary_search(trapped, SYS_openat));
  CHECK(std::ranges::binary_search(trapped, SYS_rseq));
  CHECK(!std::ranges::binary_search(trapped, SYS_brk));
  for (const LocalFastPath& f : local_fast_paths()) {
    const SyscallEntry* e = find_syscall(f.nr);
    REQUIRE(e != nullptr);
    CHECK(e->disposition == Disposition::kSpecial);
    CHECK(f.cond.present);
    CHECK(f.cond.arg < e->nargs);
  }
}

TEST_CASE("string names") {
  CHECK(to_string(Disposition::kForward) == "forward");
  CHECK(to_string(Support::kPartial) == "partial");
  CHECK(to_string(Marshaller::kNone) == "none");
  CHECK(to_string(Marshaller::kIoctlArg) == "ioctl_arg");
}

TEST_SUITE_END();

}  // namespace
}  // namespace mos::remote
