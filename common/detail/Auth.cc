#include "common/Auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>

#include <cerrno>

#include "common/Assert.h"

namespace mos::common {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    MOS_ASSERT(r > 0, "getrandom failed");
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string hmac_fields(std::string_view key, std::initializer_list<std::string_view> fields) {
  // OpenSSL 3 deprecates HMAC_CTX; EVP_MAC is the supported interface.
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  MOS_ASSERT(mac != nullptr, "OpenSSL has no HMAC");
  EVP_MAC_CTX* mctx = EVP_MAC_CTX_new(mac);
  MOS_ASSERT(mctx != nullptr, "EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                         OSSL_PARAM_construct_end()};
  MOS_ASSERT(EVP_MAC_init(mctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                          params) == 1,
             "EVP_MAC_init failed");
  for (std::string_view f : fields) {
    unsigned char len[4] = {
        static_cast<unsigned char>(f.size() >> 24), static_cast<unsigned char>(f.size() >> 16),
        static_cast<unsigned char>(f.size() >> 8), static_cast<unsigned char>(f.size())};
    EVP_MAC_update(mctx, len, sizeof len);
    EVP_MAC_update(mctx, reinterpret_cast<const unsigned char*>(f.data()), f.size());
  }
  std::string out(kMacBytes, '\0');
  std::size_t outl = 0;
  MOS_ASSERT(
      EVP_MAC_final(mctx, reinterpret_cast<unsigned char*>(out.data()), &outl, out.size()) == 1 &&
          outl == kMacBytes,
      "EVP_MAC_final failed");
  EVP_MAC_CTX_free(mctx);
  EVP_MAC_free(mac);
  return out;
}

bool mac_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

NonceCache::Verdict NonceCache::insert(std::string_view nonce, Clock::time_point now) {
  while (!order_.empty() && now - order_.front().first > horizon_) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  std::string key(nonce);
  if (seen_.contains(key)) {
    return Verdict::kReplayed;
  }
  if (order_.size() >= capacity_) {
    return Verdict::kFull;
  }
  seen_.insert(key);
  order_.emplace_back(now, std::move(key));
  return Verdict::kFresh;
}

}  // namespace mos::common
