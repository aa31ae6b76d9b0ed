// Unit tests for remote/Marshal.h: round trips marshal_request -> wire bytes
// -> home::execute -> wire bytes -> apply_reply on this process's own memory
// (ProcessMemory(getpid())) with real syscalls on real files, pipes and
// sockets in a fresh temporary directory. The results are compared with what
// the same calls answer natively.

#include "remote/Marshal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "home/Executor.h"

namespace mos::remote {
namespace {

TEST_SUITE_BEGIN("marshal");

template <typename T>
std::uint64_t A(T* p) {
  return reinterpret_cast<std::uint64_t>(p);
}
std::uint64_t A(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}

const SyscallEntry& entry(std::string_view name) {
  const SyscallEntry* e = find_syscall(name);
  REQUIRE_MESSAGE(e != nullptr, name);
  return *e;
}

// The body's call forwarded to an in-process deputy: the supervisor's answer.
std::int64_t forward(std::string_view name, std::array<std::uint64_t, 6> args) {
  const SyscallEntry& e = entry(name);
  ProcessMemory mem(::getpid());
  auto req = marshal_request(e, args.data(), mem, 7);
  if (!req) {
    return -req.error();
  }
  wire::SyscallRequest sent;
  REQUIRE(sent.ParseFromString(req->SerializeAsString()));
  const wire::SyscallReply reply = home::execute(sent);
  CHECK(reply.id() == 7);
  wire::SyscallReply received;
  REQUIRE(received.ParseFromString(reply.SerializeAsString()));
  auto ret = apply_reply(e, args.data(), received, mem);
  if (!ret) {
    return -ret.error();
  }
  return *ret;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/mos-marshal-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(std::string_view name) const { return path + "/" + std::string(name); }
};

int open_file(const std::string& path, int flags = O_RDWR | O_CREAT) {
  const auto fd = forward("openat", {A(std::int64_t{AT_FDCWD}), A(path.c_str()),
                                     static_cast<std::uint64_t>(flags), 0600});
  REQUIRE(fd >= 0);
  return static_cast<int>(fd);
}

constexpr std::uint64_t kBadPtr = 0x1;  // never mapped

TEST_CASE("read, write, pread64, pwrite64") {
  TempDir dir;
  const int fd = open_file(dir / "f");
  const char text[] = "hello, world";
  CHECK(forward("write", {A(std::int64_t{fd}), A(text), 12}) == 12);
  CHECK(forward("pwrite64", {A(std::int64_t{fd}), A("HELLO"), 5, 0}) == 5);
  char buf[64] = {};
  CHECK(forward("pread64", {A(std::int64_t{fd}), A(buf), sizeof buf, 0}) == 12);
  CHECK(std::string(buf) == "HELLO, world");
  REQUIRE(::lseek(fd, 7, SEEK_SET) == 7);
  std::memset(buf, 'x', sizeof buf);
  CHECK(forward("read", {A(std::int64_t{fd}), A(buf), sizeof buf}) == 5);
  CHECK(std::string(buf, 6) == "worldx");  // only the returned bytes were written
  ::close(fd);
}

TEST_CASE("readv and writev fill and drain segments in order") {
  TempDir dir;
  const int fd = open_file(dir / "v");
  char a[] = "abc";
  char b[] = "defgh";
  iovec out[2] = {{a, 3}, {b, 5}};
  CHECK(forward("writev", {A(std::int64_t{fd}), A(out), 2}) == 8);
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  char x[2] = {};
  char y[10] = {};
  char z[4] = {'z', 'z', 'z', 'z'};
  iovec in[3] = {{x, 2}, {y, 10}, {z, 4}};
  CHECK(forward("readv", {A(std::int64_t{fd}), A(in), 3}) == 8);
  CHECK(std::string(x, 2) == "ab");
  CHECK(std::string(y, 6) == "cdefgh");
  CHECK(std::string(z, 4) == "zzzz");
  ::close(fd);
}

TEST_CASE("openat, newfstatat, statx, getdents64, readlink, getcwd, uname") {
  TempDir dir;
  const int fd = open_file(dir / "a.txt");
  REQUIRE(::write(fd, "12345", 5) == 5);
  struct stat st {};
  CHECK(forward("newfstatat", {A(std::int64_t{AT_FDCWD}), A((dir / "a.txt").c_str()), A(&st), 0}) ==
        0);
  CHECK(st.st_size == 5);
  CHECK(S_ISREG(st.st_mode));
  struct stat fst {};
  CHECK(forward("fstat", {A(std::int64_t{fd}), A(&fst)}) == 0);
  CHECK(fst.st_ino == st.st_ino);

  struct statx sx {};
  CHECK(forward("statx", {A(std::int64_t{AT_FDCWD}), A((dir / "a.txt").c_str()), 0, STATX_SIZE,
                          A(&sx)}) == 0);
  CHECK(sx.stx_size == 5);

  REQUIRE(::symlink("a.txt", (dir / "link").c_str()) == 0);
  char target[64] = {};
  CHECK(forward("readlink", {A((dir / "link").c_str()), A(target), sizeof target}) == 5);
  CHECK(std::string(target) == "a.txt");
  CHECK(forward("readlink", {A((dir / "a.txt").c_str()), A(target), sizeof target}) == -EINVAL);

  const int dfd = open_file(dir.path, O_RDONLY | O_DIRECTORY);
  alignas(8) char dents[4096];
  const auto n = forward("getdents64", {A(std::int64_t{dfd}), A(dents), sizeof dents});
  REQUIRE(n > 0);
  std::set<std::string> names;
  for (std::int64_t off = 0; off < n;) {
    auto* d = reinterpret_cast<dirent64*>(dents + off);
    names.insert(d->d_name);
    off += d->d_reclen;
  }
  CHECK(names == std::set<std::string>{".", "..", "a.txt", "link"});
  ::close(dfd);

  char cwd[PATH_MAX] = {};
  char native[PATH_MAX] = {};
  REQUIRE(::getcwd(native, sizeof native) != nullptr);
  CHECK(forward("getcwd", {A(cwd), sizeof cwd}) ==
        static_cast<std::int64_t>(std::strlen(native) + 1));
  CHECK(std::string(cwd) == native);

  struct utsname u {};
  struct utsname nu {};
  REQUIRE(::uname(&nu) == 0);
  CHECK(forward("uname", {A(&u)}) == 0);
  CHECK(std::string(u.nodename) == nu.nodename);
  CHECK(std::string(u.release) == nu.release);
  ::close(fd);
}

TEST_CASE("pipe2 returns both ends; data flows through them") {
  int fds[2] = {-1, -1};
  CHECK(forward("pipe2", {A(fds), O_CLOEXEC}) == 0);
  REQUIRE(fds[0] >= 0);
  REQUIRE(fds[1] >= 0);
  CHECK(forward("write", {A(std::int64_t{fds[1]}), A("ping"), 4}) == 4);
  int avail = -1;
  CHECK(forward("ioctl", {A(std::int64_t{fds[0]}), FIONREAD, A(&avail)}) == 0);
  CHECK(avail == 4);
  char buf[8] = {};
  CHECK(forward("read", {A(std::int64_t{fds[0]}), A(buf), sizeof buf}) == 4);
  CHECK(std::string(buf) == "ping");
  ::close(fds[0]);
  ::close(fds[1]);
}

struct Udp {
  int fd = -1;
  sockaddr_in addr{};
  Udp() {
    fd = static_cast<int>(forward("socket", {AF_INET, SOCK_DGRAM, 0}));
    REQUIRE(fd >= 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(forward("bind", {A(std::int64_t{fd}), A(&any), sizeof any}) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(forward("getsockname", {A(std::int64_t{fd}), A(&addr), A(&len)}) == 0);
    CHECK(len == sizeof addr);
    CHECK(addr.sin_port != 0);
  }
  ~Udp() { ::close(fd); }
};

TEST_CASE("sendto and recvfrom carry addresses both ways") {
  Udp a;
  Udp b;
  CHECK(forward("sendto",
                {A(std::int64_t{a.fd}), A("datagram"), 8, 0, A(&b.addr), sizeof b.addr}) == 8);
  char buf[32] = {};
  sockaddr_storage from{};
  socklen_t len = sizeof from;
  CHECK(forward("recvfrom", {A(std::int64_t{b.fd}), A(buf), sizeof buf, 0, A(&from), A(&len)}) ==
        8);
  CHECK(std::string(buf) == "datagram");
  CHECK(len == sizeof(sockaddr_in));
  CHECK(reinterpret_cast<sockaddr_in*>(&from)->sin_port == a.addr.sin_port);

  SUBCASE("a short address buffer gets the truncated address and the full length") {
    CHECK(forward("sendto", {A(std::int64_t{a.fd}), A("x"), 1, 0, A(&b.addr), sizeof b.addr}) == 1);
    std::uint8_t small[8];
    std::memset(small, 0xEE, sizeof small);
    socklen_t slen = 4;
    CHECK(forward("recvfrom", {A(std::int64_t{b.fd}), A(buf), sizeof buf, 0, A(small), A(&slen)}) ==
          1);
    CHECK(slen == sizeof(sockaddr_in));
    CHECK(small[4] == 0xEE);  // nothing beyond the capacity the body gave
  }
}

TEST_CASE("socketpair, setsockopt, getsockopt") {
  int sv[2] = {-1, -1};
  CHECK(forward("socketpair", {AF_UNIX, SOCK_STREAM, 0, A(sv)}) == 0);
  REQUIRE(sv[0] >= 0);
  const int one = 1;
  CHECK(forward("setsockopt",
                {A(std::int64_t{sv[0]}), SOL_SOCKET, SO_PASSCRED, A(&one), sizeof one}) == 0);
  int type = 0;
  socklen_t len = sizeof type;
  CHECK(forward("getsockopt", {A(std::int64_t{sv[0]}), SOL_SOCKET, SO_TYPE, A(&type), A(&len)}) ==
        0);
  CHECK(type == SOCK_STREAM);
  CHECK(len == sizeof type);
  CHECK(forward("write", {A(std::int64_t{sv[0]}), A("xy"), 2}) == 2);
  char buf[4] = {};
  CHECK(forward("read", {A(std::int64_t{sv[1]}), A(buf), sizeof buf}) == 2);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("sendmsg and recvmsg with a name and several segments") {
  Udp a;
  Udp b;
  char p1[] = "two ";
  char p2[] = "parts";
  iovec out[2] = {{p1, 4}, {p2, 5}};
  msghdr m{};
  m.msg_name = &b.addr;
  m.msg_namelen = sizeof b.addr;
  m.msg_iov = out;
  m.msg_iovlen = 2;
  CHECK(forward("sendmsg", {A(std::int64_t{a.fd}), A(&m), 0}) == 9);

  char r1[3] = {};
  char r2[16] = {};
  iovec in[2] = {{r1, 3}, {r2, 16}};
  sockaddr_in from{};
  alignas(8) char control[64];
  msghdr rm{};
  rm.msg_name = &from;
  rm.msg_namelen = sizeof from;
  rm.msg_iov = in;
  rm.msg_iovlen = 2;
  rm.msg_control = control;
  rm.msg_controllen = sizeof control;
  rm.msg_flags = 0x7777;
  CHECK(forward("recvmsg", {A(std::int64_t{b.fd}), A(&rm), 0}) == 9);
  CHECK(std::string(r1, 3) == "two");
  CHECK(std::string(r2, 6) == " parts");
  CHECK(from.sin_port == a.addr.sin_port);
  CHECK(rm.msg_namelen == sizeof from);
  CHECK(rm.msg_controllen == 0);
  CHECK(rm.msg_flags == 0);
  CHECK(rm.msg_iov == in);  // the body's pointers are untouched

  SUBCASE("SCM_RIGHTS passes the fd numbers as they are") {
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    msghdr fm = m;
    fm.msg_control = buf;
    fm.msg_controllen = sizeof buf;
    cmsghdr* c = CMSG_FIRSTHDR(&fm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    const int zero = 0;
    std::memcpy(CMSG_DATA(c), &zero, sizeof zero);
    CHECK(forward("sendmsg", {A(std::int64_t{a.fd}), A(&fm), 0}) == 9);  // fd 0 went along
    CHECK(scm_rights_fds(std::string_view(buf, sizeof buf)) == std::vector<int>{0});
  }
  SUBCASE("a bad msghdr pointer is EFAULT") {
    CHECK(forward("sendmsg", {A(std::int64_t{a.fd}), kBadPtr, 0}) == -EFAULT);
  }
}

TEST_CASE("poll and select report a readable pipe") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "!", 1) == 1);
  pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
  CHECK(forward("poll", {A(p), 2, 0}) == 1);
  CHECK(p[0].revents == POLLIN);
  CHECK(p[1].revents == 0);

  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fds[0], &rd);
  FD_SET(fds[1], &rd);
  timeval tv{0, 0};
  CHECK(forward("select", {A(std::int64_t{fds[1] + 1}), A(&rd), 0, 0, A(&tv)}) == 1);
  CHECK(FD_ISSET(fds[0], &rd));
  CHECK(!FD_ISSET(fds[1], &rd));

