"""The x86_64 system call table of mosrun: every syscall number, described once.

This file is data. gen_syscalls.py validates it and generates from it the C++
table (SyscallTable.inc), the seccomp filter lists (SyscallFilter.inc) and the
human table docs/syscalls.md. Never keep a parallel switch statement by hand:
change the row here.

Numbers and names are the kernel's (arch/x86/entry/syscalls/syscall_64.tbl as
of Linux 6.18: 0..336 and 424..469; 337..423 were never assigned on x86_64).
The x32 range (512..547, and the 0x40000000 bit) is not ours: the filter
refuses it before this table is consulted.

Dispositions (see ../../shared/DESIGN.md, "System calls"):
  local    runs natively in the body: the call only touches the body's own
           memory, registers, CPU or signal state. The seccomp filter lets it
           through without a round trip.
  forward  executed by the deputy on the home node. Every argument is
           described so the runtime can marshal it: input buffers are read
           from the body before the call, output buffers are written back
           after it.
  special  handled by the supervisor with the deputy's help (fork, exec, exit,
           file mmap, signal bookkeeping, calls whose target decides where
           they run). `local_if` names a cheap argument test under which the
           seccomp filter may let the call run natively without trapping.
  refuse   answered with `errno` and never executed anywhere.

Marshalling rules that hold for every pointer argument, so rows need not
repeat them:
  * NULL is passed on as NULL: the home kernel decides what NULL means.
  * An unreadable input buffer, or an output buffer the body cannot take,
    makes the call fail with EFAULT, exactly as the kernel would.
  * Output buffers are written back only when the call succeeds, unless the
    argument says `on_error` (the kernel updates it on failure as well, e.g.
    the remaining timeout of select on EINTR).
  * `max` is the largest length marshalled. `over` says what happens to a
    longer request: "clamp" (the call's semantics allow a shorter transfer
    or the kernel itself clamps there) or the errno the kernel answers.
  * File descriptors are the deputy's: they are the numbers the program
    sees, whatever node its body is on. PIDs are home PIDs.

Support levels: full (behaves as natively), partial (works with the limits
in the note), none (refused).

`blocks=True` marks calls that may wait for an event for an unbounded time.
Forwarded ones must stay interruptible (a signal or a migration request
interrupts them, and they restart with Linux's ERESTART semantics); local
ones are interrupted by the body's own kernel, but migration has to freeze a
body that sits in them.

`may_pin=True` marks calls after which (some variants of) the process cannot
leave the home node with the current design, the openMosix "hard edges".
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---- limits from the kernel (include/uapi/linux/limits.h and friends) -----
PATH_MAX = 4096  # including the NUL
NAME_MAX = 255
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_LIST_MAX = 65536
IOV_MAX = 1024  # UIO_MAXIOV
MAX_RW_COUNT = 0x7FFFF000  # INT_MAX & PAGE_MASK: the kernel clamps every transfer here
PAGE_SIZE = 4096
NR_OPEN_MAX = 1 << 20  # default fs.nr_open: the largest fd table (poll, select)
NGROUPS_MAX = 65536
SOCKADDR_MAX = 128  # sizeof(struct sockaddr_storage)
SIGSET_SIZE = 8  # the kernel's sigset_t on x86_64
HARD_MSGSIZEMAX = 16 * 1024 * 1024  # POSIX message queues
INT_MAX = 0x7FFFFFFF
MAP_ANONYMOUS = 0x20
ITIMER_REAL = 0

# ---- sizes of the structs we marshal by value (x86_64 ABI) ------------------
SZ = {
    "struct stat": 144,
    "struct statfs": 120,
    "struct statx": 256,
    "struct timespec": 16,
    "struct timespec[2]": 32,
    "struct timeval": 16,
    "struct timeval[2]": 32,
    "struct timezone": 8,
    "struct itimerval": 32,
    "struct itimerspec": 32,
    "struct timex": 208,
    "struct rusage": 144,
    "struct sysinfo": 112,
    "struct new_utsname": 390,
    "struct rlimit": 16,
    "struct rlimit64": 16,
    "siginfo_t": 128,
    "struct sigevent": 64,
    "struct kernel_sigaction": 32,
    "struct epoll_event": 12,  # packed on x86_64
    "struct pollfd": 8,
    "struct sembuf": 6,
    "struct mq_attr": 64,
    "struct sched_param": 4,
    "struct utimbuf": 16,
    "struct ustat": 32,
    "struct __user_cap_header_struct": 8,
    "int[2]": 8,
    "int": 4,
    "unsigned int": 4,
    "socklen_t": 4,
    "u32": 4,
    "loff_t": 8,
    "off_t": 8,
    "u64": 8,
    "key_serial_t": 4,
    "timer_t": 4,  # the kernel's timer_t is an int
    "struct cachestat_range": 16,
    "struct cachestat": 40,
    "struct open_how": 24,
}


@dataclass(frozen=True)
class Len:
    """How many bytes a pointer argument covers.

    source:
      fixed   `base` bytes.
      arg     base + elem * (value of argument `arg`).
      deref   base + elem * (u32 the body holds at argument `arg`, read
              before the call: value-result lengths such as socklen_t*).
      header  base + elem * (u32 at byte offset `arg` inside the buffer
              itself: self-describing structs such as struct file_handle).
      fdset   the fd_set for `nfds` in argument `arg`: ceil(nfds/64)*8.
      nul     up to and including the first NUL byte (strings).
    """

    source: str
    arg: int = -1
    base: int = 0
    elem: int = 1
    max: int = 0
    over: str = "clamp"


@dataclass(frozen=True)
class Wb:
    """How many bytes of an output buffer the call wrote (what goes back).

    how:
      all     the whole length (fixed structs, value-result buffers).
      ret     base + elem * (return value).
      deref   the u32 at argument `arg` after the call (clamped to the length).
    """

    how: str
    arg: int = -1
    base: int = 0
    elem: int = 1


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str
    ctype: str = ""
    length: Len | None = None
    wb: Wb | None = None
    on_error: bool = False
    complex: str = ""


@dataclass(frozen=True)
class Cond:
    """A seccomp argument test: (args[arg] & mask) <op> value."""

    arg: int
    op: str  # eq | ne | masked_eq
    value: int
    mask: int = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    disposition: str
    support: str
    note: str
    args: tuple[Arg, ...] | None = None
    blocks: bool = False
    may_pin: bool = False
    errno: str = ""
    local_if: Cond | None = None


# ---- scalar arguments -----------------------------------------------------
SCALAR_KINDS = ("int", "uint", "long", "ulong", "fd", "dirfd", "pid", "sig", "flags", "mode",
                "uid", "gid", "addr")
POINTER_KINDS = ("in", "out", "inout", "str", "iov_in", "iov_out", "complex")


def i32(name):
    return Arg(name, "int", "int")


def u32(name):
    return Arg(name, "uint", "unsigned int")


def i64(name, ctype="long"):
    return Arg(name, "long", ctype)


def u64(name, ctype="unsigned long"):
    return Arg(name, "ulong", ctype)


def size(name="count"):
    return Arg(name, "ulong", "size_t")


def off(name="offset"):
    return Arg(name, "long", "loff_t")


def fd(name="fd"):
    return Arg(name, "fd", "int")


def dirfd(name="dirfd"):
    """A directory fd that may be AT_FDCWD (-100)."""
    return Arg(name, "dirfd", "int")


def pid(name="pid"):
    return Arg(name, "pid", "pid_t")


def sig(name="sig"):
    return Arg(name, "sig", "int")


def flags(name="flags", ctype="unsigned int"):
    return Arg(name, "flags", ctype)


def mode(name="mode"):
    return Arg(name, "mode", "umode_t")


def uid(name="uid"):
    return Arg(name, "uid", "uid_t")


def gid(name="gid"):
    return Arg(name, "gid", "gid_t")


def addr(name="addr"):
    """An address in the body passed by value and never dereferenced here."""
    return Arg(name, "addr", "unsigned long")


# ---- pointer arguments ----------------------------------------------------
def path(name="pathname"):
    return Arg(name, "str", "const char*", Len("nul", max=PATH_MAX, over="ENAMETOOLONG"))


def cstr(name, max_len, over="EINVAL", ctype="const char*"):
    return Arg(name, "str", ctype, Len("nul", max=max_len, over=over))


def st_in(name, ctype):
    return Arg(name, "in", ctype + "*", Len("fixed", base=SZ[ctype], max=SZ[ctype]))


def st_out(name, ctype, on_error=False):
    return Arg(name, "out", ctype + "*", Len("fixed", base=SZ[ctype], max=SZ[ctype]), Wb("all"),
               on_error)


def st_inout(name, ctype, on_error=False):
    return Arg(name, "inout", ctype + "*", Len("fixed", base=SZ[ctype], max=SZ[ctype]), Wb("all"),
               on_error)


def buf_in(name, n, *, max, over="clamp", elem=1, base=0, ctype="const void*"):
    return Arg(name, "in", ctype, Len("arg", n, base, elem, max, over))


def buf_out(name, n, *, max, over="clamp", elem=1, base=0, wb=None, ctype="void*", on_error=False):
    return Arg(name, "out", ctype, Len("arg", n, base, elem, max, over),
               wb or Wb("ret", base=base, elem=elem), on_error)


def buf_inout(name, n, *, max, over="clamp", elem=1, base=0, ctype="void*", on_error=False):
    return Arg(name, "inout", ctype, Len("arg", n, base, elem, max, over), Wb("all"), on_error)


def sized_in(name, n, ctype, max=PAGE_SIZE, over="E2BIG"):
    """An extensible struct whose size the caller passes in argument n."""
    return Arg(name, "in", ctype + "*", Len("arg", n, max=max, over=over))


def sized_out(name, n, ctype, max=PAGE_SIZE, over="E2BIG"):
    return Arg(name, "out", ctype + "*", Len("arg", n, max=max, over=over), Wb("all"))


def sockaddr_in(name, n):
    return Arg(name, "in", "const struct sockaddr*", Len("arg", n, max=SOCKADDR_MAX, over="EINVAL"))


def sockaddr_out(name, len_arg):
    """A sockaddr whose capacity the body passes in *addrlen (value-result)."""
    return Arg(name, "out", "struct sockaddr*", Len("deref", len_arg, max=SOCKADDR_MAX,
                                                   over="clamp"), Wb("deref", len_arg))


def len_inout(name, ctype="socklen_t", on_error=False):
    return st_inout(name, ctype, on_error)


def sigset_in(name, n):
    """A sigset_t with its size in argument n (the kernel insists on 8)."""
    return Arg(name, "in", "const sigset_t*", Len("arg", n, max=SIGSET_SIZE, over="EINVAL"))


def iov_in(name, n):
    return Arg(name, "iov_in", "const struct iovec*",
               Len("arg", n, elem=16, max=IOV_MAX * 16, over="EINVAL"))


def iov_out(name, n):
    return Arg(name, "iov_out", "const struct iovec*",
               Len("arg", n, elem=16, max=IOV_MAX * 16, over="EINVAL"), Wb("ret"))


def cx(name, how, ctype="void*"):
    """An argument whose layout depends on other arguments: see COMPLEX."""
    assert how in COMPLEX, how
    return Arg(name, "complex", ctype, complex=how)


# Marshallers for arguments no generic rule describes. Each is one function in
# the runtime; the text says what it must copy.
COMPLEX = {
    "ioctl_arg": "by request: _IOC-encoded requests carry direction and size in the number "
                 "(_IOC_READ: out, _IOC_WRITE: in, size up to 16 KiB); legacy tty/socket "
                 "requests (TCGETS, TIOCGWINSZ, FIONREAD, SIOCGIFCONF...) come from a "
                 "per-request table; integers pass by value; unknown requests fail ENOTTY",
    "fcntl_arg": "by cmd: struct flock (32 B in/out) for F_GETLK/F_SETLK(W)/F_OFD_*; "
                 "struct f_owner_ex (8 B) for F_GETOWN_EX/F_SETOWN_EX; u64 for "
                 "F_GET/SET_RW_HINT; every other cmd takes an integer by value",
    "argv": "NULL-terminated array of string pointers (argv/envp): each string up to "
            "MAX_ARG_STRLEN (128 KiB), total bounded by the stack rlimit / 4 (E2BIG)",
    "msghdr_in": "struct msghdr (56 B): msg_name in (msg_namelen <= 128), msg_iov in "
                 "(msg_iovlen <= IOV_MAX, else EMSGSIZE), msg_control in (ancillary "
                 "data; SCM_RIGHTS fds are deputy fds and need no translation)",
    "msghdr_out": "struct msghdr (56 B): msg_name out (capacity msg_namelen), msg_iov out "
                  "(filled in order up to the return value), msg_control out (capacity "
                  "msg_controllen); msg_namelen, msg_controllen and msg_flags written back",
    "mmsghdr_in": "array of struct mmsghdr (64 B each, vlen clamped to IOV_MAX): each "
                  "msg_hdr as msghdr_in, msg_len written back for the sent entries",
    "mmsghdr_out": "array of struct mmsghdr (64 B each, vlen clamped to IOV_MAX): each "
                   "msg_hdr as msghdr_out, msg_len written back for the received entries",
    "sockopt_in": "optlen bytes in (bounded by INT_MAX; in practice optmem_max); "
                  "SO_ATTACH_FILTER and SO_ATTACH_REUSEPORT_CBPF carry a struct "
                  "sock_fprog whose filter array (len * 8 B, len <= 4096) is copied too",
    "pselect_sigmask": "NULL or a pointer to { const sigset_t* ss; size_t ss_len } (16 B): "
                       "the pair and the sigset it names (ss_len must be 8) are copied in",
    "semctl_arg": "by cmd: struct semid64_ds (104 B) in for IPC_SET, out for IPC_STAT/"
                  "SEM_STAT(_ANY); struct seminfo (40 B) out for IPC_INFO/SEM_INFO; "
                  "unsigned short[nsems] out for GETALL, in for SETALL (nsems from an "
                  "IPC_STAT first); an int by value for SETVAL; unused otherwise",
    "shmctl_buf": "by cmd: struct shmid64_ds (112 B) in for IPC_SET, out for IPC_STAT/"
                  "SHM_STAT(_ANY); struct shminfo64 (72 B) out for IPC_INFO; struct "
                  "shm_info (48 B) out for SHM_INFO; unused otherwise",
    "msgctl_buf": "by cmd: struct msqid64_ds (120 B) in for IPC_SET, out for IPC_STAT/"
                  "MSG_STAT(_ANY); struct msginfo (32 B) out for IPC_INFO/MSG_INFO",
    "mq_sigevent": "struct sigevent (64 B) in; for SIGEV_THREAD sigev_value.sival_ptr names "
                   "a 32-byte cookie (NOTIFY_COOKIE_LEN) that is copied in as well",
    "vmsplice_iov": "iovec array (nr_segs <= IOV_MAX): in when fd is a pipe's write end, "
                    "out (filled up to the return value) when it is the read end; the deputy "
                    "answers fcntl(F_GETFL) first. SPLICE_F_GIFT degrades to a copy",
    "kcmp_idx2": "for KCMP_EPOLL_TFD a struct kcmp_epoll_slot (12 B) in; otherwise an "
                 "integer by value",
    "cap_data": "struct __user_cap_data_struct[n] (12 B each): n = 1 for "
                "_LINUX_CAPABILITY_VERSION_1, 2 for versions 2 and 3 (from the header "
                "argument); in for capset, out for capget",
    "sched_attr_in": "struct sched_attr: its u32 size field at offset 0 gives the length "
                     "(0 means SCHED_ATTR_SIZE_VER0 = 48; more than a page: E2BIG); the "
                     "kernel writes the size it supports back on E2BIG",
    "xattr_args_in": "struct xattr_args (16 B) in, then its value (size <= XATTR_SIZE_MAX) in",
    "xattr_args_out": "struct xattr_args (16 B) in, then its value buffer (capacity size, "
                      "clamped to XATTR_SIZE_MAX) out, written up to the return value",
    "fsconfig_value": "by cmd: NUL-terminated string (<= 4 KiB) for FSCONFIG_SET_STRING and "
                      "_SET_PATH(_EMPTY), aux bytes in for FSCONFIG_SET_BINARY (<= 1 MiB), "
                      "unused for flags/fd/create/reconfigure",
    "landlock_rule_attr": "by rule_type: struct landlock_path_beneath_attr (12 B, packed) for "
                          "LANDLOCK_RULE_PATH_BENEATH, struct landlock_net_port_attr (16 B) "
                          "for LANDLOCK_RULE_NET_PORT",
    "keyctl_args": "by operation: key serials and integers by value; strings (type, "
                   "description, callout) up to 4 KiB; payload buffers in with their length "
                   "argument (<= 1 MiB); read buffers out up to the returned length; "
                   "KEYCTL_DH_COMPUTE and KEYCTL_PKEY_* structs in/out by their fixed sizes",
    "quotactl_addr": "by cmd: struct if_dqblk (72 B), if_dqinfo (24 B), fs_quota_stat (80 B), "
                     "fs_quota_statv (160 B), fs_disk_quota (112 B) in or out, a u32 for "
                     "Q_GETFMT, a quota file path for Q_QUOTAON; unused otherwise",
    "mount_data": "filesystem options: up to one page, copied as far as it is readable (the "
                  "kernel itself copies a page and tolerates a fault at its end)",
    "reboot_arg": "for LINUX_REBOOT_CMD_RESTART2 a command string (<= 256 B); otherwise "
                  "unused",
    "handle_mount_id": "out: an int, or a u64 when flags has AT_HANDLE_MNT_ID_UNIQUE",
    "clone_args": "struct clone_args with its size in argument 1 (VER0 64 B .. one page); "
                  "set_tid (set_tid_size pid_t's) in; pidfd, child_tid and parent_tid "
                  "pointers name body memory written by the supervisor",
    "seccomp_args": "by operation: struct sock_fprog (16 B) and its filter (len * 8 B, "
                    "len <= 4096) in for SECCOMP_SET_MODE_FILTER; u32 in for "
                    "SECCOMP_GET_ACTION_AVAIL; struct seccomp_notif_sizes (6 B) out for "
                    "SECCOMP_GET_NOTIF_SIZES",
    "prctl_args": "by option: integers by value, PR_SET_NAME/PR_GET_NAME 16-byte buffers, "
                  "PR_GET_TID_ADDRESS a pointer out, PR_SET_MM structs; see the note",
}


# ---- row constructors -----------------------------------------------------
def local(nr, name, note, *, support="full", blocks=False, may_pin=False, args=None):
    return Syscall(nr, name, "local", support, note, _t(args), blocks, may_pin)


def fwd(nr, name, args, note, *, support="full", blocks=False, may_pin=False):
    return Syscall(nr, name, "forward", support, note, tuple(args), blocks, may_pin)


def special(nr, name, note, *, support="partial", blocks=False, may_pin=False, args=None,
            local_if=None):
    return Syscall(nr, name, "special", support, note, _t(args), blocks, may_pin,
                   local_if=local_if)


def refuse(nr, name, errno, note):
    return Syscall(nr, name, "refuse", "none", note, errno=errno)


def unimplemented(nr, name, note="not implemented by x86_64 Linux either (sys_ni_syscall)"):
    return refuse(nr, name, "ENOSYS", note)


def _t(args):
    return None if args is None else tuple(args)


def pid_zero(arg=0):
    """Filter fast path: the call names the caller itself (pid 0)."""
    return Cond(arg, "eq", 0)


# Numbers x86_64 never assigned (the gap that aligned new syscalls at 424 with
# every other architecture). They are not syscalls: unknown to the table, they
# reach the runtime's single ENOSYS fallback.
UNASSIGNED = [(337, 423)]

SYSCALLS = [
    # ---- 0..99 ---------------------------------------------------------------
    fwd(0, "read", [fd(), buf_out("buf", 2, max=MAX_RW_COUNT), size()],
        "the kernel clamps every transfer at MAX_RW_COUNT; the runtime streams large reads",
        blocks=True),
    fwd(1, "write", [fd(), buf_in("buf", 2, max=MAX_RW_COUNT), size()],
        "the kernel clamps every transfer at MAX_RW_COUNT; the runtime streams large writes",
        blocks=True),
    fwd(2, "open", [path(), flags("flags", "int"), mode()],
        "resolved at home, the fd lands in the deputy's table; /proc/self is the deputy, so "
        "files describing memory (maps, smaps, mem, pagemap) need the supervisor's view",
        support="partial", blocks=True),
    fwd(3, "close", [fd()], "closes the deputy's fd; a mapping made from it stays in the body"),
    fwd(4, "stat", [path(), st_out("statbuf", "struct stat")], "home file system"),
    fwd(5, "fstat", [fd(), st_out("statbuf", "struct stat")], "home file system"),
    fwd(6, "lstat", [path(), st_out("statbuf", "struct stat")], "home file system"),
    fwd(7, "poll", [buf_inout("fds", 1, elem=8, max=NR_OPEN_MAX * 8, over="EINVAL",
                              ctype="struct pollfd*"), u32("nfds"), i32("timeout")],
        "waits at the deputy on the deputy's fds", blocks=True),
    fwd(8, "lseek", [fd(), off(), i32("whence")], "file position lives in the deputy's file"),
    special(9, "mmap",
            "anonymous: native (fast path); file-backed: at home natively on the mirrored fd; "
            "on another node the body maps a read-only copy of the home file fetched by the "
            "supervisor (MAP_SHARED with PROT_WRITE: ENODEV there, logged)",
            args=[addr(), size("length"), i32("prot"), flags("flags", "int"), fd(), off()],
            may_pin=True, local_if=Cond(3, "masked_eq", MAP_ANONYMOUS, MAP_ANONYMOUS)),
    local(10, "mprotect", "own memory"),
    local(11, "munmap", "own memory"),
    local(12, "brk", "own memory; brk and mm fields are carried by migration"),
    special(13, "rt_sigaction",
            "runs in the body; the supervisor records the action so the deputy knows which "
            "signals to forward, ignore or let kill, and migration can restore it",
            support="full",
            args=[sig(), st_in("act", "struct kernel_sigaction"),
                  st_out("oldact", "struct kernel_sigaction"), size("sigsetsize")]),
    local(14, "rt_sigprocmask", "the body's own mask; blocked signals stay pending in the body"),
    local(15, "rt_sigreturn", "returns from the body's own signal frame"),
    fwd(16, "ioctl", [fd(), u64("request"), cx("arg", "ioctl_arg")],
        "on the deputy's fd (the home tty, sockets, devices); requests whose argument "
        "holds pointers (e.g. SIOCETHTOOL, userfaultfd, DRM) are not marshalled",
        support="partial", blocks=True),
    fwd(17, "pread64", [fd(), buf_out("buf", 2, max=MAX_RW_COUNT), size(), off()],
        "streams like read", blocks=True),
    fwd(18, "pwrite64", [fd(), buf_in("buf", 2, max=MAX_RW_COUNT), size(), off()],
        "streams like write", blocks=True),
    fwd(19, "readv", [fd(), iov_out("iov", 2), i32("iovcnt")],
        "iovecs filled in order up to the return value", blocks=True),
    fwd(20, "writev", [fd(), iov_in("iov", 2), i32("iovcnt")],
        "the kernel clamps the total at MAX_RW_COUNT", blocks=True),
    fwd(21, "access", [path(), i32("mode")], "checked with the home credentials"),
    fwd(22, "pipe", [st_out("pipefd", "int[2]")], "both ends in the deputy's table"),
    fwd(23, "select",
        [i32("nfds"),
         Arg("readfds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         Arg("writefds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         Arg("exceptfds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         st_inout("timeout", "struct timeval", on_error=True)],
        "nfds above the fd table size is clamped by the kernel; remaining time written back "
        "even on EINTR", blocks=True),
    local(24, "sched_yield", "yields the CPU the body runs on"),
    local(25, "mremap", "own memory"),
    local(26, "msync",
          "own memory; shared file mappings exist only at home (real file) so msync is native"),
    local(27, "mincore", "residency of the body's own pages on the current node"),
    local(28, "madvise", "own memory; MADV_DONTFORK/WIPEONFORK are honoured by the fork path"),
    fwd(29, "shmget", [i32("key"), size("size"), flags("shmflg", "int")],
        "System V segments live in the home IPC namespace"),
    special(30, "shmat",
            "attaches a home System V segment into the body: natively at home; EACCES (logged) "
            "on another node, where the segment does not exist",
            args=[i32("shmid"), addr("shmaddr"), flags("shmflg", "int")], may_pin=True),
    fwd(31, "shmctl", [i32("shmid"), i32("cmd"), cx("buf", "shmctl_buf")],
        "home IPC namespace; SHM_LOCK/UNLOCK act on the home segment"),
    fwd(32, "dup", [fd("oldfd")], "deputy's fd table"),
    fwd(33, "dup2", [fd("oldfd"), fd("newfd")], "deputy's fd table"),
    local(34, "pause", "waits for a signal delivered to the body (the deputy forwards them)",
          blocks=True),
    local(35, "nanosleep", "sleeping is the body's own business; the remainder is local",
          blocks=True),
    special(36, "getitimer",
            "ITIMER_REAL is the deputy's (it survives migration); ITIMER_VIRTUAL/PROF measure "
            "the body's CPU and run natively (filter fast path)",
            support="partial", args=[i32("which"), st_out("curr_value", "struct itimerval")],
            local_if=Cond(0, "ne", ITIMER_REAL)),
    fwd(37, "alarm", [u32("seconds")],
        "ITIMER_REAL at the deputy: SIGALRM is forwarded to the body, wherever it is"),
    special(38, "setitimer",
            "ITIMER_REAL forwarded to the deputy; ITIMER_VIRTUAL/PROF native (fast path), "
            "carried by migration", support="partial",
            args=[i32("which"), st_in("new_value", "struct itimerval"),
                  st_out("old_value", "struct itimerval")],
            local_if=Cond(0, "ne", ITIMER_REAL)),
    fwd(39, "getpid", [], "the home PID (the deputy's); constant, so the supervisor may cache it"),
    fwd(40, "sendfile", [fd("out_fd"), fd("in_fd"), st_inout("offset", "loff_t"), size()],
        "both fds at home: no data crosses to the body", blocks=True),
    fwd(41, "socket", [i32("domain"), i32("type"), i32("protocol")],
        "home network namespace: the program's sockets are the home node's"),
    fwd(42, "connect", [fd("sockfd"), sockaddr_in("addr", 2), u32("addrlen")],
        "from the home node", blocks=True),
    fwd(43, "accept", [fd("sockfd"), sockaddr_out("addr", 2), len_inout("addrlen")],
        "at home", blocks=True),
    fwd(44, "sendto",
        [fd("sockfd"), buf_in("buf", 2, max=MAX_RW_COUNT), size("len"), flags("flags"),
         sockaddr_in("dest_addr", 5), u32("addrlen")],
        "at home", blocks=True),
    fwd(45, "recvfrom",
        [fd("sockfd"), buf_out("buf", 2, max=MAX_RW_COUNT), size("len"), flags("flags"),
         sockaddr_out("src_addr", 5), len_inout("addrlen")],
        "at home; MSG_TRUNC may return more than len, only len bytes go back", blocks=True),
    fwd(46, "sendmsg", [fd("sockfd"), cx("msg", "msghdr_in", "const struct msghdr*"),
                        flags("flags")],
        "SCM_RIGHTS passes deputy fds, which are the program's fds", blocks=True),
    fwd(47, "recvmsg", [fd("sockfd"), cx("msg", "msghdr_out", "struct msghdr*"), flags("flags")],
        "received SCM_RIGHTS fds land in the deputy's table, i.e. the program's", blocks=True),
    fwd(48, "shutdown", [fd("sockfd"), i32("how")], "at home"),
    fwd(49, "bind", [fd("sockfd"), sockaddr_in("addr", 2), u32("addrlen")],
        "home network namespace; AF_UNIX paths in the home file system"),
    fwd(50, "listen", [fd("sockfd"), i32("backlog")], "at home"),
    fwd(51, "getsockname", [fd("sockfd"), sockaddr_out("addr", 2), len_inout("addrlen")],
        "at home"),
    fwd(52, "getpeername", [fd("sockfd"), sockaddr_out("addr", 2), len_inout("addrlen")],
        "at home"),
    fwd(53, "socketpair", [i32("domain"), i32("type"), i32("protocol"), st_out("sv", "int[2]")],
        "both ends in the deputy's table"),
    fwd(54, "setsockopt",
        [fd("sockfd"), i32("level"), i32("optname"), cx("optval", "sockopt_in", "const void*"),
         u32("optlen")],
        "at home; option values that hold further pointers other than sock_fprog are not "
        "marshalled", support="partial"),
    fwd(55, "getsockopt",
        [fd("sockfd"), i32("level"), i32("optname"),
         Arg("optval", "out", "void*", Len("deref", 4, max=INT_MAX, over="clamp"),
             Wb("deref", 4)),
         len_inout("optlen")],
        "at home"),
    special(56, "clone",
            "a new process gets a new deputy (forked at home) and a new body next to this one; "
            "a thread (CLONE_THREAD) gets a deputy thread with the same TID, at home only "
            "(EAGAIN and a notice on another node)",
            args=[flags("flags", "unsigned long"), addr("stack"), addr("parent_tid"),
                  addr("child_tid"), addr("tls")],
            may_pin=True),
    special(57, "fork", "new deputy forked at home, new body forked from this one",
            support="full", args=[]),
    special(58, "vfork",
            "as fork, with the parent held until the child execs or exits (memory not shared)",
            args=[]),
    special(59, "execve",
            "runs in the body's kernel: at home on the node's files; on another node the image "
            "and its interpreters are fetched from home (execute permission checked as the "
            "program) into the body's staging root first",
            args=[path("filename"), cx("argv", "argv", "char* const*"),
                  cx("envp", "argv", "char* const*")]),
    special(60, "exit",
            "a thread's exit; the last one reports the status to the deputy, which exits "
            "with it", support="full", args=[i32("status")]),
    fwd(61, "wait4",
        [pid(), st_out("wstatus", "int"), flags("options", "int"),
         st_out("rusage", "struct rusage")],
        "children are deputies at home and exit with their bodies' status; rusage is the "
        "child deputies' own until body CPU time is accounted", support="partial", blocks=True),
    special(62, "kill",
            "to itself (its home PID, or a group containing it): its own copy is delivered "
            "in the body before the call returns, as POSIX requires; others via the deputy",
            support="full", args=[pid(), sig()]),
    fwd(63, "uname", [st_out("buf", "struct new_utsname")],
        "the home node's identity (hostname, release)"),
    fwd(64, "semget", [i32("key"), i32("nsems"), flags("semflg", "int")], "home IPC namespace"),
    fwd(65, "semop",
        [i32("semid"), buf_in("sops", 2, elem=6, max=6 * 65536, over="E2BIG",
                              ctype="struct sembuf*"), size("nsops")],
        "home IPC namespace; nsops beyond semopm gives E2BIG (bounded at 65536 here)",
        blocks=True),
    fwd(66, "semctl", [i32("semid"), i32("semnum"), i32("cmd"), cx("arg", "semctl_arg")],
        "home IPC namespace"),
    special(67, "shmdt", "detaches a segment attached by shmat (native while at home)",
            args=[addr("shmaddr")]),
    fwd(68, "msgget", [i32("key"), flags("msgflg", "int")], "home IPC namespace"),
    fwd(69, "msgsnd",
        [i32("msqid"), buf_in("msgp", 2, base=8, max=8 + INT_MAX, over="EINVAL",
                              ctype="const struct msgbuf*"), size("msgsz"),
         flags("msgflg", "int")],
        "mtype (8 B) plus msgsz bytes of text", blocks=True),
    fwd(70, "msgrcv",
        [i32("msqid"), buf_out("msgp", 2, base=8, max=8 + INT_MAX, over="EINVAL",
                               ctype="struct msgbuf*"), size("msgsz"), i64("msgtyp"),
         flags("msgflg", "int")],
        "mtype plus the returned number of text bytes go back", blocks=True),
    fwd(71, "msgctl", [i32("msqid"), i32("cmd"), cx("buf", "msgctl_buf")],
        "home IPC namespace"),
    fwd(72, "fcntl", [fd(), i32("cmd"), cx("arg", "fcntl_arg")],
        "on the deputy's fd; F_SETOWN makes the deputy receive SIGIO and forward it; "
        "F_SETLKW/F_OFD_SETLKW wait", blocks=True),
    fwd(73, "flock", [fd(), i32("operation")], "locks are held by the deputy's file",
        blocks=True),
    fwd(74, "fsync", [fd()], "home file"),
    fwd(75, "fdatasync", [fd()], "home file"),
    fwd(76, "truncate", [path(), off("length")], "home file system"),
    fwd(77, "ftruncate", [fd(), off("length")], "home file"),
    fwd(78, "getdents", [fd(), buf_out("dirp", 2, max=MAX_RW_COUNT,
                                       ctype="struct linux_dirent*"), u32("count")],
        "a shorter buffer only returns fewer entries"),
    fwd(79, "getcwd", [buf_out("buf", 1, max=PATH_MAX, ctype="char*"), size("size")],
        "the deputy's cwd; returns the length including the NUL"),
    fwd(80, "chdir", [path()], "the deputy's cwd is the program's"),
    fwd(81, "fchdir", [fd()], "the deputy's cwd is the program's"),
    fwd(82, "rename", [path("oldpath"), path("newpath")], "home file system"),
    fwd(83, "mkdir", [path(), mode()], "home file system; the deputy's umask applies"),
    fwd(84, "rmdir", [path()], "home file system"),
    fwd(85, "creat", [path(), mode()], "home file system", blocks=True),
    fwd(86, "link", [path("oldpath"), path("newpath")], "home file system"),
    fwd(87, "unlink", [path()], "home file system"),
    fwd(88, "symlink", [cstr("target", PATH_MAX, "ENAMETOOLONG"), path("linkpath")],
        "home file system"),
    fwd(89, "readlink", [path(), buf_out("buf", 2, max=PATH_MAX, ctype="char*"), size("bufsiz")],
        "home file system; /proc/self resolves to the deputy (e.g. /proc/self/exe is the "
        "program, /proc/self/maps is not the body's)", support="partial"),
    fwd(90, "chmod", [path(), mode()], "home file system"),
    fwd(91, "fchmod", [fd(), mode()], "home file"),
    fwd(92, "chown", [path(), uid("owner"), gid("group")], "home file system"),
    fwd(93, "fchown", [fd(), uid("owner"), gid("group")], "home file"),
    fwd(94, "lchown", [path(), uid("owner"), gid("group")], "home file system"),
    fwd(95, "umask", [mode("mask")], "file creation happens at the deputy, so its umask counts"),
    local(96, "gettimeofday", "clock read (vDSO anyway); nodes keep their clocks in sync (NTP)"),
    special(97, "getrlimit",
            "answered by the deputy, which holds the authoritative limits (see setrlimit)",
            support="full", args=[i32("resource"), st_out("rlim", "struct rlimit")]),
    special(98, "getrusage",
            "RUSAGE_SELF/THREAD: the body's CPU time (accumulated over its nodes by the "
            "deputy); RUSAGE_CHILDREN: the deputy's view of reaped children",
            args=[i32("who"), st_out("usage", "struct rusage")]),
    fwd(99, "sysinfo", [st_out("info", "struct sysinfo")],
        "the home node's figures (uptime, load, memory), consistent across migration",
        support="partial"),
    special(100, "times",
            "own CPU times from the body (accumulated over its nodes); children's and the "
            "returned clock ticks from the deputy",
            args=[Arg("buf", "out", "struct tms*", Len("fixed", base=32, max=32), Wb("all"))]),
    refuse(101, "ptrace", "EPERM",
           "the supervisor is the body's tracer; tracing another program would trace its "
           "deputy, not its body (debug programs natively)"),
    fwd(102, "getuid", [], "home credentials"),
    fwd(103, "syslog", [i32("type"), buf_out("buf", 2, max=INT_MAX, ctype="char*"), i32("len")],
        "the home node's kernel log", blocks=True),
    fwd(104, "getgid", [], "home credentials"),
    fwd(105, "setuid", [uid()], "home credentials; the body keeps running unprivileged"),
    fwd(106, "setgid", [gid()], "home credentials; the body keeps running unprivileged"),
    fwd(107, "geteuid", [], "home credentials"),
    fwd(108, "getegid", [], "home credentials"),
    fwd(109, "setpgid", [pid(), pid("pgid")], "process groups live at home (job control)"),
    fwd(110, "getppid", [], "the parent's home PID"),
    fwd(111, "getpgrp", [], "home process group"),
    fwd(112, "setsid", [], "home session"),
    fwd(113, "setreuid", [uid("ruid"), uid("euid")], "home credentials"),
    fwd(114, "setregid", [gid("rgid"), gid("egid")], "home credentials"),
    fwd(115, "getgroups",
        [i32("size"), buf_out("list", 0, elem=4, max=NGROUPS_MAX * 4, over="EINVAL",
                              ctype="gid_t*")],
        "home credentials; size 0 only counts"),
    fwd(116, "setgroups",
        [size("size"), buf_in("list", 0, elem=4, max=NGROUPS_MAX * 4, over="EINVAL",
                              ctype="const gid_t*")],
        "home credentials"),
    fwd(117, "setresuid", [uid("ruid"), uid("euid"), uid("suid")], "home credentials"),
    fwd(118, "getresuid", [st_out("ruid", "u32"), st_out("euid", "u32"), st_out("suid", "u32")],
        "home credentials"),
    fwd(119, "setresgid", [gid("rgid"), gid("egid"), gid("sgid")], "home credentials"),
    fwd(120, "getresgid", [st_out("rgid", "u32"), st_out("egid", "u32"), st_out("sgid", "u32")],
        "home credentials"),
    fwd(121, "getpgid", [pid()], "home process groups"),
    fwd(122, "setfsuid", [uid("fsuid")], "home credentials (file access happens at home)"),
    fwd(123, "setfsgid", [gid("fsgid")], "home credentials (file access happens at home)"),
    fwd(124, "getsid", [pid()], "home sessions"),
    fwd(125, "capget",
        [st_inout("hdrp", "struct __user_cap_header_struct", on_error=True),
         cx("datap", "cap_data", "cap_user_data_t")],
        "home credentials; a bad version is answered with the preferred one in hdrp"),
    fwd(126, "capset",
        [st_inout("hdrp", "struct __user_cap_header_struct", on_error=True),
         cx("datap", "cap_data", "const cap_user_data_t")],
        "home credentials"),
    local(127, "rt_sigpending", "signals pending in the body"),
    local(128, "rt_sigtimedwait", "waits for signals delivered to the body", blocks=True),
    special(129, "rt_sigqueueinfo",
            "to itself: queued in the body directly; to others: forwarded",
            support="full", args=[pid("tgid"), sig(), st_in("info", "siginfo_t")]),
    local(130, "rt_sigsuspend", "waits for signals delivered to the body", blocks=True),
    local(131, "sigaltstack", "own memory and signal state; carried by migration"),
    fwd(132, "utime", [path("filename"), st_in("times", "struct utimbuf")], "home file system"),
    fwd(133, "mknod", [path(), mode(), u32("dev")], "home file system"),
    unimplemented(134, "uselib", "removed from Linux (a.out loader); ENOSYS as the kernel says"),
    local(135, "personality",
          "per-task persona of the body; exec and migration must carry it", support="partial"),
    fwd(136, "ustat", [u32("dev"), st_out("ubuf", "struct ustat")], "home file systems"),
    fwd(137, "statfs", [path(), st_out("buf", "struct statfs")], "home file system"),
    fwd(138, "fstatfs", [fd(), st_out("buf", "struct statfs")], "home file system"),
    refuse(139, "sysfs", "ENOSYS",
           "obsolete and without a glibc wrapper; answered as a kernel without "
           "CONFIG_SYSFS_SYSCALL would"),
    special(140, "getpriority",
            "the caller's own nice value is the body's (recorded at the deputy so it survives "
            "migration); other targets forwarded", support="partial",
            args=[i32("which"), i32("who")]),
    special(141, "setpriority",
            "own nice value applied in the body (re-applied after migration) and recorded at "
            "the deputy; other targets forwarded", support="partial",
            args=[i32("which"), i32("who"), i32("prio")]),
    special(142, "sched_setparam",
            "own: applied in the body and recorded for migration; others forwarded",
            args=[pid(), st_in("param", "struct sched_param")]),
    special(143, "sched_getparam", "own (pid 0): native (fast path); others forwarded",
            args=[pid(), st_out("param", "struct sched_param")], local_if=pid_zero()),
    special(144, "sched_setscheduler",
            "own: applied in the body; real-time policies pin the process at home "
            "(openMosix rule); others forwarded",
            args=[pid(), i32("policy"), st_in("param", "struct sched_param")], may_pin=True),
    special(145, "sched_getscheduler", "own (pid 0): native (fast path); others forwarded",
            args=[pid()], local_if=pid_zero()),
    local(146, "sched_get_priority_max", "a constant of the policy"),
    local(147, "sched_get_priority_min", "a constant of the policy"),
    special(148, "sched_rr_get_interval", "own (pid 0): native (fast path); others forwarded",
            args=[pid(), st_out("tp", "struct timespec")], local_if=pid_zero()),
    local(149, "mlock",
          "own memory on the current node; migration re-locks on the target under its "
          "RLIMIT_MEMLOCK", support="partial"),
    local(150, "munlock", "own memory"),
    local(151, "mlockall", "as mlock", support="partial"),
    local(152, "munlockall", "own memory"),
    fwd(153, "vhangup", [], "the home controlling terminal"),
    local(154, "modify_ldt",
          "per-mm LDT of the body; migration does not carry LDT entries yet, so a process "
          "that writes one stays where it is", support="partial", may_pin=True),
    fwd(155, "pivot_root", [path("new_root"), path("put_old")],
        "home mount namespace (privileged)"),
    unimplemented(156, "_sysctl", "removed in Linux 5.5 (sys_ni_syscall)"),
    special(157, "prctl",
            "by option: body-local ones native (PR_SET_NAME, PR_SET_VMA, THP, "
            "PR_SET_TSC, speculation, PR_SET_NO_NEW_PRIVS also at the deputy); process-tree "
            "and credential ones forwarded (PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, "
            "PR_SET_DUMPABLE, PR_CAPBSET_*, PR_SET_KEEPCAPS, securebits); PR_SET_SECCOMP as "
            "seccomp; PR_SET_MM/PR_SET_PTRACER refused EPERM",
            args=[i32("option"), cx("arg2", "prctl_args"), cx("arg3", "prctl_args"),
                  cx("arg4", "prctl_args"), cx("arg5", "prctl_args")]),
    local(158, "arch_prctl", "the body's FS/GS bases, CPUID faulting, shadow stack"),
    fwd(159, "adjtimex", [st_inout("buf", "struct timex")],
        "the home clock (reading is allowed to anyone, setting needs CAP_SYS_TIME there)"),
    special(160, "setrlimit",
            "forwarded (the deputy keeps the authoritative limits: NOFILE, FSIZE, NPROC, "
            "SIGPENDING, MSGQUEUE act there) and mirrored into the body for AS, DATA, STACK, "
            "RSS, MEMLOCK, CPU, CORE, NICE, RTPRIO, RTTIME; re-applied after migration",
            args=[i32("resource"), st_in("rlim", "struct rlimit")]),
    fwd(161, "chroot", [path()], "the deputy's root, where paths are resolved"),
    fwd(162, "sync", [], "home file systems"),
    fwd(163, "acct", [path("filename")], "home process accounting (privileged)"),
    fwd(164, "settimeofday", [st_in("tv", "struct timeval"), st_in("tz", "struct timezone")],
        "sets the home clock (needs CAP_SYS_TIME there)"),
    fwd(165, "mount",
        [cstr("source", PATH_MAX, "ENAMETOOLONG"), path("target"),
         cstr("filesystemtype", PATH_MAX, "ENAMETOOLONG"), u64("mountflags"),
         cx("data", "mount_data", "const void*")],
        "home mount namespace (privileged)"),
    fwd(166, "umount2", [path("target"), flags("flags", "int")], "home mount namespace"),
    fwd(167, "swapon", [path(), flags("swapflags", "int")], "home node (privileged)"),
    fwd(168, "swapoff", [path()], "home node (privileged)"),
    fwd(169, "reboot", [i32("magic"), i32("magic2"), u32("cmd"), cx("arg", "reboot_arg")],
        "the home node, if the home credentials allow it (CAP_SYS_BOOT); inside a PID "
        "namespace it ends that namespace"),
    fwd(170, "sethostname", [buf_in("name", 1, max=64, over="EINVAL", ctype="const char*"),
                             i32("len")],
        "home UTS namespace"),
    fwd(171, "setdomainname", [buf_in("name", 1, max=64, over="EINVAL", ctype="const char*"),
                               i32("len")],
        "home UTS namespace"),
    refuse(172, "iopl", "EPERM", "I/O ports belong to a node; bodies run unprivileged"),
    refuse(173, "ioperm", "EPERM", "I/O ports belong to a node; bodies run unprivileged"),
    unimplemented(174, "create_module"),
    refuse(175, "init_module", "EPERM", "loading kernel modules is no business of a "
                                        "migratable program"),
    refuse(176, "delete_module", "EPERM", "unloading kernel modules is no business of a "
                                          "migratable program"),
    unimplemented(177, "get_kernel_syms"),
    unimplemented(178, "query_module"),
    fwd(179, "quotactl",
        [i32("cmd"), cstr("special", PATH_MAX, "ENAMETOOLONG"), i32("id"),
         cx("addr", "quotactl_addr")],
        "home file systems"),
    unimplemented(180, "nfsservctl", "removed in Linux 3.1 (sys_ni_syscall)"),
    unimplemented(181, "getpmsg"),
    unimplemented(182, "putpmsg"),
    unimplemented(183, "afs_syscall"),
    unimplemented(184, "tuxcall"),
    unimplemented(185, "security"),
    fwd(186, "gettid", [],
        "the home TID; equals the PID for the only thread a migratable process has"),
    fwd(187, "readahead", [fd(), off(), size()], "home page cache"),
    fwd(188, "setxattr",
        [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_in("value", 3, max=XATTR_SIZE_MAX, over="E2BIG"), size("size"),
         flags("flags", "int")],
        "home file system"),
    fwd(189, "lsetxattr",
        [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_in("value", 3, max=XATTR_SIZE_MAX, over="E2BIG"), size("size"),
         flags("flags", "int")],
        "home file system"),
    fwd(190, "fsetxattr",
        [fd(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_in("value", 3, max=XATTR_SIZE_MAX, over="E2BIG"), size("size"),
         flags("flags", "int")],
        "home file"),
    fwd(191, "getxattr",
        [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_out("value", 3, max=XATTR_SIZE_MAX), size("size")],
        "home file system; the kernel clamps size at XATTR_SIZE_MAX"),
    fwd(192, "lgetxattr",
        [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_out("value", 3, max=XATTR_SIZE_MAX), size("size")],
        "home file system"),
    fwd(193, "fgetxattr",
        [fd(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         buf_out("value", 3, max=XATTR_SIZE_MAX), size("size")],
        "home file"),
    fwd(194, "listxattr", [path(), buf_out("list", 2, max=XATTR_LIST_MAX, ctype="char*"),
                           size("size")],
        "home file system; the kernel clamps size at XATTR_LIST_MAX"),
    fwd(195, "llistxattr", [path(), buf_out("list", 2, max=XATTR_LIST_MAX, ctype="char*"),
                            size("size")],
        "home file system"),
    fwd(196, "flistxattr", [fd(), buf_out("list", 2, max=XATTR_LIST_MAX, ctype="char*"),
                            size("size")],
        "home file"),
    fwd(197, "removexattr", [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE")],
        "home file system"),
    fwd(198, "lremovexattr", [path(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE")],
        "home file system"),
    fwd(199, "fremovexattr", [fd(), cstr("name", XATTR_NAME_MAX + 1, "ERANGE")], "home file"),
    special(200, "tkill", "to one of its own threads: delivered in the body; others forwarded",
            support="full", args=[pid("tid"), sig()]),
    local(201, "time", "clock read (vDSO anyway)"),
    local(202, "futex",
          "on the body's own memory; futexes shared with another program through a shared "
          "mapping work only while both bodies are at home", support="partial", blocks=True),
    special(203, "sched_setaffinity",
            "own (pid 0): native on the node it runs on (fast path; CPU numbers are per node, "
            "so the mask does not follow migration); others forwarded",
            args=[pid(), u32("cpusetsize"),
                  buf_in("mask", 1, max=PAGE_SIZE, over="clamp", ctype="const cpu_set_t*")],
            local_if=pid_zero()),
    special(204, "sched_getaffinity",
            "own (pid 0): native, the CPUs of the node it runs on (fast path); others "
            "forwarded",
            args=[pid(), u32("cpusetsize"),
                  buf_out("mask", 1, max=PAGE_SIZE, over="clamp", ctype="cpu_set_t*")],
            local_if=pid_zero()),
    unimplemented(205, "set_thread_area", "not implemented for 64-bit callers (use arch_prctl)"),
    refuse(206, "io_setup", "ENOSYS",
           "Linux AIO maps its ring into the caller's memory at home; answered as a kernel "
           "without CONFIG_AIO so libaio users fall back"),
    refuse(207, "io_destroy", "ENOSYS", "no AIO context can exist (io_setup is refused)"),
    refuse(208, "io_getevents", "ENOSYS", "no AIO context can exist (io_setup is refused)"),
    refuse(209, "io_submit", "ENOSYS", "no AIO context can exist (io_setup is refused)"),
    refuse(210, "io_cancel", "ENOSYS", "no AIO context can exist (io_setup is refused)"),
    unimplemented(211, "get_thread_area", "not implemented for 64-bit callers (use arch_prctl)"),
    unimplemented(212, "lookup_dcookie", "removed from Linux (no entry point any more)"),
    fwd(213, "epoll_create", [i32("size")], "the epoll instance lives at the deputy"),
    unimplemented(214, "epoll_ctl_old"),
    unimplemented(215, "epoll_wait_old"),
    local(216, "remap_file_pages",
          "deprecated, emulated by the kernel on the body's own shared mappings",
          support="partial"),
    fwd(217, "getdents64", [fd(), buf_out("dirp", 2, max=MAX_RW_COUNT,
                                          ctype="struct linux_dirent64*"), u32("count")],
        "a shorter buffer only returns fewer entries"),
    local(218, "set_tid_address",
          "records a body address (CLONE_CHILD_CLEARTID); glibc caches the returned TID, "
          "so a body must run with its home TID in a PID namespace of its own (README)",
          support="partial"),
    local(219, "restart_syscall",
          "restarts the body's own interrupted local sleep; forwarded calls never leave a "
          "restart block in the body"),
    fwd(220, "semtimedop",
        [i32("semid"), buf_in("sops", 2, elem=6, max=6 * 65536, over="E2BIG",
                              ctype="struct sembuf*"), size("nsops"),
         st_in("timeout", "struct timespec")],
        "home IPC namespace", blocks=True),
    fwd(221, "fadvise64", [fd(), off(), off("len"), i32("advice")], "home page cache"),
    fwd(222, "timer_create",
        [i32("clockid"), st_in("sevp", "struct sigevent"), st_out("timerid", "timer_t")],
        "timers run at the deputy and their signals are forwarded; CPU-time clocks measure "
        "the deputy, not the body", support="partial"),
    fwd(223, "timer_settime",
        [i32("timerid"), flags("flags", "int"), st_in("new_value", "struct itimerspec"),
         st_out("old_value", "struct itimerspec")],
        "the deputy's timer"),
    fwd(224, "timer_gettime", [i32("timerid"), st_out("curr_value", "struct itimerspec")],
        "the deputy's timer"),
    fwd(225, "timer_getoverrun", [i32("timerid")], "the deputy's timer"),
    fwd(226, "timer_delete", [i32("timerid")], "the deputy's timer"),
    fwd(227, "clock_settime", [i32("clockid"), st_in("tp", "struct timespec")],
        "sets the home clock (needs CAP_SYS_TIME there)"),
    local(228, "clock_gettime",
          "vDSO anyway; CPU-time clocks count the body's time on the current node only",
          support="partial"),
    local(229, "clock_getres", "a constant of the clock"),
    local(230, "clock_nanosleep",
          "sleeping is the body's own business; TIMER_ABSTIME relies on synchronised clocks",
          blocks=True),
    special(231, "exit_group",
            "ends the body; the supervisor reports the status to the deputy, which exits "
            "with it", support="full", args=[i32("status")]),
    fwd(232, "epoll_wait",
        [fd("epfd"), buf_out("events", 2, elem=12, max=INT_MAX // 12 * 12, over="EINVAL",
                             ctype="struct epoll_event*"),
         i32("maxevents"), i32("timeout")],
        "waits at the deputy; returned events go back", blocks=True),
    fwd(233, "epoll_ctl", [fd("epfd"), i32("op"), fd(), st_in("event", "struct epoll_event")],
        "the deputy's epoll instance and fds"),
    special(234, "tgkill",
            "to itself (raise): delivered in the body before returning; others forwarded",
            support="full", args=[pid("tgid"), pid("tid"), sig()]),
    fwd(235, "utimes", [path("filename"), st_in("times", "struct timeval[2]")],
        "home file system"),
    unimplemented(236, "vserver"),
    local(237, "mbind",
          "NUMA policy of the body's own memory on the current node; not carried by "
          "migration", support="partial"),
    local(238, "set_mempolicy", "as mbind", support="partial"),
    local(239, "get_mempolicy", "as mbind", support="partial"),
    fwd(240, "mq_open",
        [cstr("name", NAME_MAX + 1, "ENAMETOOLONG"), flags("oflag", "int"), mode(),
         st_in("attr", "struct mq_attr")],
        "home IPC namespace"),
    fwd(241, "mq_unlink", [cstr("name", NAME_MAX + 1, "ENAMETOOLONG")], "home IPC namespace"),
    fwd(242, "mq_timedsend",
        [fd("mqdes"), buf_in("msg_ptr", 2, max=HARD_MSGSIZEMAX, over="EMSGSIZE",
                             ctype="const char*"),
         size("msg_len"), u32("msg_prio"), st_in("abs_timeout", "struct timespec")],
        "home IPC namespace", blocks=True),
    fwd(243, "mq_timedreceive",
        [fd("mqdes"), buf_out("msg_ptr", 2, max=HARD_MSGSIZEMAX, ctype="char*"),
         size("msg_len"), st_out("msg_prio", "unsigned int"),
         st_in("abs_timeout", "struct timespec")],
        "home IPC namespace; msg_len above the largest message size is clamped harmlessly",
        blocks=True),
    fwd(244, "mq_notify", [fd("mqdes"), cx("sevp", "mq_sigevent", "const struct sigevent*")],
        "the deputy is notified and forwards the signal"),
    fwd(245, "mq_getsetattr",
        [fd("mqdes"), st_in("newattr", "struct mq_attr"), st_out("oldattr", "struct mq_attr")],
        "home IPC namespace"),
    refuse(246, "kexec_load", "EPERM", "replacing a node's kernel is no business of a "
                                       "migratable program"),
    fwd(247, "waitid",
        [i32("idtype"), pid("id"), st_out("infop", "siginfo_t"), flags("options", "int"),
         st_out("rusage", "struct rusage")],
        "children are deputies at home; rusage as wait4", support="partial", blocks=True),
    fwd(248, "add_key",
        [cstr("type", 32, "EINVAL"), cstr("description", PAGE_SIZE, "EINVAL"),
         buf_in("payload", 3, max=1024 * 1024 - 1, over="EINVAL"), size("plen"),
         i32("keyring")],
        "home kernel keyrings"),
    fwd(249, "request_key",
        [cstr("type", 32, "EINVAL"), cstr("description", PAGE_SIZE, "EINVAL"),
         cstr("callout_info", PAGE_SIZE, "EINVAL"), i32("dest_keyring")],
        "home kernel keyrings; may wait for key construction", blocks=True),
    fwd(250, "keyctl",
        [i32("operation"), cx("arg2", "keyctl_args"), cx("arg3", "keyctl_args"),
         cx("arg4", "keyctl_args"), cx("arg5", "keyctl_args")],
        "home kernel keyrings; operation-specific marshalling", support="partial"),
    fwd(251, "ioprio_set", [i32("which"), i32("who"), i32("ioprio")],
        "I/O is done by the deputy, so its I/O priority is the one that matters"),
    fwd(252, "ioprio_get", [i32("which"), i32("who")], "the deputy's I/O priority"),
    fwd(253, "inotify_init", [], "watches home files"),
    fwd(254, "inotify_add_watch", [fd(), path(), u32("mask")], "home file system"),
    fwd(255, "inotify_rm_watch", [fd(), i32("wd")], "the deputy's inotify instance"),
    special(256, "migrate_pages",
            "own (pid 0): native, NUMA nodes of the current node (fast path); another pid: "
            "EPERM (its memory lives in its own body)",
            args=[pid(), u64("maxnode"), addr("old_nodes"), addr("new_nodes")],
            local_if=pid_zero()),
    fwd(257, "openat", [dirfd(), path(), flags("flags", "int"), mode()],
        "as open (including the /proc/self caveat)", support="partial", blocks=True),
    fwd(258, "mkdirat", [dirfd(), path(), mode()], "home file system"),
    fwd(259, "mknodat", [dirfd(), path(), mode(), u32("dev")], "home file system"),
    fwd(260, "fchownat", [dirfd(), path(), uid("owner"), gid("group"), flags("flags", "int")],
        "home file system; AT_EMPTY_PATH with an empty path acts on dirfd"),
    fwd(261, "futimesat", [dirfd(), path(), st_in("times", "struct timeval[2]")],
        "home file system"),
    fwd(262, "newfstatat", [dirfd(), path(), st_out("statbuf", "struct stat"),
                            flags("flags", "int")],
        "home file system"),
    fwd(263, "unlinkat", [dirfd(), path(), flags("flags", "int")], "home file system"),
    fwd(264, "renameat", [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                          path("newpath")],
        "home file system"),
    fwd(265, "linkat", [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                        path("newpath"), flags("flags", "int")],
        "home file system"),
    fwd(266, "symlinkat", [cstr("target", PATH_MAX, "ENAMETOOLONG"), dirfd("newdirfd"),
                           path("linkpath")],
        "home file system"),
    fwd(267, "readlinkat", [dirfd(), path(), buf_out("buf", 3, max=PATH_MAX, ctype="char*"),
                            size("bufsiz")],
        "home file system; /proc/self is the deputy (see readlink)", support="partial"),
    fwd(268, "fchmodat", [dirfd(), path(), mode()], "home file system"),
    fwd(269, "faccessat", [dirfd(), path(), i32("mode")], "home credentials"),
    fwd(270, "pselect6",
        [i32("nfds"),
         Arg("readfds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         Arg("writefds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         Arg("exceptfds", "inout", "fd_set*", Len("fdset", 0, max=NR_OPEN_MAX // 8), Wb("all")),
         st_inout("timeout", "struct timespec", on_error=True),
         cx("sigmask", "pselect_sigmask", "const void*")],
        "with a mask: at home natively on the mirrored fds (the mask is the body's); on "
        "another node at the deputy, a child's SIGCHLD ending the wait with EINTR",
        blocks=True),
    fwd(271, "ppoll",
        [buf_inout("fds", 1, elem=8, max=NR_OPEN_MAX * 8, over="EINVAL",
                   ctype="struct pollfd*"),
         u32("nfds"), st_inout("tmo_p", "struct timespec", on_error=True),
         sigset_in("sigmask", 4), size("sigsetsize")],
        "as pselect6", blocks=True),
    fwd(272, "unshare", [flags("flags", "int")],
        "namespaces and fs state are the deputy's; CLONE_VM/CLONE_SIGHAND/CLONE_THREAD "
        "bits concern the body and are no-ops for a single-threaded process",
        support="partial"),
    local(273, "set_robust_list", "the list lives in the body's memory; its kernel walks it"),
    special(274, "get_robust_list",
            "own (pid 0): native (fast path); another pid: EPERM (its list lives in its body)",
            args=[pid(), st_out("head_ptr", "u64"), st_out("len_ptr", "u64")],
            local_if=pid_zero()),
    fwd(275, "splice",
        [fd("fd_in"), st_inout("off_in", "loff_t"), fd("fd_out"), st_inout("off_out", "loff_t"),
         size("len"), flags("flags")],
        "both fds at home", blocks=True),
    fwd(276, "tee", [fd("fd_in"), fd("fd_out"), size("len"), flags("flags")],
        "both pipes at home", blocks=True),
    fwd(277, "sync_file_range", [fd(), off(), off("nbytes"), flags("flags")], "home file"),
    fwd(278, "vmsplice",
        [fd(), cx("iov", "vmsplice_iov", "const struct iovec*"), u64("nr_segs"),
         flags("flags")],
        "copies through the deputy: the pages are never shared with the pipe",
        support="partial", blocks=True),
    special(279, "move_pages",
            "own (pid 0): native (fast path); another pid: EPERM (its memory lives in its "
            "body)",
            args=[pid(), u64("count"), addr("pages"), addr("nodes"), addr("status"),
                  flags("flags", "int")],
            local_if=pid_zero()),
    fwd(280, "utimensat",
        [dirfd(), path(), st_in("times", "struct timespec[2]"), flags("flags", "int")],
        "home file system; a NULL path acts on dirfd"),
    fwd(281, "epoll_pwait",
        [fd("epfd"), buf_out("events", 2, elem=12, max=INT_MAX // 12 * 12, over="EINVAL",
                             ctype="struct epoll_event*"),
         i32("maxevents"), i32("timeout"), sigset_in("sigmask", 5), size("sigsetsize")],
        "as epoll_wait; with a mask as pselect6", blocks=True),
    special(282, "signalfd",
            "the deputy creates the fd and keeps the masked signals queued at home instead "
            "of forwarding them; signals already pending in the body are not seen",
            args=[fd(), sigset_in("mask", 2), size("sizemask")]),
    fwd(283, "timerfd_create", [i32("clockid"), flags("flags", "int")],
        "the timer runs at the deputy"),
    fwd(284, "eventfd", [u32("initval")], "lives at the deputy"),
    fwd(285, "fallocate", [fd(), i32("mode"), off(), off("len")], "home file"),
    fwd(286, "timerfd_settime",
        [fd(), flags("flags", "int"), st_in("new_value", "struct itimerspec"),
         st_out("old_value", "struct itimerspec")],
        "the deputy's timer"),
    fwd(287, "timerfd_gettime", [fd(), st_out("curr_value", "struct itimerspec")],
        "the deputy's timer"),
    fwd(288, "accept4",
        [fd("sockfd"), sockaddr_out("addr", 2), len_inout("addrlen"), flags("flags", "int")],
        "at home", blocks=True),
    special(289, "signalfd4", "as signalfd",
            args=[fd(), sigset_in("mask", 2), size("sizemask"), flags("flags", "int")]),
    fwd(290, "eventfd2", [u32("initval"), flags("flags", "int")], "lives at the deputy"),
    fwd(291, "epoll_create1", [flags("flags", "int")], "the epoll instance lives at the deputy"),
    fwd(292, "dup3", [fd("oldfd"), fd("newfd"), flags("flags", "int")], "deputy's fd table"),
    fwd(293, "pipe2", [st_out("pipefd", "int[2]"), flags("flags", "int")],
        "both ends in the deputy's table"),
    fwd(294, "inotify_init1", [flags("flags", "int")], "watches home files"),
    fwd(295, "preadv", [fd(), iov_out("iov", 2), i32("iovcnt"), u64("pos_l"), u64("pos_h")],
        "as readv at an offset", blocks=True),
    fwd(296, "pwritev", [fd(), iov_in("iov", 2), i32("iovcnt"), u64("pos_l"), u64("pos_h")],
        "as writev at an offset", blocks=True),
    special(297, "rt_tgsigqueueinfo",
            "to one of its own threads: queued in the body; others forwarded",
            support="full", args=[pid("tgid"), pid("tid"), sig(), st_in("info", "siginfo_t")]),
    refuse(298, "perf_event_open", "ENOSYS",
           "counters measure one node's CPU and cannot follow a migrating body; answered as "
           "a kernel without perf events"),
    fwd(299, "recvmmsg",
        [fd("sockfd"), cx("msgvec", "mmsghdr_out", "struct mmsghdr*"), u32("vlen"),
         flags("flags", "int"), st_inout("timeout", "struct timespec")],
        "at home", blocks=True),
    fwd(300, "fanotify_init", [flags("flags"), flags("event_f_flags")],
        "watches home file systems (privileged or restricted unprivileged mode)"),
    fwd(301, "fanotify_mark",
        [fd("fanotify_fd"), flags("flags"), u64("mask", "uint64_t"), dirfd(), path()],
        "home file systems"),
    special(302, "prlimit64",
            "as getrlimit/setrlimit for the caller itself; another pid's limits are that "
            "program's deputy's, forwarded",
            support="partial",
            args=[pid(), i32("resource"), st_in("new_limit", "struct rlimit64"),
                  st_out("old_limit", "struct rlimit64")]),
    fwd(303, "name_to_handle_at",
        [dirfd(), path(),
         Arg("handle", "inout", "struct file_handle*",
             Len("header", 0, base=8, max=8 + 128, over="EINVAL"), Wb("all"), on_error=True),
         cx("mount_id", "handle_mount_id", "void*"), flags("flags", "int")],
        "home file system; on EOVERFLOW the needed handle_bytes is written back"),
    fwd(304, "open_by_handle_at",
        [fd("mount_fd"),
         Arg("handle", "in", "struct file_handle*",
             Len("header", 0, base=8, max=8 + 128, over="EINVAL")),
         flags("flags", "int")],
        "home file system (CAP_DAC_READ_SEARCH there)", blocks=True),
    fwd(305, "clock_adjtime", [i32("clk_id"), st_inout("buf", "struct timex")],
        "the home clock"),
    fwd(306, "syncfs", [fd()], "home file system"),
    fwd(307, "sendmmsg",
        [fd("sockfd"), cx("msgvec", "mmsghdr_in", "struct mmsghdr*"), u32("vlen"),
         flags("flags", "int")],
        "at home", blocks=True),
    fwd(308, "setns", [fd(), i32("nstype")],
        "the deputy joins the namespace, so paths, sockets and IPC follow; a new PID "
        "namespace applies to children created later, as natively", support="partial"),
    local(309, "getcpu", "the CPU and NUMA node of the node it runs on (vDSO anyway)"),
    refuse(310, "process_vm_readv", "EPERM",
           "another program's memory lives in its body, not at its deputy; answered as a "
           "denied ptrace access check"),
    refuse(311, "process_vm_writev", "EPERM",
           "another program's memory lives in its body, not at its deputy; answered as a "
           "denied ptrace access check"),
    fwd(312, "kcmp",
        [pid("pid1"), pid("pid2"), i32("type"), u64("idx1"), cx("idx2", "kcmp_idx2",
                                                               "unsigned long")],
        "compares the deputies' kernel objects: right for files, fs and signal handlers, "
        "meaningless for KCMP_VM", support="partial"),
    refuse(313, "finit_module", "EPERM", "loading kernel modules is no business of a "
                                         "migratable program"),
    special(314, "sched_setattr",
            "own: applied in the body (real-time and deadline policies pin the process at "
            "home); others forwarded",
            args=[pid(), cx("attr", "sched_attr_in", "struct sched_attr*"),
                  flags("flags")],
            may_pin=True),
    special(315, "sched_getattr", "own (pid 0): native (fast path); others forwarded",
            args=[pid(), sized_out("attr", 2, "struct sched_attr"), u32("size"),
                  flags("flags")],
            local_if=pid_zero()),
    fwd(316, "renameat2", [dirfd("olddirfd"), path("oldpath"), dirfd("newdirfd"),
                           path("newpath"), flags("flags")],
        "home file system"),
    special(317, "seccomp",
            "a body's own filter stacks on ours (its ERRNO/TRAP/KILL outrank our USER_NOTIF); "
            "the supervisor keeps a copy to re-install after migration; NEW_LISTENER gives "
            "EBUSY (the body's chain already has our listener)",
            args=[u32("operation"), flags("flags"), cx("args", "seccomp_args")]),
    local(318, "getrandom", "the node's entropy is as good as home's"),
    fwd(319, "memfd_create", [cstr("name", 250, "EINVAL"), flags("flags")],
        "created at home; mmap of it follows the file-mmap rules (shared writable mappings "
        "pin at home)", support="partial"),
    refuse(320, "kexec_file_load", "EPERM", "replacing a node's kernel is no business of a "
                                            "migratable program"),
    refuse(321, "bpf", "EPERM",
           "BPF objects are per node and cannot migrate; answered as with "
           "unprivileged_bpf_disabled"),
    special(322, "execveat", "as execve; on another node AT_EMPTY_PATH uses a copy of the fd, "
            "a path relative to a directory fd answers ENOSYS",
            args=[dirfd(), path(), cx("argv", "argv", "char* const*"),
                  cx("envp", "argv", "char* const*"), flags("flags", "int")]),
    refuse(323, "userfaultfd", "EPERM",
           "the supervisor owns the body's userfaultfd for live migration; answered as with "
           "vm.unprivileged_userfaultfd=0"),
    local(324, "membarrier", "among the body's own threads on the current node"),
    local(325, "mlock2", "as mlock", support="partial"),
    fwd(326, "copy_file_range",
        [fd("fd_in"), st_inout("off_in", "loff_t"), fd("fd_out"), st_inout("off_out", "loff_t"),
         size("len"), flags("flags")],
        "both files at home: no data crosses to the body"),
    fwd(327, "preadv2",
        [fd(), iov_out("iov", 2), i32("iovcnt"), u64("pos_l"), u64("pos_h"), flags("flags", "int")],
        "as preadv", blocks=True),
    fwd(328, "pwritev2",
        [fd(), iov_in("iov", 2), i32("iovcnt"), u64("pos_l"), u64("pos_h"), flags("flags", "int")],
        "as pwritev", blocks=True),
    local(329, "pkey_mprotect",
          "own memory; the migration target must support protection keys too",
          support="partial"),
    local(330, "pkey_alloc", "as pkey_mprotect", support="partial"),
    local(331, "pkey_free", "as pkey_mprotect", support="partial"),
    fwd(332, "statx", [dirfd(), path(), flags("flags", "int"), u32("mask"),
                       st_out("statxbuf", "struct statx")],
        "home file system"),
    refuse(333, "io_pgetevents", "ENOSYS", "no AIO context can exist (io_setup is refused)"),
    refuse(334, "rseq", "ENOSYS",
           "restartable sequences register body memory with per-node CPU ids; glibc falls "
           "back when registration fails"),
    local(335, "uretprobe",
          "issued only by the kernel's uretprobe trampoline, which authenticates it; seccomp "
          "lets it through unfiltered anyway"),
    local(336, "uprobe",
          "issued only by the kernel's uprobe trampoline (ENXIO otherwise); must not trap"),
    # 337..423: UNASSIGNED
    fwd(424, "pidfd_send_signal",
        [fd("pidfd"), sig(), st_in("info", "siginfo_t"), flags("flags")],
        "through the deputy; a pidfd naming the caller itself is delivered via its deputy, "
        "i.e. asynchronously, unlike kill of self", support="partial"),
    refuse(425, "io_uring_setup", "ENOSYS",
           "the rings live in the caller's memory and the kernel acts on files behind our "
           "back; answered as a kernel without io_uring so liburing users fall back"),
    refuse(426, "io_uring_enter", "ENOSYS", "no ring can exist (io_uring_setup is refused)"),
    refuse(427, "io_uring_register", "ENOSYS", "no ring can exist (io_uring_setup is refused)"),
    fwd(428, "open_tree", [dirfd(), path("filename"), flags("flags")], "home mount namespace"),
    fwd(429, "move_mount",
        [dirfd("from_dirfd"), path("from_pathname"), dirfd("to_dirfd"), path("to_pathname"),
         flags("flags")],
        "home mount namespace"),
    fwd(430, "fsopen", [cstr("fsname", PAGE_SIZE, "EINVAL"), flags("flags")],
        "home mount namespace"),
    fwd(431, "fsconfig",
        [fd("fs_fd"), u32("cmd"), cstr("key", 256, "EINVAL"),
         cx("value", "fsconfig_value", "const void*"), i32("aux")],
        "home mount namespace"),
    fwd(432, "fsmount", [fd("fs_fd"), flags("flags"), flags("attr_flags")],
        "home mount namespace"),
    fwd(433, "fspick", [dirfd(), path(), flags("flags")], "home mount namespace"),
    fwd(434, "pidfd_open", [pid(), flags("flags")],
        "a pidfd of a home PID, i.e. of that program's deputy"),
    special(435, "clone3", "as clone, with struct clone_args",
            args=[cx("cl_args", "clone_args", "struct clone_args*"), size("size")],
            may_pin=True),
    fwd(436, "close_range", [u32("first"), u32("last"), flags("flags")],
        "deputy's fd table; CLOSE_RANGE_UNSHARE unshares the deputy's"),
    fwd(437, "openat2",
        [dirfd(), path(), sized_in("how", 3, "struct open_how"), size("size")],
        "as open; struct open_how up to a page", support="partial", blocks=True),
    fwd(438, "pidfd_getfd", [fd("pidfd"), fd("targetfd"), flags("flags")],
        "another program's fds are its deputy's: the copy lands in ours"),
    fwd(439, "faccessat2", [dirfd(), path(), i32("mode"), flags("flags", "int")],
        "home credentials"),
    refuse(440, "process_madvise", "EPERM",
           "another program's memory lives in its body, not at its deputy"),
    fwd(441, "epoll_pwait2",
        [fd("epfd"), buf_out("events", 2, elem=12, max=INT_MAX // 12 * 12, over="EINVAL",
                             ctype="struct epoll_event*"),
         i32("maxevents"), st_in("timeout", "struct timespec"), sigset_in("sigmask", 5),
         size("sigsetsize")],
        "as epoll_pwait", blocks=True),
    fwd(442, "mount_setattr",
        [dirfd(), path(), flags("flags"), sized_in("attr", 4, "struct mount_attr"),
         size("size")],
        "home mount namespace"),
    fwd(443, "quotactl_fd", [fd(), u32("cmd"), i32("id"), cx("addr", "quotactl_addr")],
        "home file systems"),
    fwd(444, "landlock_create_ruleset",
        [sized_in("attr", 1, "struct landlock_ruleset_attr"), size("size"), flags("flags")],
        "the ruleset is built at the deputy"),
    fwd(445, "landlock_add_rule",
        [fd("ruleset_fd"), i32("rule_type"), cx("rule_attr", "landlock_rule_attr",
                                                "const void*"),
         flags("flags")],
        "the ruleset is built at the deputy"),
    fwd(446, "landlock_restrict_self", [fd("ruleset_fd"), flags("flags")],
        "restricts the deputy, which performs the program's file and network access; the "
        "body has no such access to restrict", support="partial"),
    refuse(447, "memfd_secret", "ENOSYS",
           "secret memory cannot be read by the supervisor, so the body could never migrate; "
           "answered as a kernel without secretmem"),
    refuse(448, "process_mrelease", "EPERM",
           "another program's memory lives in its body, not at its deputy"),
    local(449, "futex_waitv", "on the body's own memory, as futex", support="partial",
          blocks=True),
    local(450, "set_mempolicy_home_node", "as mbind", support="partial"),
    fwd(451, "cachestat",
        [fd(), st_in("cstat_range", "struct cachestat_range"),
         st_out("cstat", "struct cachestat"), flags("flags")],
        "the home page cache"),
    fwd(452, "fchmodat2", [dirfd(), path(), mode(), flags("flags")], "home file system"),
    local(453, "map_shadow_stack",
          "own memory (CET); the migration target must support user shadow stacks",
          support="partial"),
    local(454, "futex_wake", "as futex", support="partial"),
    local(455, "futex_wait", "as futex", support="partial", blocks=True),
    local(456, "futex_requeue", "as futex", support="partial"),
    fwd(457, "statmount",
        [Arg("req", "in", "const struct mnt_id_req*",
             Len("header", 0, max=PAGE_SIZE, over="E2BIG")),
         sized_out("buf", 2, "struct statmount", max=INT_MAX, over="clamp"),
         size("bufsize"), flags("flags")],
        "home mount namespace"),
    fwd(458, "listmount",
        [Arg("req", "in", "const struct mnt_id_req*",
             Len("header", 0, max=PAGE_SIZE, over="E2BIG")),
         buf_out("mnt_ids", 2, elem=8, max=1000000 * 8, over="EOVERFLOW", ctype="u64*"),
         size("nr_mnt_ids"), flags("flags")],
        "home mount namespace"),
    fwd(459, "lsm_get_self_attr",
        [u32("attr"),
         Arg("ctx", "out", "struct lsm_ctx*", Len("deref", 2, max=INT_MAX, over="clamp"),
             Wb("deref", 2)),
         len_inout("size", "u32", on_error=True), flags("flags")],
        "the deputy's security labels govern the program's access; E2BIG writes the needed "
        "size"),
    fwd(460, "lsm_set_self_attr",
        [u32("attr"), buf_in("ctx", 2, max=INT_MAX, over="E2BIG", ctype="struct lsm_ctx*"),
         u32("size"), flags("flags")],
        "labels the deputy"),
    fwd(461, "lsm_list_modules",
        [Arg("ids", "out", "u64*", Len("deref", 1, max=PAGE_SIZE, over="clamp"),
             Wb("deref", 1)),
         len_inout("size", "u32", on_error=True), flags("flags")],
        "the home kernel's LSMs"),
    local(462, "mseal",
          "own memory; the restore re-seals sealed areas on the target", support="partial"),
    fwd(463, "setxattrat",
        [dirfd(), path(), flags("at_flags"), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         cx("uargs", "xattr_args_in", "const struct xattr_args*"), size("usize")],
        "home file system"),
    fwd(464, "getxattrat",
        [dirfd(), path(), flags("at_flags"), cstr("name", XATTR_NAME_MAX + 1, "ERANGE"),
         cx("uargs", "xattr_args_out", "struct xattr_args*"), size("usize")],
        "home file system"),
    fwd(465, "listxattrat",
        [dirfd(), path(), flags("at_flags"),
         buf_out("list", 4, max=XATTR_LIST_MAX, ctype="char*"), size("size")],
        "home file system"),
    fwd(466, "removexattrat",
        [dirfd(), path(), flags("at_flags"), cstr("name", XATTR_NAME_MAX + 1, "ERANGE")],
        "home file system"),
    fwd(467, "open_tree_attr",
        [dirfd(), path("filename"), flags("flags"), sized_in("attr", 4, "struct mount_attr"),
         size("size")],
        "home mount namespace"),
    fwd(468, "file_getattr",
        [dirfd(), path("filename"), sized_out("ufattr", 3, "struct file_attr"),
         size("usize"), flags("at_flags")],
        "home file system"),
    fwd(469, "file_setattr",
        [dirfd(), path("filename"), sized_in("ufattr", 3, "struct file_attr"),
         size("usize"), flags("at_flags")],
        "home file system"),
]
