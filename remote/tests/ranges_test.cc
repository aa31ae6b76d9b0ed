// The range arithmetic of pre-copy's and post-copy's bookkeeping
// (remote/detail/Image.h: subtract, merged, intersect).

#include <doctest/doctest.h>

#include "remote/detail/Image.h"

using namespace mos::remote::detail;

TEST_CASE("subtract cuts holes, drops what is covered and merges the rest") {
  CHECK(subtract({{0, 100}}, {}) == Ranges{{0, 100}});
  CHECK(subtract({{0, 100}}, {{0, 100}}).empty());
  CHECK(subtract({{0, 100}}, {{10, 20}, {50, 60}}) == Ranges{{0, 10}, {20, 50}, {60, 100}});
  CHECK(subtract({{0, 100}}, {{90, 200}}) == Ranges{{0, 90}});
  CHECK(subtract({{50, 100}, {0, 40}}, {{30, 60}}) == Ranges{{0, 30}, {60, 100}});
  // Unsorted and overlapping inputs.
  CHECK(subtract({{40, 80}, {0, 50}}, {}) == Ranges{{0, 80}});
  CHECK(subtract({{0, 10}, {10, 20}}, {{5, 5}}) == Ranges{{0, 20}});
}

TEST_CASE("intersect keeps what both have") {
  CHECK(intersect({{0, 100}}, {{50, 150}}) == Ranges{{50, 100}});
  CHECK(intersect({{0, 10}, {20, 30}}, {{5, 25}}) == Ranges{{5, 10}, {20, 25}});
  CHECK(intersect({{0, 10}}, {{10, 20}}).empty());
  CHECK(intersect({}, {{0, 1}}).empty());
}

TEST_CASE("merged joins touching and overlapping ranges") {
  CHECK(merged({{30, 40}, {0, 10}, {10, 20}, {35, 50}}) == Ranges{{0, 20}, {30, 50}});
  CHECK(merged({}).empty());
}