  SUBCASE("pselect6 with a signal mask") {
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    timespec ts{0, 0};
    sigset_t mask;
    sigemptyset(&mask);
    struct {
      const sigset_t* ss;
      std::size_t len;
    } arg{&mask, 8};
    CHECK(forward("pselect6", {A(std::int64_t{fds[0] + 1}), A(&rd), 0, 0, A(&ts), A(&arg)}) == 1);
    arg.len = 16;
    CHECK(forward("pselect6", {A(std::int64_t{fds[0] + 1}), A(&rd), 0, 0, A(&ts), A(&arg)}) ==
          -EINVAL);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("ioctl by request") {
  TempDir dir;
  const int fd = open_file(dir / "notatty");
  winsize ws{};
  CHECK(forward("ioctl", {A(std::int64_t{fd}), TIOCGWINSZ, A(&ws)}) == -ENOTTY);
  termios t{};
  CHECK(forward("ioctl", {A(std::int64_t{fd}), TCGETS, A(&t)}) == -ENOTTY);
  const int on = 1;
  CHECK(forward("ioctl", {A(std::int64_t{fd}), FIONBIO, A(&on)}) == 0);
  CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  CHECK(forward("ioctl", {A(std::int64_t{fd}), FIOCLEX, 0}) == 0);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  // A legacy socket request we have no layout for never reaches the deputy.
  CHECK(forward("ioctl", {A(std::int64_t{fd}), 0x89F0 /* SIOCDEVPRIVATE */, A(&ws)}) == -ENOTTY);
  CHECK(forward("ioctl", {A(std::int64_t{fd}), TIOCGWINSZ, kBadPtr}) == -EFAULT);
  ::close(fd);
}

TEST_CASE("fcntl: integer commands and struct flock") {
  TempDir dir;
  const int fd = open_file(dir / "lock");
  CHECK(forward("fcntl", {A(std::int64_t{fd}), F_GETFL, 0}) == ::fcntl(fd, F_GETFL));
  CHECK((forward("fcntl", {A(std::int64_t{fd}), F_GETFL, 0}) & O_ACCMODE) == O_RDWR);
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  lk.l_len = 10;
  CHECK(forward("fcntl", {A(std::int64_t{fd}), F_SETLK, A(&lk)}) == 0);
  struct flock q {};
  q.l_type = F_WRLCK;
  q.l_whence = SEEK_SET;
  q.l_len = 10;
  // Our own process lock does not conflict with a process-level query...
  CHECK(forward("fcntl", {A(std::int64_t{fd}), F_GETLK, A(&q)}) == 0);
  CHECK(q.l_type == F_UNLCK);
  // ...but it does with an open-file-description query, which names us.
  q.l_type = F_WRLCK;
  CHECK(forward("fcntl", {A(std::int64_t{fd}), F_OFD_GETLK, A(&q)}) == 0);
  CHECK(q.l_type == F_WRLCK);
  CHECK(q.l_pid == ::getpid());
  CHECK(forward("fcntl", {A(std::int64_t{fd}), F_SETLK, kBadPtr}) == -EFAULT);
  ::close(fd);
}

TEST_CASE("bad pointers are EFAULT before anything runs") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "keep", 4) == 4);
  CHECK(forward("read", {A(std::int64_t{fds[0]}), kBadPtr, 4}) == -EFAULT);
  CHECK(forward("write", {A(std::int64_t{fds[1]}), kBadPtr, 4}) == -EFAULT);
  CHECK(forward("openat", {A(std::int64_t{AT_FDCWD}), kBadPtr, O_RDONLY, 0}) == -EFAULT);
  CHECK(forward("newfstatat", {A(std::int64_t{AT_FDCWD}), A("/"), kBadPtr, 0}) == -EFAULT);
  iovec bad[1] = {{reinterpret_cast<void*>(kBadPtr), 4}};
  CHECK(forward("readv", {A(std::int64_t{fds[0]}), A(bad), 1}) == -EFAULT);
  CHECK(forward("readv", {A(std::int64_t{fds[0]}), kBadPtr, 1}) == -EFAULT);
  socklen_t len = 16;
  CHECK(forward("getsockname", {A(std::int64_t{fds[0]}), kBadPtr, A(&len)}) == -EFAULT);
  // The pipe's data was not consumed by the failed read.
  char buf[8] = {};
  CHECK(::read(fds[0], buf, sizeof buf) == 4);

