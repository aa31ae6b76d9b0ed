#pragma once
// Authentication primitives shared by peer links and gossip datagrams:
// fresh nonces, HMAC-SHA256 over length-prefixed fields, constant-time
// comparison, and a bounded cache that refuses a nonce seen before.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_set>

namespace mos::common {

inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kMacBytes = 32;

// Cryptographically random bytes (getrandom); aborts only if the kernel
// cannot supply them, which leaves no safe way to continue.
std::string random_bytes(std::size_t n);

// HMAC-SHA256(key, f1 || f2 || ...), where each field is prefixed by its
// length as 4 big-endian bytes, so ("ab","c") and ("a","bc") differ.
std::string hmac_fields(std::string_view key, std::initializer_list<std::string_view> fields);

// Constant-time equality for MACs (length is not secret).
bool mac_equal(std::string_view a, std::string_view b);

std::string to_hex(std::string_view bytes);

// Remembers recently seen nonces. insert() returns false for a nonce already
// seen within `horizon`, or while the cache is at `capacity` with entries
// younger than that (so a flood cannot evict a nonce early to replay it).
class NonceCache {
 public:
  using Clock = std::chrono::steady_clock;
  NonceCache(std::size_t capacity, Clock::duration horizon)
      : capacity_(capacity), horizon_(horizon) {}

  enum class Verdict { kFresh, kReplayed, kFull };
  Verdict insert(std::string_view nonce, Clock::time_point now = Clock::now());
  std::size_t size() const { return order_.size(); }

 private:
  std::size_t capacity_;
  Clock::duration horizon_;
  std::deque<std::pair<Clock::time_point, std::string>> order_;
  std::unordered_set<std::string> seen_;
};

}  // namespace mos::common
