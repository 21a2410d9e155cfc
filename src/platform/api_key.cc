#include "platform/api_key.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

namespace officina {
namespace {

constexpr std::string_view kPrefix = "sk-ofc-";
constexpr size_t kIdHex = 16, kSecretHex = 40;
// OWASP's argon2id recommendation: 19 MiB, 2 passes.
constexpr unsigned long long kOps = 2;
constexpr size_t kMemory = size_t{19} << 20;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string to_hex(const uint8_t* data, size_t size) {
  std::string hex(2 * size, '0');
  sodium_bin2hex(hex.data(), hex.size() + 1, data, size);
  return hex;
}

}  // namespace

std::string random_hex(size_t bytes) {
  if (!sodium_ready()) std::abort();  // no random source: nothing safe to do
  std::vector<uint8_t> buffer(bytes);
  randombytes_buf(buffer.data(), buffer.size());
  return to_hex(buffer.data(), buffer.size());
}

std::string sha256_hex(std::string_view text) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  return to_hex(digest, sizeof digest);
}

Result<std::string> hash_api_key(std::string_view key) {
  if (!sodium_ready()) return fail("libsodium cannot initialise");
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, key.data(), key.size(), kOps, kMemory) != 0) {
    return fail("hashing an API key: out of memory");
  }
  return std::string(out);
}

bool verify_api_key(std::string_view key, const std::string& hash) {
  if (!sodium_ready() || !hash.starts_with("$argon2id$")) return false;
  return crypto_pwhash_argon2id_str_verify(hash.c_str(), key.data(), key.size()) == 0;
}

Result<NewApiKey> make_api_key() {
  if (!sodium_ready()) return fail("libsodium cannot initialise");
  NewApiKey k;
  const std::string id = random_hex(kIdHex / 2);
  k.id = "key_" + id;
  k.key = std::string(kPrefix) + id + "-" + random_hex(kSecretHex / 2);
  OFFICINA_TRY(k.hash, hash_api_key(k.key));
  return k;
}

std::optional<std::string> api_key_id(std::string_view key) {
  if (key.size() != kPrefix.size() + kIdHex + 1 + kSecretHex || !key.starts_with(kPrefix)) return std::nullopt;
  std::string_view id = key.substr(kPrefix.size(), kIdHex);
  if (key[kPrefix.size() + kIdHex] != '-' || !is_hex(id) || !is_hex(key.substr(kPrefix.size() + kIdHex + 1))) {
    return std::nullopt;
  }
  return "key_" + std::string(id);
}

}  // namespace officina
