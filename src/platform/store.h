// The platform store: every record the platform keeps, behind one interface
// so that the embedded SQLite store (sqlite_store.h) can be joined later by a
// PostgreSQL one without touching the code above it. Methods fail only on
// storage errors ("DB: ..."); a missing record is std::nullopt or false, not
// an error. The store checks no permissions: that is Platform's job.
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "platform/platform_types.h"

namespace officina {

class Store {
 public:
  virtual ~Store() = default;

  // Instance-wide settings ("instance_id", "created_at", ...).
  virtual Result<std::optional<std::string>> get_meta(const std::string& key) = 0;
  virtual Result<void> set_meta(const std::string& key, const std::string& value) = 0;
  virtual Result<int> schema_version() = 0;

  virtual Result<void> insert_organization(const Organization& org) = 0;
  virtual Result<std::optional<Organization>> get_organization(const std::string& id) = 0;
  virtual Result<std::vector<Organization>> list_organizations() = 0;

  virtual Result<void> insert_project(const Project& project) = 0;
  virtual Result<std::optional<Project>> get_project(const std::string& id) = 0;
  // Projects of one organisation, or all with an empty id; deleted ones too.
  virtual Result<std::vector<Project>> list_projects(const std::string& organization_id) = 0;
  virtual Result<bool> mark_project_deleted(const std::string& id, int64_t at) = 0;

  virtual Result<void> insert_api_key(const ApiKeyRecord& key) = 0;
  virtual Result<std::optional<ApiKeyRecord>> get_api_key(const std::string& id) = 0;
  // Keys of one project, or the operator keys with an empty id.
  virtual Result<std::vector<ApiKeyRecord>> list_api_keys(const std::string& project_id) = 0;
  virtual Result<bool> revoke_api_key(const std::string& id, int64_t at) = 0;

  virtual Result<void> insert_allocation(const Allocation& allocation) = 0;
  virtual Result<std::optional<Allocation>> get_allocation(const std::string& id) = 0;
  virtual Result<std::vector<Allocation>> list_allocations(const std::string& project_id) = 0;

  virtual Result<void> insert_usage(const UsageRecord& usage) = 0;
  virtual Result<std::vector<UsageRecord>> list_usage(const std::string& project_id) = 0;

  // A project's data key wrapped by the master key; destroy_data_key
  // overwrites and deletes it (crypto-shredding).
  virtual Result<void> put_data_key(const std::string& project_id, const std::vector<uint8_t>& wrapped) = 0;
  virtual Result<std::optional<std::vector<uint8_t>>> get_data_key(const std::string& project_id) = 0;
  virtual Result<bool> destroy_data_key(const std::string& project_id) = 0;

  // Files: listed newest first; `after` is the id the previous page ended at.
  virtual Result<void> insert_file(const FileRecord& file) = 0;
  virtual Result<std::optional<FileRecord>> get_file(const std::string& id) = 0;
  virtual Result<std::vector<FileRecord>> list_files(const std::string& project_id, const std::string& after,
                                                     int64_t limit) = 0;
  // Marks it deleted and wipes its wrapped key (the file can no longer be decrypted).
  virtual Result<bool> delete_file(const std::string& id, int64_t at) = 0;

  virtual Result<void> insert_job(const JobRecord& job) = 0;
  virtual Result<void> update_job(const JobRecord& job) = 0;
  virtual Result<std::optional<JobRecord>> get_job(const std::string& id) = 0;
  // A project's jobs newest first, after the job `after` (cursor pagination).
  virtual Result<std::vector<JobRecord>> list_jobs(const std::string& project_id, const std::string& after,
                                                   int64_t limit) = 0;
  // Every job in one status, oldest first (the queue; recovery after a restart).
  virtual Result<std::vector<JobRecord>> jobs_with_status(JobStatus status) = 0;

  // Fills seq and returns it.
  virtual Result<int64_t> insert_job_event(const JobEvent& event) = 0;
  // Newest first, after event id `after`.
  virtual Result<std::vector<JobEvent>> list_job_events(const std::string& job_id, const std::string& after,
                                                        int64_t limit) = 0;
  virtual Result<void> insert_checkpoint(const JobCheckpoint& checkpoint) = 0;
  virtual Result<std::vector<JobCheckpoint>> list_checkpoints(const std::string& job_id) = 0;

  virtual Result<void> insert_adapter(const AdapterRecord& adapter) = 0;
  virtual Result<std::optional<AdapterRecord>> get_adapter(const std::string& name) = 0;
  // A project's adapters, or every project's with an empty id.
  virtual Result<std::vector<AdapterRecord>> list_adapters(const std::string& project_id) = 0;
  virtual Result<bool> delete_adapter(const std::string& name) = 0;

  // Appends an entry: fills seq, prev_hash and hash (audit_entry_hash) in one
  // transaction so the chain stays whole under concurrent writers.
  virtual Result<AuditEntry> append_audit(AuditEntry entry) = 0;
  // Entries with seq > after_seq, oldest first, at most `limit`.
  virtual Result<std::vector<AuditEntry>> list_audit(int64_t after_seq, int64_t limit) = 0;
};

}  // namespace officina
