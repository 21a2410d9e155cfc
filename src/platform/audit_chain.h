// The audit log's hash chain: each entry's hash is SHA-256 over the previous
// entry's hash and the entry's own fields (length-prefixed, so no two entries
// serialise alike), and verification walks the chain from the first entry.
// Changing, inserting or deleting any entry but the last breaks the chain at
// that entry; the head hash (audit_head in the store's meta, and printed by
// `officina admin audit verify`) lets an operator who kept it see a truncation.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "platform/platform_types.h"

namespace officina {

inline constexpr const char* kAuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

// Hex SHA-256 of prev_hash and every field of `entry` but hash.
std::string audit_entry_hash(const AuditEntry& entry);

struct AuditVerdict {
  bool ok = true;
  int64_t entries = 0;
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;         // why the first bad entry is bad
  std::string head;           // hash of the last entry (genesis when empty)
};

// Checks a run of entries that starts at seq 1 (or continues after
// `prev` hash and seq `prev_seq`).
void audit_verify_step(const AuditEntry& entry, AuditVerdict& verdict, std::string& prev_hash, int64_t& prev_seq);

}  // namespace officina
