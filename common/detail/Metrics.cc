#include "common/Metrics.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/Assert.h"

namespace mos::common {

namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

// Whether `name` may be written inside the block of `family` of type `t`.
bool belongs_to(std::string_view name, std::string_view family, MetricType t) {
  if (name == family) {
    return t != MetricType::kHistogram;  // a histogram has no bare sample
  }
  if (t != MetricType::kHistogram && t != MetricType::kSummary) {
    return false;
  }
  if (!name.starts_with(family)) {
    return false;
  }
  const std::string_view suffix = name.substr(family.size());
  return suffix == "_sum" || suffix == "_count" ||
         (t == MetricType::kHistogram && suffix == "_bucket");
}

double read_process_start_time() {
  // Field 22 of /proc/self/stat is the start time in clock ticks since boot;
  // fields are counted after the command name, which may itself hold spaces
  // and parentheses, so parsing starts after its last ')'.
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 1));
      std::string field;
      unsigned long long start_ticks = 0;
      bool found = false;
      for (int i = 3; rest >> field; ++i) {
        if (i == 22) {
          start_ticks = std::strtoull(field.c_str(), nullptr, 10);
          found = true;
          break;
        }
      }
      std::ifstream proc_stat("/proc/stat");
      std::string key;
      unsigned long long btime = 0;
      while (found && proc_stat >> key) {
        if (key == "btime") {
          proc_stat >> btime;
          break;
        }
        proc_stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
      }
      const long ticks = ::sysconf(_SC_CLK_TCK);
      if (found && btime != 0 && ticks > 0) {
        return static_cast<double>(btime) +
               static_cast<double>(start_ticks) / static_cast<double>(ticks);
      }
    }
  }
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string MetricValue::to_string() const {
  switch (kind_) {
    case Kind::kSigned:
      return fmt::format("{}", i_);
    case Kind::kUnsigned:
      return fmt::format("{}", u_);
    case Kind::kDouble:
      break;
  }
  if (std::isnan(d_)) {
    return "NaN";
  }
  if (std::isinf(d_)) {
    return d_ > 0 ? "+Inf" : "-Inf";
  }
  // Whole numbers are spelled out in full rather than as 1e+06; every double
  // in this range is exactly representable as an int64.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d_ == std::trunc(d_) && d_ >= -kTwo63 && d_ < kTwo63) {
    return fmt::format("{}", static_cast<std::int64_t>(d_));
  }
  // Shortest text that reads back as the same double.
  return fmt::format("{}", d_);
}

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name[0]) || name[0] == '_' || name[0] == ':')) {
    return false;
  }
  for (char c : name) {
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name[0]) || name[0] == '_') || name.starts_with("__")) {
    return false;
  }
  for (char c : name) {
    if (!(is_alpha(c) || is_digit(c) || c == '_')) {
      return false;
    }
  }
  return true;
}

namespace {
// The exposition format escapes backslash and newline everywhere, and the
// double quote inside label values only.
std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string escape_label_value(std::string_view v) {
  return escape(v, true);
}

std::string escape_help(std::string_view v) {
  return escape(v, false);
}

void MetricsWriter::family(std::string_view name, std::string_view help, MetricType type) {
  MOS_ASSERT(valid_metric_name(name), fmt::format("invalid metric name '{}'", name));
  MOS_ASSERT(type != MetricType::kCounter || ends_with(name, "_total"),
             fmt::format("counter '{}' must be named *_total", name));
  const bool fresh = declared_.emplace(name).second;
  MOS_ASSERT(fresh, fmt::format("metric family '{}' declared twice", name));
  current_ = name;
  current_type_ = type;
  out_ +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

void MetricsWriter::sample(std::string_view name, std::initializer_list<MetricLabel> labels,
                           MetricValue value) {
  sample(name, std::span<const MetricLabel>(labels.begin(), labels.size()), value);
}

void MetricsWriter::sample(std::string_view name, std::span<const MetricLabel> labels,
                           MetricValue value) {
  // Prometheus requires a family's samples to form one block under its TYPE.
  MOS_ASSERT(!current_.empty() && belongs_to(name, current_, current_type_),
             fmt::format("sample '{}' written outside its family (current: '{}')", name, current_));
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto& [k, v] = labels[i];
      MOS_ASSERT(valid_label_name(k), fmt::format("invalid label name '{}' on '{}'", k, name));
      for (std::size_t j = 0; j < i; ++j) {
        MOS_ASSERT(labels[j].first != k, fmt::format("label '{}' repeated on '{}'", k, name));
      }
      if (i != 0) {
        out_ += ',';
      }
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value.to_string();
  out_ += '\n';
}

std::string MetricsWriter::take() {
  std::string out = std::move(out_);
  out_.clear();
  current_.clear();
  current_type_ = MetricType::kUntyped;
  declared_.clear();
  return out;
}

double process_start_time_seconds() {
  static const double start = read_process_start_time();
  return start;
}

}  // namespace mos::common
