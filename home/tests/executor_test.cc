// Unit tests for home/Executor.h: hand-built requests, real syscalls. The
// round trips through the supervisor's marshalling are in
// remote/tests/marshal_test.cc; here the executor is checked on its own,
// above all that a forged request is refused before anything is allocated.

#include "home/Executor.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

namespace mos::home {
namespace {

TEST_SUITE_BEGIN("executor");

struct Pipe {
  int r = -1;
  int w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
};

wire::SyscallRequest request(int nr, std::initializer_list<std::uint64_t> args) {
  wire::SyscallRequest req;
  req.set_id(42);
  req.set_nr(nr);
  for (std::uint64_t a : args) {
    req.add_args(a);
  }
  return req;
}

wire::Buffer* add_buffer(wire::SyscallRequest& req, std::uint32_t index) {
  wire::PointerArg* p = req.add_pointers();
  p->set_index(index);
  p->set_shape(wire::SHAPE_BUFFER);
  return p->mutable_buffer();
}

// read(fd, <out buffer of `size`>, count), trimmed to the return value.
wire::SyscallRequest read_request(int fd, std::uint64_t size, std::uint64_t count) {
  auto req = request(SYS_read, {static_cast<std::uint64_t>(fd), 0, count});
  wire::Buffer* b = add_buffer(req, 1);
  b->set_size(size);
  b->set_writeback(wire::WB_RET);
  b->set_wb_elem(1);
  b->mutable_length()->set_from(wire::LengthRef::FROM_ARG);
  b->mutable_length()->set_arg(2);
  b->mutable_length()->set_elem(1);
  return req;
}

TEST_CASE("a call without pointers returns the raw result and echoes the id") {
  const auto reply = execute(request(SYS_getpid, {}));
  CHECK(reply.id() == 42);
  CHECK(reply.ret() == ::getpid());
  CHECK(reply.outputs_size() == 0);
}

TEST_CASE("failures come back as -errno") {
  const auto reply = execute(request(SYS_close, {1u << 30}));
  CHECK(reply.ret() == -EBADF);
}

TEST_CASE("an output buffer is trimmed to the return value") {
  Pipe p;
  REQUIRE(::write(p.w, "hello", 5) == 5);
  const auto reply = execute(read_request(p.r, 64, 64));
  REQUIRE(reply.ret() == 5);
  REQUIRE(reply.outputs_size() == 1);
  CHECK(reply.outputs(0).index() == 1);
  CHECK(reply.outputs(0).data() == "hello");
}

TEST_CASE("input bytes reach the kernel; nothing goes back for them") {
  Pipe p;
  auto req = request(SYS_write, {static_cast<std::uint64_t>(p.w), 0, 3});
  add_buffer(req, 1)->set_data("abc");
  const auto reply = execute(req);
  CHECK(reply.ret() == 3);
  CHECK(reply.outputs_size() == 0);
  char buf[8] = {};
  CHECK(::read(p.r, buf, sizeof buf) == 3);
  CHECK(std::string(buf) == "abc");
}

TEST_CASE("a NULL pointer reaches the kernel as NULL") {
  auto req = request(SYS_uname, {0});
  wire::PointerArg* p = req.add_pointers();
  p->set_index(0);
  p->set_shape(wire::SHAPE_NULL);
  CHECK(execute(req).ret() == -EFAULT);
}

TEST_CASE("WB_ALL sends the whole struct") {
  auto req = request(SYS_uname, {0});
  wire::Buffer* b = add_buffer(req, 0);
  b->set_size(sizeof(struct utsname));
  b->set_writeback(wire::WB_ALL);
  const auto reply = execute(req);
  REQUIRE(reply.ret() == 0);
  REQUIRE(reply.outputs_size() == 1);
  REQUIRE(reply.outputs(0).data().size() == sizeof(struct utsname));
  struct utsname u;
  std::memcpy(&u, reply.outputs(0).data().data(), sizeof u);
  CHECK(std::string(u.sysname) == "Linux");
}

TEST_CASE("a forged 100 GiB output is refused without allocating") {
  Pipe p;
  const auto start = std::chrono::steady_clock::now();
  const auto reply = execute(read_request(p.r, 100ull << 30, 100ull << 30));
  CHECK(reply.ret() == -ENOMEM);
  CHECK(reply.outputs_size() == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("the request total is bounded, not only each buffer") {
  auto req = request(SYS_getpid, {});
  for (std::uint32_t i = 0; i < 5; ++i) {
    add_buffer(req, i)->set_size(wire::MAX_BUFFER_BYTES);  // 5 x 4 MiB > 12 MiB
  }
  CHECK(execute(req).ret() == -ENOMEM);
  wire::SyscallRequest iov = request(SYS_readv, {0, 0, 1024});
  wire::PointerArg* p = iov.add_pointers();
  p->set_index(1);
  p->set_shape(wire::SHAPE_IOVEC);
  p->mutable_iov()->set_count_arg(2);
  for (int k = 0; k < 1024; ++k) {
    p->mutable_iov()->add_segments()->set_size(1 << 20);  // 1 GiB in all
  }
  CHECK(execute(iov).ret() == -ENOMEM);
}

TEST_CASE("a length argument larger than the allocation is refused") {
  Pipe p;
  REQUIRE(::write(p.w, "0123456789", 10) == 10);
  CHECK(execute(read_request(p.r, 4, 100)).ret() == -EINVAL);
  CHECK(execute(read_request(p.r, 4, ~0ull)).ret() == -EINVAL);
  // Nothing was consumed by the refused calls.
  CHECK(execute(read_request(p.r, 16, 16)).ret() == 10);
}

TEST_CASE("an iovec count that does not match the segments is refused") {
  Pipe p;
  auto req = request(SYS_writev, {static_cast<std::uint64_t>(p.w), 0, 5});
  wire::PointerArg* ptr = req.add_pointers();
  ptr->set_index(1);
  ptr->set_shape(wire::SHAPE_IOVEC);
  ptr->mutable_iov()->set_count_arg(2);
  ptr->mutable_iov()->add_segments()->set_data("ab");
  ptr->mutable_iov()->add_segments()->set_data("cd");
  CHECK(execute(req).ret() == -EINVAL);
  req.set_args(2, 2);
  CHECK(execute(req).ret() == 4);
}

TEST_CASE("malformed shapes and indices are refused") {
  SUBCASE("index out of range") {
    auto req = request(SYS_getpid, {});
    add_buffer(req, 6)->set_size(8);
    CHECK(execute(req).ret() == -EINVAL);
  }
  SUBCASE("the same slot twice") {
    auto req = request(SYS_getpid, {});
    add_buffer(req, 1)->set_size(8);
    add_buffer(req, 1)->set_size(8);
    CHECK(execute(req).ret() == -EINVAL);
  }
  SUBCASE("an unknown shape") {
    auto req = request(SYS_getpid, {});
    wire::PointerArg* p = req.add_pointers();
    p->set_index(0);
    p->set_shape(static_cast<wire::Shape>(99));
    CHECK(execute(req).ret() == -EINVAL);
  }
  SUBCASE("more than six arguments") {
    CHECK(execute(request(SYS_getpid, {0, 0, 0, 0, 0, 0, 0})).ret() == -EINVAL);
  }
  SUBCASE("a string without its NUL") {
    auto req = request(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), 0, O_RDONLY, 0});
    wire::Buffer* b = add_buffer(req, 1);
    b->set_data("/etc/passwd");
    b->mutable_length()->set_from(wire::LengthRef::FROM_NUL);
    CHECK(execute(req).ret() == -EINVAL);
    b->set_data(std::string("/dev/null", 10));
    const auto reply = execute(req);
    CHECK(reply.ret() >= 0);
    ::close(static_cast<int>(reply.ret()));
  }
  SUBCASE("a value-result length in a buffer too small to hold it") {
    auto req = request(SYS_getsockname, {0, 0, 0});
    wire::Buffer* addr = add_buffer(req, 1);
    addr->set_size(16);
    addr->set_writeback(wire::WB_DEREF);
    addr->set_wb_arg(2);
    add_buffer(req, 2)->set_size(2);  // not a u32
    CHECK(execute(req).ret() == -EINVAL);
  }
  SUBCASE("a nested pointer outside its buffer") {
    auto req = request(SYS_getpid, {});
    wire::Buffer* b = add_buffer(req, 0);
    b->set_size(16);
    wire::Nested* n = b->add_nested();
    n->set_offset(12);
    n->mutable_buffer()->set_data("12345678");
    CHECK(execute(req).ret() == -EINVAL);
  }
  SUBCASE("a header length beyond the buffer") {
    auto req = request(SYS_getpid, {});
    wire::Buffer* b = add_buffer(req, 0);
    const std::uint32_t handle_bytes = 1000;
    b->set_data(std::string(reinterpret_cast<const char*>(&handle_bytes), 4));
    b->set_size(8 + 128);
    b->mutable_length()->set_from(wire::LengthRef::FROM_HEADER);
    b->mutable_length()->set_base(8);
    b->mutable_length()->set_elem(1);
    CHECK(execute(req).ret() == -EINVAL);
  }
}

TEST_CASE("calls that would act on the deputy itself are never run") {
  CHECK(execute(request(SYS_exit_group, {3})).ret() == -ENOSYS);
  CHECK(execute(request(SYS_munmap, {0x10000, 4096})).ret() == -ENOSYS);
  CHECK(execute(request(SYS_rt_sigreturn, {})).ret() == -ENOSYS);
  CHECK(execute(request(-1, {})).ret() == -ENOSYS);
  CHECK(execute(request(100000, {})).ret() == -ENOSYS);
}

TEST_CASE("a nested pointer is replaced by the local copy's address") {
  // pselect6(0, NULL, NULL, NULL, {0, 0}, {&sigset, 8}): returns at once.
  auto req = request(SYS_pselect6, {0, 0, 0, 0, 0, 0});
  wire::Buffer* tmo = add_buffer(req, 4);
  tmo->set_size(16);
  tmo->set_writeback(wire::WB_ALL);
  tmo->set_wb_on_error(true);
  wire::Buffer* mask = add_buffer(req, 5);
  std::string pair(16, '\0');
  const std::uint64_t eight = 8;
  std::memcpy(pair.data() + 8, &eight, 8);
  pair.replace(0, 8, "BODYADDR");  // a body address the deputy must not use
  mask->set_data(pair);
  wire::Nested* n = mask->add_nested();
  n->set_offset(0);
  n->mutable_buffer()->set_data(std::string(8, '\0'));
  const auto reply = execute(req);
  CHECK(reply.ret() == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace mos::home
