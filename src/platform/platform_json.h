// The platform's records as the API shows them (OpenAI-style objects with
// "object" and "id"), shared by the HTTP API and `officina admin`. Key
// hashes never leave the store: an API key shows its id, role and hint.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "platform/audit_chain.h"
#include "platform/platform.h"

namespace officina {

nlohmann::ordered_json to_json(const Organization& org);
nlohmann::ordered_json to_json(const Project& project);
nlohmann::ordered_json to_json(const ApiKeyRecord& key);
nlohmann::ordered_json to_json(const Allocation& allocation);
nlohmann::ordered_json to_json(const UsageReport& usage);
nlohmann::ordered_json to_json(const DeletionReceipt& receipt);
nlohmann::ordered_json to_json(const AuditEntry& entry);
nlohmann::ordered_json to_json(const AuditVerdict& verdict);
// OpenAI's file object, with officina's validation statistics under "statistics".
nlohmann::ordered_json to_json(const FileRecord& file);
// OpenAI's fine_tuning.job, fine_tuning.job.event and fine_tuning.job.checkpoint.
nlohmann::ordered_json to_json(const JobRecord& job);
nlohmann::ordered_json to_json(const JobEvent& event);
nlohmann::ordered_json to_json(const JobCheckpoint& checkpoint);

// {"object": "list", "data": [...]}
template <class T>
nlohmann::ordered_json list_json(const std::vector<T>& items) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (const T& item : items) data.push_back(to_json(item));
  return {{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace officina
