// The platform's records: organisations, projects, API keys, allocations,
// usage and audit entries, with the names they have in the API and in the
// store ("sme", "fast_lane", ...). Plain values; thread-safety: none needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace officina {

enum class OrgKind { sme, startup, research, public_body };
enum class Role { operator_role, owner, member, viewer };
// Modelled on the EuroHPC AI Factory access calls.
enum class AccessTier { playground, fast_lane, large_scale };

std::string_view org_kind_name(OrgKind kind);  // "sme", "startup", "research", "public"
std::optional<OrgKind> parse_org_kind(std::string_view name);
std::string_view role_name(Role role);  // "operator", "owner", "member", "viewer"
std::optional<Role> parse_role(std::string_view name);
std::string_view tier_name(AccessTier tier);  // "playground", "fast_lane", "large_scale"
std::optional<AccessTier> parse_tier(std::string_view name);

struct Organization {
  std::string id;  // "org_" + 24 hex digits
  std::string name;
  OrgKind kind = OrgKind::sme;
  int64_t created_at = 0;  // unix seconds
};

struct Project {
  std::string id;  // "proj_..."
  std::string organization_id;
  std::string name;
  int64_t created_at = 0;
  std::optional<int64_t> deleted_at;
};

struct ApiKeyRecord {
  std::string id;          // "key_..." (also the key's public part)
  std::string project_id;  // empty for operator keys
  Role role = Role::viewer;
  std::string hash;        // argon2id, libsodium's encoded string
  std::string hint;        // the key's last 4 characters, for listings
  int64_t created_at = 0;
  std::optional<int64_t> expires_at, revoked_at;
};

struct Allocation {
  std::string id;  // "alloc_..."
  std::string project_id;
  AccessTier tier = AccessTier::playground;
  double core_hours = 0, gpu_hours = 0;
  int64_t starts_at = 0, ends_at = 0, created_at = 0;
};

// Reserved resources x elapsed time of one job (or part of one).
struct UsageRecord {
  int64_t id = 0;
  std::string project_id, allocation_id, job_id;
  double core_hours = 0, gpu_hours = 0;
  int64_t started_at = 0, ended_at = 0;
};

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, ... with no gaps
  int64_t at = 0;   // unix seconds
  std::string actor;     // key id, "cli" for the admin command
  std::string project_id;  // the project the resource belongs to, if any
  std::string action;    // "organization.create", "api_key.revoke", ...
  std::string resource;  // the id acted on
  std::string origin;    // client address, or "cli"
  std::string detail;    // JSON object
  std::string prev_hash, hash;  // hex SHA-256; the first entry's prev_hash is 64 zeros
};

// An uploaded file, stored encrypted under the data directory with its own
// key, which is wrapped by the project's data key.
struct FileRecord {
  std::string id;  // "file-" + 24 hex digits
  std::string project_id;
  std::string filename, purpose;
  int64_t bytes = 0;  // plaintext size
  int64_t created_at = 0;
  std::string status = "processed";  // "processed" or "error"
  std::string status_details;        // why it failed validation
  std::string report;                // JSON: the validation statistics
  std::vector<uint8_t> wrapped_key;
  std::optional<int64_t> deleted_at;
};

enum class JobStatus { validating_files, queued, running, succeeded, failed, cancelled };
std::string_view job_status_name(JobStatus status);
std::optional<JobStatus> parse_job_status(std::string_view name);
inline bool job_finished(JobStatus s) {
  return s == JobStatus::succeeded || s == JobStatus::failed || s == JobStatus::cancelled;
}

struct JobRecord {
  std::string id;  // "ftjob-..."
  std::string project_id;
  std::string model;
  std::string training_file, validation_file;
  std::string suffix;
  int64_t seed = 0;
  std::string hyperparameters = "{}";  // JSON, "auto" already resolved
  std::string method = "{}";           // JSON: {"type": "supervised", ...}
  JobStatus status = JobStatus::validating_files;
  std::string error;                   // JSON {"code","message","param"} or empty
  std::string fine_tuned_model;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, finished_at;
  int64_t trained_tokens = 0;
  int cores = 1;
  int64_t memory_mb = 0;
  int attempts = 0;           // starts so far (a resume after a restart is another)
  std::string allocation_id;  // charged for its run
  double charged_core_hours = 0;
  double charged_gpu_hours = 0;
  std::string executor_ref;   // the latest attempt's handle ("slurm:123", "local:4567"); empty while requeued
  int requeues = 0;           // restarts after a scheduler's time limit
  std::string resources = "{}";  // JSON: nodes, tasks_per_node, cpus_per_task, memory_mb, time_limit_minutes, gpus_per_node
};

struct JobEvent {
  int64_t seq = 0;
  std::string id;  // "ftevent-..."
  std::string job_id;
  int64_t created_at = 0;
  std::string level = "info";  // info, warn, error
  std::string type = "message";  // message or metrics
  std::string message;
  std::string data;  // JSON or empty
};

struct JobCheckpoint {
  std::string id;  // "ftckpt-..."
  std::string job_id;
  int64_t step = 0;
  int64_t created_at = 0;
  std::string metrics;  // JSON
  std::string fine_tuned_model_checkpoint;
};

// A fine-tuned adapter a project owns: the model name it is served under,
// stored encrypted (GGUF LoRA) with its own key wrapped by the project's.
struct AdapterRecord {
  std::string name;  // "ft:BASE:SUFFIX:JOBID"
  std::string project_id, job_id;
  std::string path;  // relative to the data directory
  std::vector<uint8_t> wrapped_key;
  int64_t created_at = 0;
};

}  // namespace officina
