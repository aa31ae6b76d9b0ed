// Unit tests for gossip/LoadAverager.h: MOSIX's asymmetric load decay.

#include "gossip/LoadAverager.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using mos::gossip::LoadAverager;

TEST_CASE("a rising load weighs 3/8, a falling one 1/8") {
  LoadAverager a;
  CHECK(a.update(8.0) == doctest::Approx(3.0));       // 0 + 3/8 * 8
  CHECK(a.update(8.0) == doctest::Approx(4.875));     // 3 + 3/8 * 5
  CHECK(a.update(0.0) == doctest::Approx(4.265625));  // 4.875 * 7/8
  CHECK(a.update(4.265625) == doctest::Approx(4.265625));
}

TEST_CASE("rising takes 10 samples, falling 35, to get within 1%") {
  LoadAverager a;
  int n = 0;
  while (std::abs(a.value() - 4.0) > 0.04) {
    a.update(4.0);
    ++n;
  }
  CHECK(n == 10);
  n = 0;
  while (a.value() > 0.04) {
    a.update(0.0);
    ++n;
  }
  CHECK(n == 35);
}

TEST_CASE("negative and NaN samples count as idle") {
  LoadAverager a;
  a.reset(2.0);
  CHECK(a.update(-3.0) == doctest::Approx(1.75));
  CHECK(a.update(std::numeric_limits<double>::quiet_NaN()) == doctest::Approx(1.53125));
  CHECK(std::isfinite(a.value()));
}
