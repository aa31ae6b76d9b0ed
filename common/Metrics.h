#pragma once
// Writes metrics in the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// A metric source declares each family once, then writes that family's
// samples right after it:
//
//   w.family("mosix_link_up", "1 when the peer link is up", MetricType::kGauge);
//   w.sample("mosix_link_up", {{"peer", "node2"}}, 1);
//
// The writer keeps the output well-formed: one HELP and one TYPE line per
// family, every sample inside its own family's block, label values and help
// text escaped, values spelled the way Prometheus parses them (NaN, +Inf,
// -Inf, integers without an exponent). Names come from our own code, so a bad
// name, a counter not named `*_total`, a family declared twice or a sample
// outside its family is an invariant violation (MOS_ASSERT), not an error.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mos::common {

enum class MetricType {
  kCounter,    // only goes up (resets on restart); name must end in `_total`
  kGauge,      // goes up and down
  kHistogram,  // samples `<name>_bucket{le=...}`, `<name>_sum`, `<name>_count`
  kSummary,    // samples `<name>{quantile=...}`, `<name>_sum`, `<name>_count`
  kUntyped,
};

// One label: name, value. The value may hold any UTF-8 text.
using MetricLabel = std::pair<std::string_view, std::string_view>;

// A sample value. Integers are kept exact (a 64-bit counter past 2^53 would
// lose digits as a double).
class MetricValue {
 public:
  MetricValue(double v) : kind_(Kind::kDouble), d_(v) {}
  template <std::integral T>
  MetricValue(T v) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kSigned;
      i_ = static_cast<std::int64_t>(v);
    } else {
      kind_ = Kind::kUnsigned;
      u_ = static_cast<std::uint64_t>(v);
    }
  }
  // The value as the exposition format spells it.
  std::string to_string() const;

 private:
  enum class Kind { kDouble, kSigned, kUnsigned };
  Kind kind_;
  union {
    double d_;
    std::int64_t i_;
    std::uint64_t u_;
  };
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with `__` (reserved by Prometheus).
bool valid_label_name(std::string_view name);

// Escaping per the format: label values escape backslash, double quote and
// newline; help text escapes backslash and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

class MetricsWriter {
 public:
  // Starts a family: writes its `# HELP` and `# TYPE` lines.
  void family(std::string_view name, std::string_view help, MetricType type);

  // Writes one sample of the current family. `name` is the family name, or
  // for histograms and summaries the family name plus `_sum`, `_count` (and
  // `_bucket` for histograms).
  void sample(std::string_view name, std::initializer_list<MetricLabel> labels, MetricValue value);
  void sample(std::string_view name, std::span<const MetricLabel> labels, MetricValue value);
  void sample(std::string_view name, MetricValue value) { sample(name, {}, value); }

  const std::string& text() const { return out_; }
  // Hands out the text and leaves the writer empty (no families declared).
  std::string take();

 private:
  std::string out_;
  std::string current_;  // family whose block is open; empty before the first
  MetricType current_type_ = MetricType::kUntyped;
  std::set<std::string, std::less<>> declared_;
};

// The Unix time this process started (from /proc; the time of the first
// call if /proc cannot be read), for `process_start_time_seconds`.
double process_start_time_seconds();

}  // namespace mos::common
