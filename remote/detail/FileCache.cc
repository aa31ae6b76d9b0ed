#include "remote/detail/FileCache.h"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/FrameIo.h"
#include "common/Log.h"
#include "common/MsgType.h"

namespace mos::remote::detail {
namespace {

using common::MsgType;

// A fetched file lives in memory on the guest's node; one larger than this
// is refused (ENOMEM) rather than allowed to exhaust it.
constexpr std::uint64_t kMaxFetchBytes = 2ull << 30;
// The kernel follows at most this many interpreters (binfmt recursion).
constexpr int kMaxInterpreterDepth = 4;
// What the kernel reads of a "#!" line (BINPRM_BUF_SIZE).
constexpr std::size_t kShebangBytes = 256;

// Waits for the next frame of `type`, passing others on.
std::expected<common::Frame, int> await_frame(common::FramedChannel& link, MsgType type,
                                              const FileCache::OtherFrame& other) {
  for (;;) {
    auto f = link.receive();
    if (!f) {
      return std::unexpected(EIO);
    }
    if (f->type == common::to_wire(type)) {
      return std::move(*f);
    }
    other(*f);
  }
}

// FileFetch -> FileInfo; the deputy's errno as the error.
std::expected<wire::FileInfo, int> request_info(common::FramedChannel& link,
                                                const wire::FileFetch& what,
                                                const FileCache::OtherFrame& other) {
  if (!link.send(MsgType::kFileFetch, what)) {
    return std::unexpected(EIO);
  }
  auto f = await_frame(link, MsgType::kFileInfo, other);
  if (!f) {
    return std::unexpected(f.error());
  }
  wire::FileInfo info;
  if (!common::parse_payload(*f, info)) {
    return std::unexpected(EIO);
  }
  if (info.errno_code() != 0) {
    return std::unexpected(info.errno_code());
  }
  return info;
}

bool read_at(int fd, void* buf, std::size_t n, off_t off) {
  return ::pread(fd, buf, n, off) == static_cast<ssize_t>(n);
}

// The interpreter a file asks the kernel for ("" when none), or -errno.
std::expected<std::string, int> interpreter_of(const CachedFile& f) {
  char head[kShebangBytes] = {};
  const std::size_t n = std::min<std::uint64_t>(f.size, sizeof head);
  if (n > 0 && !read_at(f.memfd.get(), head, n, 0)) {
    return std::unexpected(EIO);
  }
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    std::size_t i = 2;
    while (i < n && (head[i] == ' ' || head[i] == '\t')) {
      ++i;
    }
    std::size_t j = i;
    while (j < n && head[j] != ' ' && head[j] != '\t' && head[j] != '\n' && head[j] != '\0') {
      ++j;
    }
    if (j == i) {
      return std::unexpected(ENOEXEC);
    }
    return std::string(head + i, j - i);
  }
  if (n >= sizeof(Elf64_Ehdr) && std::memcmp(head, ELFMAG, SELFMAG) == 0 &&
      head[EI_CLASS] == ELFCLASS64) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, head, sizeof eh);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) {
      return std::string();  // the kernel will say ENOEXEC itself
    }
    for (unsigned k = 0; k < eh.e_phnum; ++k) {
      Elf64_Phdr ph;
      if (!read_at(f.memfd.get(), &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + k * sizeof ph))) {
        return std::string();
      }
      if (ph.p_type != PT_INTERP) {
        continue;
      }
      if (ph.p_filesz < 2 || ph.p_filesz > PATH_MAX || ph.p_offset + ph.p_filesz > f.size) {
        return std::unexpected(ENOEXEC);
      }
      std::string interp(ph.p_filesz, '\0');
      if (!read_at(f.memfd.get(), interp.data(), interp.size(), static_cast<off_t>(ph.p_offset))) {
        return std::unexpected(EIO);
      }
      interp.resize(std::strlen(interp.c_str()));
      return interp;
    }
  }
  return std::string();
}

// mkdir -p of `dir`'s components below `root`.
int make_dirs(const std::string& root, const std::string& dir) {
  std::string at = root;
  std::size_t i = 1;
  while (i < dir.size()) {
    std::size_t j = dir.find('/', i);
    if (j == std::string::npos) {
      j = dir.size();
    }
    at += "/" + dir.substr(i, j - i);
    if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) {
      return errno;
    }
    struct stat st;
    if (::stat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return ENOTDIR;
    }
    i = j + 1;
  }
  return 0;
}

}  // namespace

