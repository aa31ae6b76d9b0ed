#pragma once
// Whole-file helpers for small text files: state files, pid files, /proc and
// /sys entries. Every error is one line that names the path and the reason.

#include <sys/types.h>

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

namespace mos::common {

// "open /run/x: No such file or directory" style text for errno `err`.
std::string errno_message(std::string_view what, int err);

std::expected<std::string, std::string> read_text_file(const std::filesystem::path& path);

// Replaces `path` atomically (a temporary file in the same directory, then
// rename), so a reader sees the old content or the new one, never half. The
// file has `mode` from its creation on: a secret is never briefly readable.
std::expected<void, std::string> write_text_file(const std::filesystem::path& path,
                                                 std::string_view text, mode_t mode = 0644);

// Writes into an existing special file (cgroup, sysctl) in one write(2):
// these files must not be truncated-and-rewritten or written in pieces.
std::expected<void, std::string> write_special_file(const std::filesystem::path& path,
                                                    std::string_view text);

// Lowercase hex of `bytes` fresh bytes from getrandom(2).
std::expected<std::string, std::string> random_hex(std::size_t bytes);

}  // namespace mos::common
