#include "platform/audit_chain.h"

#include <sodium.h>

#include <cstring>

#include <fmt/format.h>

namespace officina {
namespace {

void absorb(crypto_hash_sha256_state& state, const std::string& field) {
  const uint64_t size = field.size();
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(size >> (8 * i));
  crypto_hash_sha256_update(&state, length, sizeof length);
  crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(field.data()), field.size());
}

}  // namespace

std::string audit_entry_hash(const AuditEntry& e) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  absorb(state, "officina-audit-v1");
  absorb(state, e.prev_hash);
  absorb(state, std::to_string(e.seq));
  absorb(state, std::to_string(e.at));
  absorb(state, e.actor);
  absorb(state, e.project_id);
  absorb(state, e.action);
  absorb(state, e.resource);
  absorb(state, e.origin);
  absorb(state, e.detail);
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  std::string hex(2 * sizeof digest, '0');
  sodium_bin2hex(hex.data(), hex.size() + 1, digest, sizeof digest);
  return hex;
}

void audit_verify_step(const AuditEntry& entry, AuditVerdict& verdict, std::string& prev_hash, int64_t& prev_seq) {
  if (!verdict.ok) return;
  ++verdict.entries;
  auto bad = [&](std::string why) {
    verdict.ok = false;
    verdict.first_bad_seq = entry.seq;
    verdict.reason = std::move(why);
  };
  if (entry.seq != prev_seq + 1) {
    return bad(fmt::format("entry {} follows entry {}: entries are missing", entry.seq, prev_seq));
  }
  if (entry.prev_hash != prev_hash) {
    return bad(fmt::format("entry {} does not link to entry {} (its prev_hash differs)", entry.seq, prev_seq));
  }
  if (audit_entry_hash(entry) != entry.hash) {
    return bad(fmt::format("entry {} ({} {}) was changed after it was written: its hash does not match its content",
                           entry.seq, entry.action, entry.resource));
  }
  prev_hash = entry.hash;
  prev_seq = entry.seq;
  verdict.head = entry.hash;
}

}  // namespace officina