  SUBCASE("a string running into an unmapped page") {
    const long page = ::sysconf(_SC_PAGESIZE);
    auto* m = static_cast<char*>(
        ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(m != MAP_FAILED);
    REQUIRE(::munmap(m + page, page) == 0);
    std::memset(m, 'a', page);
    CHECK(forward("openat", {A(std::int64_t{AT_FDCWD}), A(m + page - 8), O_RDONLY, 0}) == -EFAULT);
    std::memcpy(m + page - 8, "/dev/nu", 7);
    m[page - 1] = '\0';  // ends exactly at the page end
    const auto fd = forward("openat", {A(std::int64_t{AT_FDCWD}), A(m + page - 8), O_RDONLY, 0});
    CHECK(fd == -ENOENT);  // "/dev/nu" does not exist, but it was read
    ::munmap(m, page);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("NULL pointers pass as NULL") {
  TempDir dir;
  const int fd = open_file(dir / "t");
  CHECK(forward("utimensat", {A(std::int64_t{fd}), 0, 0, 0}) == 0);  // now, on the fd
  CHECK(forward("uname", {0}) == -EFAULT);                           // the kernel's answer
  ::close(fd);
}

TEST_CASE("lengths: clamped, or refused per the table") {
  TempDir dir;
  const int fd = open_file(dir / "big");
  REQUIRE(::write(fd, "0123456789", 10) == 10);
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  const std::size_t map = 2 * static_cast<std::size_t>(wire::MAX_BUFFER_BYTES);
  auto* big = static_cast<char*>(
      ::mmap(nullptr, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(big != MAP_FAILED);

  SUBCASE("a read of 1 GiB is clamped and the count rewritten") {
    const std::uint64_t args[6] = {static_cast<std::uint64_t>(fd), A(big), 1ull << 30};
    ProcessMemory mem(::getpid());
    auto req = marshal_request(entry("read"), args, mem, 1);
    REQUIRE(req.has_value());
    CHECK(req->args(2) == wire::MAX_BUFFER_BYTES);
    CHECK(req->pointers(0).buffer().size() == wire::MAX_BUFFER_BYTES);
    CHECK(forward("read", {A(std::int64_t{fd}), A(big), 1ull << 30}) == 10);
  }
  SUBCASE("a path longer than PATH_MAX") {
    const std::string longpath(5000, 'a');
    CHECK(forward("openat", {A(std::int64_t{AT_FDCWD}), A(longpath.c_str()), O_RDONLY, 0}) ==
          -ENAMETOOLONG);
    const std::string just = "/" + std::string(PATH_MAX - 2, 'b');  // 4095 + NUL
    CHECK(forward("openat", {A(std::int64_t{AT_FDCWD}), A(just.c_str()), O_RDONLY, 0}) ==
          -ENAMETOOLONG);  // the kernel's own answer: too long a component
  }
  SUBCASE("too many iovecs, fds or events") {
    CHECK(forward("readv", {A(std::int64_t{fd}), A(big), 1025}) == -EINVAL);
    CHECK(forward("readv", {A(std::int64_t{fd}), A(big), A(std::int64_t{-1})}) == -EINVAL);
    CHECK(forward("poll", {A(big), (1u << 20) + 1, 0}) == -EINVAL);
    CHECK(forward("epoll_wait", {A(std::int64_t{fd}), A(big), A(std::int64_t{-1}), 0}) == -EINVAL);
  }
  SUBCASE("a value-result length is clamped in the deputy's copy") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    socklen_t len = 0x7FFFFFFF;
    const std::uint64_t args[6] = {static_cast<std::uint64_t>(sv[0]), SOL_SOCKET, SO_TYPE, A(big),
                                   A(&len)};
    ProcessMemory mem(::getpid());
    auto req = marshal_request(entry("getsockopt"), args, mem, 1);
    REQUIRE(req.has_value());
    REQUIRE(req->pointers_size() == 2);
    std::uint32_t patched = 0;
    std::memcpy(&patched, req->pointers(1).buffer().data().data(), 4);
    CHECK(patched == wire::MAX_BUFFER_BYTES);
    CHECK(forward("getsockopt", {A(std::int64_t{sv[0]}), SOL_SOCKET, SO_TYPE, A(big), A(&len)}) ==
          0);
    CHECK(len == sizeof(int));
    ::close(sv[0]);
    ::close(sv[1]);
  }
  ::munmap(big, map);
  ::close(fd);
}

TEST_CASE("marshallers not written yet answer ENOSYS") {
  char buf[128];
  CHECK(forward("shmctl", {0, 2 /* IPC_STAT */, A(buf)}) == -ENOSYS);
  CHECK(forward("semctl", {0, 0, 2, A(buf)}) == -ENOSYS);
}

TEST_CASE("apply_reply refuses a reply that does not fit the body's buffers") {
  char buf[4];
  const std::uint64_t args[6] = {0, A(buf), sizeof buf};
  wire::SyscallReply reply;
  reply.set_ret(8);
  wire::Output* out = reply.add_outputs();
  out->set_index(1);
  out->set_data("12345678");
  ProcessMemory mem(::getpid());
  auto r = apply_reply(entry("read"), args, reply, mem);
  REQUIRE(!r.has_value());
  CHECK(r.error() == EIO);
  out->set_index(0);  // fd: not a pointer
  out->set_data("1");
  CHECK(apply_reply(entry("read"), args, reply, mem).error() == EIO);
}

TEST_CASE("read_string stops at the NUL and at the bound") {
  ProcessMemory mem(::getpid());
  const char s[] = "abcdef";
  CHECK(mem.read_string(A(s), 16).value() == "abcdef");
  CHECK(mem.read_string(A(s), 7).value() == "abcdef");
  CHECK(mem.read_string(A(s), 6).error() == ENAMETOOLONG);
  CHECK(mem.read_string(kBadPtr, 6).error() == EFAULT);
}

TEST_SUITE_END();

}  // namespace
}  // namespace mos::remote
