#pragma once
// Levelled logging to stderr. The level comes from --log-level or the
// MOS_LOG environment variable (error, warn, info, debug, trace); every line
// carries a UTC timestamp, the level, and the process tag (e.g. the node name).

#include <fmt/format.h>
#include <optional>
#include <string>
#include <string_view>

namespace mos::common {

enum class LogLevel { kError = 0, kWarn, kInfo, kDebug, kTrace };

std::optional<LogLevel> parse_log_level(std::string_view s);
void set_log_level(LogLevel level);
LogLevel log_level();
// Reads MOS_LOG; unknown values are reported once and ignored.
void init_log_from_env();
void set_log_tag(std::string tag);
void log_write(LogLevel level, std::string_view msg);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> fmt, Args&&... args) {
  if (level <= log_level()) {
    log_write(level, fmt::format(fmt, std::forward<Args>(args)...));
  }
}

}  // namespace mos::common

#define MOS_LOG_ERROR(...) ::mos::common::log(::mos::common::LogLevel::kError, __VA_ARGS__)
#define MOS_LOG_WARN(...) ::mos::common::log(::mos::common::LogLevel::kWarn, __VA_ARGS__)
#define MOS_LOG_INFO(...) ::mos::common::log(::mos::common::LogLevel::kInfo, __VA_ARGS__)
#define MOS_LOG_DEBUG(...) ::mos::common::log(::mos::common::LogLevel::kDebug, __VA_ARGS__)
#define MOS_LOG_TRACE(...) ::mos::common::log(::mos::common::LogLevel::kTrace, __VA_ARGS__)
