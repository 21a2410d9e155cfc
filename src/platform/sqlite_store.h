// The embedded platform store: one SQLite file (WAL mode) under the data
// directory, its schema brought up to date by numbered migrations on open
// (PRAGMA user_version holds the version; each migration runs in its own
// transaction). A database written by a newer officina is refused.
// Thread-safety: every method may be called from any thread (one connection
// behind a mutex; SQLite's busy timeout covers other processes).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "platform/sqlite_db.h"
#include "platform/store.h"

namespace officina {

class SqliteStore final : public Store {
 public:
  // Opens or creates PATH (":memory:" for tests) and migrates it.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  static int latest_schema_version();

  Result<std::optional<std::string>> get_meta(const std::string& key) override;
  Result<void> set_meta(const std::string& key, const std::string& value) override;
  Result<int> schema_version() override;

  Result<void> insert_organization(const Organization& org) override;
  Result<std::optional<Organization>> get_organization(const std::string& id) override;
  Result<std::vector<Organization>> list_organizations() override;

  Result<void> insert_project(const Project& project) override;
  Result<std::optional<Project>> get_project(const std::string& id) override;
  Result<std::vector<Project>> list_projects(const std::string& organization_id) override;
  Result<bool> mark_project_deleted(const std::string& id, int64_t at) override;

  Result<void> insert_api_key(const ApiKeyRecord& key) override;
  Result<std::optional<ApiKeyRecord>> get_api_key(const std::string& id) override;
  Result<std::vector<ApiKeyRecord>> list_api_keys(const std::string& project_id) override;
  Result<bool> revoke_api_key(const std::string& id, int64_t at) override;

  Result<void> insert_allocation(const Allocation& allocation) override;
  Result<std::optional<Allocation>> get_allocation(const std::string& id) override;
  Result<std::vector<Allocation>> list_allocations(const std::string& project_id) override;

  Result<void> insert_usage(const UsageRecord& usage) override;
  Result<std::vector<UsageRecord>> list_usage(const std::string& project_id) override;

  Result<void> put_data_key(const std::string& project_id, const std::vector<uint8_t>& wrapped) override;
  Result<std::optional<std::vector<uint8_t>>> get_data_key(const std::string& project_id) override;
  Result<bool> destroy_data_key(const std::string& project_id) override;

  Result<void> insert_file(const FileRecord& file) override;
  Result<std::optional<FileRecord>> get_file(const std::string& id) override;
  Result<std::vector<FileRecord>> list_files(const std::string& project_id, const std::string& after,
                                             int64_t limit) override;
  Result<bool> delete_file(const std::string& id, int64_t at) override;

  Result<void> insert_job(const JobRecord& job) override;
  Result<void> update_job(const JobRecord& job) override;
  Result<std::optional<JobRecord>> get_job(const std::string& id) override;
  Result<std::vector<JobRecord>> list_jobs(const std::string& project_id, const std::string& after,
                                           int64_t limit) override;
  Result<std::vector<JobRecord>> jobs_with_status(JobStatus status) override;
  Result<int64_t> insert_job_event(const JobEvent& event) override;
  Result<std::vector<JobEvent>> list_job_events(const std::string& job_id, const std::string& after,
                                                int64_t limit) override;
  Result<void> insert_checkpoint(const JobCheckpoint& checkpoint) override;
  Result<std::vector<JobCheckpoint>> list_checkpoints(const std::string& job_id) override;

  Result<void> insert_adapter(const AdapterRecord& adapter) override;
  Result<std::optional<AdapterRecord>> get_adapter(const std::string& name) override;
  Result<std::vector<AdapterRecord>> list_adapters(const std::string& project_id) override;
  Result<bool> delete_adapter(const std::string& name) override;

  Result<AuditEntry> append_audit(AuditEntry entry) override;
  Result<std::vector<AuditEntry>> list_audit(int64_t after_seq, int64_t limit) override;

  // For tests that play the attacker: the raw connection.
  SqliteDb& raw_db() { return db_; }

 private:
  explicit SqliteStore(SqliteDb db) : db_(std::move(db)) {}
  Result<void> migrate();
  std::mutex mutex_;
  SqliteDb db_;
};

}  // namespace officina