std::string normalize_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) {
      j = path.size();
    }
    std::string c = path.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!c.empty() && c != ".") {
      parts.push_back(std::move(c));
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

std::expected<const CachedFile*, int> FileCache::fetch(common::FramedChannel& link,
                                                       const wire::FileFetch& what,
                                                       const OtherFrame& other) {
  auto asked = request_info(link, what, other);
  if (!asked) {
    return std::unexpected(asked.error());
  }
  const wire::FileInfo& info = *asked;
  const Key key{info.dev(), info.ino(), info.size(), info.mtime_ns()};
  wire::FileSend send;
  if (auto it = files_.find(key); it != files_.end()) {
    ++hits_;
    if (!link.send(MsgType::kFileSend, send)) {
      return std::unexpected(EIO);
    }
    it->second.readable = info.readable();
    return &it->second;
  }
  if (info.size() > kMaxFetchBytes) {
    MOS_LOG_WARN("guest: a file of {} bytes is too large to fetch (limit {})", info.size(),
                 kMaxFetchBytes);
    (void)link.send(MsgType::kFileSend, send);
    return std::unexpected(ENOMEM);
  }
  CachedFile c;
  c.key = key;
  c.mode = info.mode();
  c.readable = info.readable();
  // Named "mos:" + its home path: /proc/PID/maps of the body then shows
  // which file a mapping is (and the supervisor's /proc views undo it).
  const std::string name = "mos:" + info.path().substr(0, 240);
  c.memfd.reset(static_cast<int>(::syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC)));
  if (!c.memfd) {
    const int e = errno;
    (void)link.send(MsgType::kFileSend, send);
    return std::unexpected(e);
  }
  send.set_want(info.size() > 0);
  if (!link.send(MsgType::kFileSend, send)) {
    return std::unexpected(EIO);
  }
  std::uint64_t got = 0;
  while (got < info.size()) {
    auto cf = await_frame(link, MsgType::kFileChunk, other);
    if (!cf) {
      return std::unexpected(cf.error());
    }
    wire::FileChunk chunk;
    if (!common::parse_payload(*cf, chunk)) {
      return std::unexpected(EIO);
    }
    if (chunk.errno_code() != 0) {
      break;  // the file ended early at home: keep what came
    }
    const std::string& d = chunk.data();
    if (d.empty() || got + d.size() > info.size()) {
      return std::unexpected(EIO);
    }
    std::size_t off = 0;
    while (off < d.size()) {
      const ssize_t n = ::write(c.memfd.get(), d.data() + off, d.size() - off);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return std::unexpected(errno);  // ENOSPC/ENOMEM: the node's memory
      }
      off += static_cast<std::size_t>(n);
    }
    got += d.size();
  }
  c.size = got;
  fetched_bytes_ += got;
  auto [it, inserted] = files_.insert_or_assign(key, std::move(c));
  return &it->second;
}

std::expected<wire::FileInfo, int> FileCache::probe(common::FramedChannel& link,
                                                    const wire::FileFetch& what,
                                                    const OtherFrame& other) {
  auto info = request_info(link, what, other);
  if (!info) {
    return std::unexpected(info.error());
  }
  if (!link.send(MsgType::kFileSend, wire::FileSend{})) {
    return std::unexpected(EIO);
  }
  return *info;
}

std::expected<common::UniqueFd, int> FileCache::read_only(const CachedFile& f) {
  const std::string self = fmt::format("/proc/self/fd/{}", f.memfd.get());
  common::UniqueFd ro(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro) {
    return std::unexpected(errno);
  }
  return ro;
}

std::expected<void, int> FileCache::write_staged(const std::string& path, const CachedFile& f,
                                                 Key key) {
  if (auto it = staged_.find(path); it != staged_.end() && it->second == key) {
    return {};
  }
  const auto slash = path.rfind('/');
  if (int e = make_dirs(root_, path.substr(0, slash)); e != 0) {
    return std::unexpected(e);
  }
  const std::string full = root_ + path;
  // A file the body may be running: unlink, never overwrite (ETXTBSY).
  if (::unlink(full.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(errno == EISDIR ? EACCES : errno);
  }
  common::UniqueFd out(::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0555));
  if (!out) {
    return std::unexpected(errno);
  }
  off_t off = 0;
  while (static_cast<std::uint64_t>(off) < f.size) {
    const ssize_t n = ::sendfile(out.get(), f.memfd.get(), &off, f.size - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return std::unexpected(n < 0 ? errno : EIO);
    }
  }
  ::fchmod(out.get(), 0555);
  staged_[path] = key;
  return {};
}

std::expected<void, int> FileCache::stage_one(common::FramedChannel& link, const std::string& path,
                                              const OtherFrame& other, int depth,
                                              const std::string& as) {
  if (path.empty()) {
    return std::unexpected(ENOENT);
  }
  if (path.size() >= PATH_MAX) {
    return std::unexpected(ENAMETOOLONG);
  }
  wire::FileFetch what;
  what.set_fd(-1);
  what.set_path(path);
  what.set_exec(true);
  auto f = fetch(link, what, other);
  if (!f) {
    return std::unexpected(f.error());
  }
  const CachedFile& file = **f;
  if (!S_ISREG(file.mode)) {
    return std::unexpected(EACCES);
  }
  if (auto r = write_staged(normalize_path(as.empty() ? path : as), file, file.key); !r) {
    return r;
  }
  auto interp = interpreter_of(file);
  if (!interp) {
    return std::unexpected(interp.error());
  }
  if (interp->empty()) {
    return {};
  }
  if (depth + 1 > kMaxInterpreterDepth) {
    return std::unexpected(ELOOP);
  }
  return stage_one(link, *interp, other, depth + 1, {});
}

std::expected<void, int> FileCache::stage_exec(common::FramedChannel& link, const std::string& path,
                                               const OtherFrame& other, const std::string& as) {
  return stage_one(link, path, other, 0, as);
}

}  // namespace mos::remote::detail
