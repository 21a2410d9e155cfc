// Platform API keys: "sk-ofc-" + the key's id (16 hex digits, public, the
// lookup handle) + "-" + 40 hex digits of secret from libsodium's random
// source. Only an argon2id hash of the whole key is stored, so a copy of the
// store gives no usable key; verifying one costs ~20 ms and 19 MiB (OWASP's
// argon2id setting), which Platform caches per key.
// Thread-safety: pure functions (libsodium is initialised on first use).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace officina {

struct NewApiKey {
  std::string id;   // "key_" + 16 hex digits
  std::string key;  // shown to the user once
  std::string hash;
};

// Fails only when libsodium cannot initialise or allocate.
Result<NewApiKey> make_api_key();
// The id a key claims ("key_..."), or nullopt when it is not shaped like one.
std::optional<std::string> api_key_id(std::string_view key);
// Argon2id hash in libsodium's encoded form ($argon2id$v=19$m=...).
Result<std::string> hash_api_key(std::string_view key);
bool verify_api_key(std::string_view key, const std::string& hash);
// Random lowercase hex of `bytes` bytes (ids: "org_" + random_hex(12)).
std::string random_hex(size_t bytes);
// SHA-256 of `text` in hex (cache keys; never stored).
std::string sha256_hex(std::string_view text);

}  // namespace officina
