#include "common/Log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "common/Assert.h"

namespace mos::common {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mu;
std::string g_tag;  // guarded by g_mu

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kTrace:
      return "TRACE";
  }
  return "?";
}
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "error")
    return LogLevel::kError;
  if (s == "warn" || s == "warning")
    return LogLevel::kWarn;
  if (s == "info")
    return LogLevel::kInfo;
  if (s == "debug")
    return LogLevel::kDebug;
  if (s == "trace")
    return LogLevel::kTrace;
  return std::nullopt;
}

void set_log_level(LogLevel level) {
  g_level.store(level, std::memory_order_relaxed);
}
LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}

void init_log_from_env() {
  const char* v = std::getenv("MOS_LOG");
  if (v == nullptr || *v == '\0') {
    return;
  }
  if (auto l = parse_log_level(v)) {
    set_log_level(*l);
  } else {
    log_write(LogLevel::kWarn, fmt::format("MOS_LOG={} is not a log level (error, warn, info, "
                                           "debug, trace); keeping info",
                                           v));
  }
}

void set_log_tag(std::string tag) {
  std::lock_guard lock(g_mu);
  g_tag = std::move(tag);
}

void log_write(LogLevel level, std::string_view msg) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  char ts[32];
  std::strftime(ts, sizeof ts, "%H:%M:%S", &t);
  std::lock_guard lock(g_mu);
  // One fprintf per line so lines from several threads never interleave.
  std::fprintf(stderr, "%s.%06ld %-5s %s%s%.*s\n", ts, static_cast<long>(tv.tv_usec),
               level_name(level), g_tag.c_str(), g_tag.empty() ? "" : ": ",
               static_cast<int>(msg.size()), msg.data());
}

[[noreturn]] void assert_fail(std::string_view expr, std::string_view msg,
                              std::source_location where) {
  std::fprintf(stderr, "mosix: assertion failed: %.*s (%.*s) at %s:%u in %s [pid %d]\n",
               static_cast<int>(expr.size()), expr.data(), static_cast<int>(msg.size()), msg.data(),
               where.file_name(), where.line(), where.function_name(), getpid());
  std::abort();
}

}  // namespace mos::common
