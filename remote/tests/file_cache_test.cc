// The guest's file cache against a stand-in deputy that answers FileFetch
// from this machine's files (the protocol of common/session.proto), over a
// socketpair: fetching, the cache, staging an exec with its interpreters,
// and the errors an exec at home would have.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/FrameIo.h"
#include "common/FramedChannel.h"
#include "common/MsgType.h"
#include "common/session.pb.h"
#include "remote/detail/FileCache.h"
#include "remote/detail/ProcView.h"

using namespace mos;
using namespace mos::remote::detail;
using common::MsgType;
namespace fs = std::filesystem;

namespace {

// Answers FileFetch by path (as the deputy does, without its fd table) and
// counts the bytes it sent.
struct FakeDeputy {
  common::FramedChannel link;
  std::atomic<std::uint64_t> sent{0};
  void serve() {
    for (;;) {
      auto f = link.receive();
      if (!f || f->type != common::to_wire(MsgType::kFileFetch)) {
        return;
      }
      wire::FileFetch what;
      (void)common::parse_payload(*f, what);
      wire::FileInfo info;
      struct stat st;
      if (what.exec() && ::access(what.path().c_str(), X_OK) != 0) {
        info.set_errno_code(errno);
      } else if (::stat(what.path().c_str(), &st) != 0) {
        info.set_errno_code(errno);
      } else {
        info.set_dev(st.st_dev);
        info.set_ino(st.st_ino);
        info.set_size(st.st_size);
        info.set_mtime_ns(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
        info.set_mode(st.st_mode);
        info.set_readable(true);
        info.set_path(what.path());
      }
      (void)link.send(MsgType::kFileInfo, info);
      if (info.errno_code() != 0) {
        continue;
      }
      auto s = link.receive();
      wire::FileSend want;
      if (!s || !common::parse_payload(*s, want)) {
        return;
      }
      if (!want.want()) {
        continue;
      }
      std::ifstream in(what.path(), std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), {});
      wire::FileChunk c;
      c.set_data(data);
      sent += data.size();
      (void)link.send(MsgType::kFileChunk, c);
    }
  }
};

struct Fixture {
  fs::path dir, root;
  std::unique_ptr<common::FramedChannel> sup;
  FakeDeputy* dep = nullptr;
  std::thread t;
  Fixture() {
    char tmpl[] = "/tmp/mos-filecache.XXXXXX";
    dir = ::mkdtemp(tmpl);
    root = dir / "root";
    fs::create_directory(root);
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    sup = std::make_unique<common::FramedChannel>(common::UniqueFd(sv[0]));
    dep = new FakeDeputy{common::FramedChannel(common::UniqueFd(sv[1]))};
    t = std::thread([d = dep] { d->serve(); });
  }
  ~Fixture() {
    sup.reset();  // the fake deputy sees EOF and ends
    t.join();
    delete dep;
    fs::remove_all(dir);
  }
};

const FileCache::OtherFrame kNoOther = [](const common::Frame&) {};

}  // namespace

TEST_CASE("normalize_path resolves . and .. lexically from /") {
  CHECK(normalize_path("/a/./b/../c") == "/a/c");
  CHECK(normalize_path("prog") == "/prog");
  CHECK(normalize_path("../../x") == "/x");
  CHECK(normalize_path("/") == "/");
  CHECK(normalize_path("//usr///bin/") == "/usr/bin");
}

TEST_CASE("the program's own /proc files that describe its body") {
  CHECK(body_proc_entry("/proc/self/cmdline", 42) == "cmdline");
  CHECK(body_proc_entry("/proc/42/maps", 42) == "maps");
  CHECK(body_proc_entry("/proc/thread-self/exe", 42) == "exe");
  CHECK(body_proc_entry("/proc/self/task/43/auxv", 42) == "auxv");
  CHECK_FALSE(body_proc_entry("/proc/self/status", 42));  // identity: home's
  CHECK_FALSE(body_proc_entry("/proc/43/maps", 42));      // another program
  CHECK_FALSE(body_proc_entry("/proc/self/fd/3", 42));
  CHECK_FALSE(body_proc_entry("/etc/passwd", 42));
  CHECK_FALSE(body_proc_entry("/proc/self", 42));
}

TEST_CASE("a fetched file is cached by identity, and fetched again once it changed") {
  Fixture fx;
  const fs::path f = fx.dir / "data";
  std::ofstream(f) << std::string(100000, 'd');
  FileCache cache(fx.root.string());
  wire::FileFetch what;
  what.set_fd(-1);
  what.set_path(f.string());
  auto a = cache.fetch(*fx.sup, what, kNoOther);
  REQUIRE(a);
  CHECK((*a)->size == 100000);
  CHECK(fx.dep->sent == 100000);
  auto b = cache.fetch(*fx.sup, what, kNoOther);
  REQUIRE(b);
  CHECK(*b == *a);
  CHECK(fx.dep->sent == 100000);  // a hit: nothing sent
  CHECK(cache.hits() == 1);
  std::ofstream(f, std::ios::app) << "more";
  auto c = cache.fetch(*fx.sup, what, kNoOther);
  REQUIRE(c);
  CHECK((*c)->size == 100004);
  auto ro = FileCache::read_only(**c);
  REQUIRE(ro);
  char buf[4];
  CHECK(::pread(ro->get(), buf, 4, 100000) == 4);
  CHECK(std::string(buf, 4) == "more");
  CHECK(::write(ro->get(), "x", 1) < 0);  // the body's copy is read-only
}

TEST_CASE("an exec is staged with its interpreters, as the kernel will look for them") {
  Fixture fx;
  const fs::path script = fx.dir / "run.sh";
  std::ofstream(script) << "#!/bin/sh -e\necho hi\n";
  fs::permissions(script, fs::perms::owner_all);
  FileCache cache(fx.root.string());
  REQUIRE(cache.stage_exec(*fx.sup, script.string(), kNoOther));
  CHECK(fs::exists(fx.root / script.relative_path()));
  CHECK(fs::exists(fx.root / "bin/sh"));  // the #! interpreter
  // ... and its ELF interpreter (PT_INTERP of /bin/sh)
  CHECK(fs::exists(fx.root / "lib64/ld-linux-x86-64.so.2"));
  CHECK((fs::status(fx.root / "bin/sh").permissions() & fs::perms::others_exec) != fs::perms::none);

  SUBCASE("a missing file and a file that may not be executed fail as exec would") {
    CHECK(cache.stage_exec(*fx.sup, (fx.dir / "none").string(), kNoOther).error() == ENOENT);
    const fs::path plain = fx.dir / "plain";
    std::ofstream(plain) << "data";
    fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
    // (No x bit at all: EACCES for root too.)
    CHECK(cache.stage_exec(*fx.sup, plain.string(), kNoOther).error() == EACCES);
    const fs::path missing_interp = fx.dir / "bad.sh";
    std::ofstream(missing_interp) << "#!/nonexistent/interpreter\n";
    fs::permissions(missing_interp, fs::perms::owner_all);
    CHECK(cache.stage_exec(*fx.sup, missing_interp.string(), kNoOther).error() == ENOENT);
  }
}
