// Numerical solution of the mean-field age model (docs/gossip.md, "The
// model"). Notation follows the document:
//   S(j)  survival of the end-of-round age of an entry about another node,
//   q(k)  probability that an entry of send-time age k is in its holder's
//         window (send-time age = end-of-round age of the previous round + 1),
//   h(j)  probability that a given other node's window carries node s with a
//         send-time age <= j,
//   S(j) = S(j-1) * (1 - 1/(N-1)) * (1 - h(j)/(N-1))^(N-2).

#include "gossip/AgeModel.h"

#include "common/Assert.h"

#include <algorithm>
#include <cmath>

namespace mos::gossip {

namespace {

// log k! for k = 0..n, so binomial terms cost a few flops.
class LogFactorial {
 public:
  explicit LogFactorial(std::size_t n) : table_(n + 1) {
    for (std::size_t k = 1; k <= n; ++k) {
      table_[k] = table_[k - 1] + std::log(static_cast<double>(k));
    }
  }
  double operator()(std::size_t k) const { return table_[k]; }

 private:
  std::vector<double> table_;
};

double binomial_pmf(const LogFactorial& lf, std::size_t n, double p, std::size_t k) {
  if (k > n) {
    return 0.0;
  }
  if (p <= 0.0) {
    return k == 0 ? 1.0 : 0.0;
  }
  if (p >= 1.0) {
    return k == n ? 1.0 : 0.0;
  }
  const double kk = static_cast<double>(k);
  const double nk = static_cast<double>(n - k);
  return std::exp(lf(n) - lf(k) - lf(n - k) + kk * std::log(p) + nk * std::log1p(-p));
}

// The range of k outside which Bin(n, p) has negligible mass (< 1e-30).
std::pair<std::size_t, std::size_t> bulk(std::size_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(mean * (1.0 - p));
  const double lo = std::floor(mean - 12.0 * sd - 8.0);
  const double hi = std::ceil(mean + 12.0 * sd + 8.0);
  return {lo <= 0.0 ? 0 : static_cast<std::size_t>(lo),
          std::min(n, hi <= 0.0 ? std::size_t{0} : static_cast<std::size_t>(hi))};
}

// q(k): the window holds `slots` other entries. Besides node s, the holder
// has n = N-2 other entries, i.i.d. (the mean-field assumption): each is
// strictly younger than s's entry with probability f, exactly as old with
// probability e. With X strictly younger and Y tied, s is in the window iff
// X < slots and it wins one of the slots - X places among the Y + 1 tied
// entries in a random order: probability min(1, (slots - X) / (Y + 1)).
double inclusion(const LogFactorial& lf, std::size_t n, std::size_t slots, double f, double e) {
  double q = 0.0;
  const auto [xlo, xhi] = bulk(n, f);
  for (std::size_t x = xlo; x <= xhi && x < slots; ++x) {
    const double px = binomial_pmf(lf, n, f, x);
    if (px < 1e-300) {
      continue;
    }
    const std::size_t rest = n - x;
    const double pe = f < 1.0 ? std::min(1.0, e / (1.0 - f)) : 0.0;
    const double room = static_cast<double>(slots - x);
    double inner = 0.0;
    const auto [ylo, yhi] = bulk(rest, pe);
    double mass = 0.0;
    for (std::size_t y = ylo; y <= yhi; ++y) {
      const double py = binomial_pmf(lf, rest, pe, y);
      inner += py * std::min(1.0, room / static_cast<double>(y + 1));
      mass += py;
    }
    q += px * (mass > 0.0 ? inner / mass : 1.0);
  }
  return std::clamp(q, 0.0, 1.0);
}

}  // namespace

std::size_t AgeModel::quantile(double p) const {
  for (std::size_t j = 0; j < survival.size(); ++j) {
    if (survival[j] <= p) {
      return j;
    }
  }
  // Beyond the table the tail is geometric.
  if (survival.empty() || tail_ratio <= 0.0) {
    return survival.size();
  }
  const double last = survival.back();
  const double extra = std::ceil(std::log(p / last) / std::log(tail_ratio));
  return survival.size() - 1 + static_cast<std::size_t>(std::max(0.0, extra));
}

AgeModel solve_age_model(std::size_t nodes, std::size_t window) {
  MOS_ASSERT(nodes >= 2 && window >= 1, "age model needs >= 2 nodes and a window >= 1");
  const double N = static_cast<double>(nodes);
  const std::size_t others = nodes - 2;  // entries besides the holder's own and s's
  const std::size_t slots = std::min(window, nodes) - 1;  // other entries per window
  const bool whole_vector = slots >= nodes - 1;
  const LogFactorial lf(nodes);

  AgeModel m;
  m.nodes = nodes;
  m.window = window;
  // Per round, node s itself reaches a given node with probability 1/(N-1).
  const double direct_miss = 1.0 - 1.0 / (N - 1.0);
  const auto miss = [&](double h) {  // P(no copy of s with age <= j | h(j) = h)
    return direct_miss * std::exp(static_cast<double>(others) * std::log1p(-h / (N - 1.0)));
  };
  // Every window carries `slots` of the N-1 entries about other nodes, so by
  // symmetry h(j) tends to slots/(N-1): the per-period decay of the tail.
  const double h_inf = whole_vector ? 1.0 : static_cast<double>(slots) / (N - 1.0);
  m.tail_ratio = miss(h_inf);
  const double stop = 1e-15 / N;
  constexpr std::size_t kMaxAge = 50'000'000;

  // Initial guess: geometric with the tail's ratio.
  std::vector<double> S;
  for (double s = m.tail_ratio; s > stop && S.size() < kMaxAge; s *= m.tail_ratio) {
    S.push_back(s);
  }
  if (S.empty()) {
    S.push_back(0.0);
  }
  const auto surv = [&S](std::ptrdiff_t j) {  // S(j) with S(-1) = 1, 0 past the table
    if (j < 0) {
      return 1.0;
    }
    return static_cast<std::size_t>(j) < S.size() ? S[static_cast<std::size_t>(j)] : 0.0;
  };

  std::vector<double> q;
  for (m.iterations = 1; m.iterations <= 1000; ++m.iterations) {
    // q(k) for k = 1.. until an entry of age k is never in a window.
    q.assign(1, 0.0);
    for (std::size_t k = 1;; ++k) {
      const auto kk = static_cast<std::ptrdiff_t>(k);
      const double f = 1.0 - surv(kk - 2);           // P(send age < k)
      const double e = surv(kk - 2) - surv(kk - 1);  // P(send age == k)
      if (whole_vector) {
        q.push_back(1.0);
      } else {
        q.push_back(inclusion(lf, others, slots, f, e));
      }
      const bool exhausted = surv(kk - 1) <= stop;
      const bool crowded = !whole_vector && bulk(others, f).first >= slots;
      if (exhausted || crowded) {
        break;
      }
    }
    // S from q.
    std::vector<double> next;
    double h = 0.0;
    double s = 1.0;
    for (std::size_t j = 0; s > stop && j < kMaxAge; ++j) {
      const auto jj = static_cast<std::ptrdiff_t>(j);
      if (j >= 1 && j < q.size()) {
        h += (surv(jj - 2) - surv(jj - 1)) * q[j];
      }
      s *= miss(std::min(h, 1.0));
      next.push_back(s);
    }
    double change = 0.0;
    for (std::size_t j = 0; j < std::max(next.size(), S.size()); ++j) {
      const double a = j < S.size() ? S[j] : 0.0;
      const double b = j < next.size() ? next[j] : 0.0;
      change = std::max(change, std::abs(a - b));
    }
    // Damped update: the undamped map overshoots (a younger vector makes
    // windows younger, which makes the vector younger still).
    const std::size_t old_size = S.size();
    S.resize(next.size());
    for (std::size_t j = 0; j < next.size(); ++j) {
      S[j] = j < old_size ? 0.5 * S[j] + 0.5 * next[j] : next[j];
    }
    if (change < 1e-12) {
      break;
    }
  }
  m.inclusion = std::move(q);
  m.survival = S;
  double mean = 0.0;
  double emax = 0.0;
  for (double s : S) {
    mean += s;
    emax += -std::expm1((N - 1.0) * std::log1p(-std::min(s, 1.0)));
  }
  if (!S.empty() && m.tail_ratio > 0.0 && m.tail_ratio < 1.0) {
    mean += S.back() * m.tail_ratio / (1.0 - m.tail_ratio);
  }
  m.mean = mean;
  m.expected_max = emax;
  return m;
}

}  // namespace mos::gossip
