#pragma once
// Files of the home node that a guest body's own kernel needs: the image
// and interpreters of an exec, and files it maps with mmap. Everything else
// a guest does with files is forwarded; these two cannot be, because the
// kernel reads them itself.
//
// A file is fetched from the deputy (FileFetch -> FileInfo -> FileSend ->
// FileChunk..., common/session.proto) into a memfd, keyed by the home
// file's (dev, inode, size, mtime): a file fetched once is not fetched again
// while it is unchanged at home (ld.so maps libc five times; every exec of
// /bin/sh needs the same interpreter). For exec, a copy is written into the
// guest's staging root at the path the body's kernel will resolve.
//
// If the deputy goes away mid-transfer the fetch fails with EIO; the
// caller's body then fails the call (and is killed when the link is gone).

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "common/Frame.h"
#include "common/FramedChannel.h"
#include "common/UniqueFd.h"
#include "common/session.pb.h"

namespace mos::remote::detail {

// A home file's identity: (dev, inode, size, mtime in ns).
using FileKey = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::int64_t>;

struct CachedFile {
  FileKey key;
  common::UniqueFd memfd;  // the content, read-write (ours)
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // st_mode at home
  bool readable = true;    // fetched by fd: the fd was open for reading
};

class FileCache {
 public:
  // Frames of other kinds that arrive while a transfer waits (a signal for
  // the body, ...), passed on in order.
  using OtherFrame = std::function<void(const common::Frame&)>;

  // `root`: the guest's staging root (the body's "/").
  explicit FileCache(std::string root) : root_(std::move(root)) {}

  // Fetches what `what` names (fd or path) over `link`. -errno on failure:
  // the deputy's (ENOENT, EACCES, EBADF...) or EIO when the link failed.
  std::expected<const CachedFile*, int> fetch(common::FramedChannel& link,
                                              const wire::FileFetch& what, const OtherFrame& other);

  // Only what the file is (FileInfo), nothing fetched: -errno as fetch.
  std::expected<wire::FileInfo, int> probe(common::FramedChannel& link, const wire::FileFetch& what,
                                           const OtherFrame& other);

  // Prepares an exec of `path` (as the body names it; relative to the
  // body's "/"): fetches it with execute permission checked as the program,
  // writes it into the staging root, and follows its interpreter (ELF
  // PT_INTERP, or a "#!" line) the same way, as deep as the kernel would.
  // Afterwards the body's own execve finds every file it needs. -errno with
  // the error the exec would have had at home.
  // `as`, when given, is where the body's kernel will look for the image
  // instead of `path` (an exec of /proc/self/exe: the image is fetched by
  // its home path and staged there).
  std::expected<void, int> stage_exec(common::FramedChannel& link, const std::string& path,
                                      const OtherFrame& other, const std::string& as = {});

  // A read-only descriptor of the content, for the body (close it after
  // installing).
  static std::expected<common::UniqueFd, int> read_only(const CachedFile& f);

  std::uint64_t fetched_bytes() const { return fetched_bytes_; }
  std::uint64_t hits() const { return hits_; }

 private:
  using Key = FileKey;
  std::expected<void, int> stage_one(common::FramedChannel& link, const std::string& path,
                                     const OtherFrame& other, int depth, const std::string& as);
  std::expected<void, int> write_staged(const std::string& path, const CachedFile& f, Key key);

  std::string root_;
  std::map<Key, CachedFile> files_;
  std::map<std::string, Key> staged_;  // staging path -> the content written there
  std::uint64_t fetched_bytes_ = 0;
  std::uint64_t hits_ = 0;
};

// "/a/./b/../c" -> "/a/c"; a relative path is taken from "/".
std::string normalize_path(const std::string& path);

}  // namespace mos::remote::detail
