// The platform service: tenancy (organisations, projects, roles, API keys),
// compute allocations and usage, deletion with receipts and the audit log,
// over a Store. Every action takes the Principal acting (from authenticate(),
// or the operator principal for the admin command) and its origin (a client
// address or "cli"); every change is written to the audit log.
// Permissions: the operator may do everything; a project key sees only its
// own project (anything else is 404, so ids of other tenants do not leak);
// owners and members may write, viewers only read; only owners manage their
// project's keys; only the operator creates organisations, projects and
// allocations.
// Errors are OpenAI-shaped ApiErrors (status 400/401/403/404/409/429/500).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "platform/audit_chain.h"
#include "platform/data_crypto.h"
#include "platform/platform_types.h"
#include "platform/store.h"
#include "serve/api_error.h"

namespace officina {

struct Principal {
  std::string key_id;  // "cli" for the admin command
  Role role = Role::viewer;
  std::string project_id;  // empty for the operator
  bool is_operator() const { return role == Role::operator_role; }
  bool can_write() const { return role != Role::viewer; }
};

// The operator acting through `officina admin` on the machine itself.
Principal cli_operator();

struct AllocationRequest {
  std::string tier;
  double core_hours = 0, gpu_hours = 0;
  int64_t starts_at = 0, ends_at = 0;
};

// Limits of each access tier (the defaults; documented in docs/platform.md).
struct TierLimits {
  double max_core_hours, max_gpu_hours;
  int64_t min_days, max_days;
};
TierLimits tier_limits(AccessTier tier);

struct AllocationBalance {
  Allocation allocation;
  double used_core_hours = 0, used_gpu_hours = 0;
  bool active = false;  // starts_at <= now < ends_at
};

struct UsageMonth {
  std::string month;  // "2026-11" (UTC)
  double core_hours = 0, gpu_hours = 0;
  int64_t records = 0;
};

struct UsageReport {
  std::string project_id;
  std::vector<AllocationBalance> allocations;
  std::vector<UsageMonth> months;
};

struct DeletionReceipt {
  std::string project_id;
  int64_t deleted_at = 0;
  std::vector<std::string> destroyed;  // "data_key", "api_key key_...", "file file-...", ...
  std::string audit_hash;              // the audit entry that records the deletion
};

struct InitResult {
  std::string instance_id;
  std::string operator_key;  // shown once
};

class Platform {
 public:
  // Creates DIR (if needed), the store and the first operator key; fails if
  // DIR already holds an instance.
  static Result<InitResult> init(const std::string& data_dir);
  // Opens an initialised instance; fails with a hint to run `admin init`.
  static Result<std::unique_ptr<Platform>> open(const std::string& data_dir);
  ~Platform();

  Store& store() { return *store_; }
  const std::string& data_dir() const { return data_dir_; }
  // Unix seconds; tests may replace the clock.
  void set_clock(std::function<int64_t()> clock) { clock_ = std::move(clock); }
  int64_t now() const { return clock_(); }

  // 401 for a missing, unknown, wrong, revoked or expired key; cached after
  // the first argon2id check, but revocation and expiry are read from the
  // store on every call.
  ApiResult<Principal> authenticate(std::string_view key);

  ApiResult<Organization> create_organization(const Principal& who, const std::string& origin, const std::string& name,
                                              const std::string& kind);
  ApiResult<std::vector<Organization>> list_organizations(const Principal& who);
  ApiResult<Organization> get_organization(const Principal& who, const std::string& id);

  ApiResult<Project> create_project(const Principal& who, const std::string& origin, const std::string& organization_id,
                                    const std::string& name);
  ApiResult<std::vector<Project>> list_projects(const Principal& who, const std::string& organization_id);
  // 404 for a deleted project.
  ApiResult<Project> get_project(const Principal& who, const std::string& id);
  // Revokes the project's keys, destroys its data key (its files can no
  // longer be decrypted), deletes what it stored, and returns the receipt.
  ApiResult<DeletionReceipt> delete_project(const Principal& who, const std::string& origin, const std::string& id);

  ApiResult<Allocation> create_allocation(const Principal& who, const std::string& origin,
                                          const std::string& project_id, const AllocationRequest& request);
  ApiResult<std::vector<Allocation>> list_allocations(const Principal& who, const std::string& project_id);
  ApiResult<UsageReport> usage(const Principal& who, const std::string& project_id);
  // The active allocation that can pay for `core_hours`/`gpu_hours` more, or
  // 429 insufficient_quota saying what is missing (no allocation, not yet
  // started, ended, or spent).
  ApiResult<Allocation> check_budget(const std::string& project_id, double core_hours, double gpu_hours);
  Result<void> record_usage(const UsageRecord& usage);

  // A new key for a project (empty project_id and role "operator": another
  // operator key); the key itself is returned once, in .second.
  ApiResult<std::pair<ApiKeyRecord, std::string>> create_api_key(const Principal& who, const std::string& origin,
                                                                 const std::string& project_id, const std::string& role,
                                                                 std::optional<int64_t> expires_at);
  ApiResult<std::vector<ApiKeyRecord>> list_api_keys(const Principal& who, const std::string& project_id);
  ApiResult<ApiKeyRecord> get_api_key(const Principal& who, const std::string& key_id);
  ApiResult<ApiKeyRecord> revoke_api_key(const Principal& who, const std::string& origin, const std::string& key_id);

  // Operator only.
  ApiResult<std::vector<AuditEntry>> audit_entries(const Principal& who, int64_t after_seq, int64_t limit);
  // Walks the whole chain (storage errors as Error).
  Result<AuditVerdict> verify_audit();
  // Writes an audit entry for `who`'s action; fails only on storage errors.
  Result<AuditEntry> audit(const Principal& who, const std::string& origin, const std::string& project_id,
                           const std::string& action, const std::string& resource, const std::string& detail_json);

  // The project's data key (made on first use, kept wrapped by the master
  // key in the store). Fails on storage errors, a deleted project (its key
  // was destroyed), or a wrapped key that does not open.
  Result<SecretKey> project_key(const std::string& project_id);
  // A fresh key for one object (file, adapter), and the same key wrapped by
  // the project's data key under `context` ("officina file file-...").
  Result<std::pair<SecretKey, std::vector<uint8_t>>> new_object_key(const std::string& project_id,
                                                                     const std::string& context);
  Result<SecretKey> open_object_key(const std::string& project_id, std::span<const uint8_t> wrapped,
                                    const std::string& context);

  // Called with each adapter a project deletion removes (the server drops it).
  void set_on_adapter_removed(std::function<void(const std::string&)> hook) { on_adapter_removed_ = std::move(hook); }
  // Called first when a project is deleted (its jobs are stopped).
  void set_on_project_deleted(std::function<void(const std::string&)> hook) { on_project_deleted_ = std::move(hook); }

  // 404 unless `who` may see project `id` (and it is not deleted).
  ApiResult<Project> visible_project(const Principal& who, const std::string& id);

 private:
  Platform(std::string data_dir, std::unique_ptr<Store> store, SecretKey master);
  std::string data_dir_;
  SecretKey master_;
  std::mutex key_mutex_;
  std::unique_ptr<Store> store_;
  std::function<int64_t()> clock_;
  std::function<void(const std::string&)> on_adapter_removed_;
  std::function<void(const std::string&)> on_project_deleted_;
  std::mutex cache_mutex_;
  std::counting_semaphore<4> verify_slots_{4};  // argon2id checks at once
  std::unordered_map<std::string, std::string> verified_;  // sha256(key) -> key id
};

}  // namespace officina
