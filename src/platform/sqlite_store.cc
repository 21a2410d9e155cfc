#include "platform/sqlite_store.h"

#include <array>

#include "platform/audit_chain.h"
#include "platform/sqlite_rows.h"

namespace officina {
namespace {

// Append-only: a released migration never changes; the next one follows it.
constexpr std::array<const char*, 3> kMigrations{R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE organizations (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE projects (
  id TEXT PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL, created_at INTEGER NOT NULL, deleted_at INTEGER);
CREATE INDEX projects_by_org ON projects(organization_id);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, project_id TEXT REFERENCES projects(id), role TEXT NOT NULL,
  hash TEXT NOT NULL, hint TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER, revoked_at INTEGER);
CREATE INDEX api_keys_by_project ON api_keys(project_id);
CREATE TABLE allocations (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id), tier TEXT NOT NULL,
  core_hours REAL NOT NULL, gpu_hours REAL NOT NULL,
  starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX allocations_by_project ON allocations(project_id);
CREATE TABLE usage (
  id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL REFERENCES projects(id),
  allocation_id TEXT NOT NULL, job_id TEXT NOT NULL, core_hours REAL NOT NULL, gpu_hours REAL NOT NULL,
  started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL);
CREATE INDEX usage_by_project ON usage(project_id);
CREATE TABLE data_keys (project_id TEXT PRIMARY KEY REFERENCES projects(id), wrapped BLOB NOT NULL);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, project_id TEXT NOT NULL,
  action TEXT NOT NULL, resource TEXT NOT NULL, origin TEXT NOT NULL, detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
-- Append-only at the SQL level too: the store never updates or deletes entries.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
                                                R"sql(
CREATE TABLE files (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id), filename TEXT NOT NULL,
  purpose TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL,
  status_details TEXT NOT NULL, report TEXT NOT NULL, wrapped_key BLOB, deleted_at INTEGER);
CREATE INDEX files_by_project ON files(project_id);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id), model TEXT NOT NULL,
  training_file TEXT NOT NULL, validation_file TEXT NOT NULL, suffix TEXT NOT NULL, seed INTEGER NOT NULL,
  hyperparameters TEXT NOT NULL, method TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL,
  fine_tuned_model TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
  trained_tokens INTEGER NOT NULL, cores INTEGER NOT NULL, memory_mb INTEGER NOT NULL, attempts INTEGER NOT NULL,
  allocation_id TEXT NOT NULL, charged_core_hours REAL NOT NULL);
CREATE INDEX jobs_by_project ON jobs(project_id);
CREATE INDEX jobs_by_status ON jobs(status);
CREATE TABLE job_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL REFERENCES jobs(id),
  created_at INTEGER NOT NULL, level TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX job_events_by_job ON job_events(job_id, seq);
CREATE TABLE job_checkpoints (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), step INTEGER NOT NULL,
  created_at INTEGER NOT NULL, metrics TEXT NOT NULL, model TEXT NOT NULL);
CREATE INDEX job_checkpoints_by_job ON job_checkpoints(job_id, step);
CREATE TABLE adapters (
  name TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id), job_id TEXT NOT NULL,
  path TEXT NOT NULL, wrapped_key BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX adapters_by_project ON adapters(project_id);
)sql",
                                                R"sql(
ALTER TABLE jobs ADD COLUMN executor_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN resources TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN charged_gpu_hours REAL NOT NULL DEFAULT 0;
)sql"};

Organization read_organization(const SqliteStatement& s) {
  return Organization{s.column_text(0), s.column_text(1), parse_org_kind(s.column_text(2)).value_or(OrgKind::sme),
                      s.column_int64(3)};
}

Project read_project(const SqliteStatement& s) {
  return Project{s.column_text(0), s.column_text(1), s.column_text(2), s.column_int64(3),
                 s.column_optional_int64(4)};
}

constexpr const char* kKeyColumns = "id, project_id, role, hash, hint, created_at, expires_at, revoked_at";
ApiKeyRecord read_key(const SqliteStatement& s) {
  ApiKeyRecord k;
  k.id = s.column_text(0);
  k.project_id = s.column_text(1);
  // An unknown role (a newer officina's) reads as the weakest one.
  k.role = parse_role(s.column_text(2)).value_or(Role::viewer);
  k.hash = s.column_text(3);
  k.hint = s.column_text(4);
  k.created_at = s.column_int64(5);
  k.expires_at = s.column_optional_int64(6);
  k.revoked_at = s.column_optional_int64(7);
  return k;
}

constexpr const char* kAllocationColumns = "id, project_id, tier, core_hours, gpu_hours, starts_at, ends_at, created_at";
Allocation read_allocation(const SqliteStatement& s) {
  return Allocation{s.column_text(0),   s.column_text(1),  parse_tier(s.column_text(2)).value_or(AccessTier::playground),
                    s.column_double(3), s.column_double(4), s.column_int64(5),
                    s.column_int64(6),  s.column_int64(7)};
}

constexpr const char* kAuditColumns = "seq, at, actor, project_id, action, resource, origin, detail, prev_hash, hash";
AuditEntry read_audit(const SqliteStatement& s) {
  return AuditEntry{s.column_int64(0), s.column_int64(1), s.column_text(2), s.column_text(3), s.column_text(4),
                    s.column_text(5),  s.column_text(6),  s.column_text(7), s.column_text(8), s.column_text(9)};
}

}  // namespace

int SqliteStore::latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  OFFICINA_TRY(SqliteDb db, SqliteDb::open(path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db)));
  auto migrated = store->migrate();
  if (!migrated) return wrap(migrated.error(), path);
  return store;
}

Result<void> SqliteStore::migrate() {
  OFFICINA_TRY(int version, schema_version());
  if (version > latest_schema_version()) {
    return fail("the store has schema version {} but this officina knows only up to {}: use a newer officina", version,
                latest_schema_version());
  }
  for (int v = version; v < latest_schema_version(); ++v) {
    OFFICINA_TRY(auto tx, db_.begin());
    OFFICINA_CHECK(db_.exec(kMigrations[static_cast<size_t>(v)]));
    OFFICINA_CHECK(db_.exec("PRAGMA user_version = " + std::to_string(v + 1)));
    OFFICINA_CHECK(tx.commit());
  }
  return {};
}

Result<int> SqliteStore::schema_version() {
  OFFICINA_TRY(auto s, db_.prepare("PRAGMA user_version"));
  OFFICINA_TRY(bool row, s.step());
  return row ? static_cast<int>(s.column_int64(0)) : 0;
}

Result<std::optional<std::string>> SqliteStore::get_meta(const std::string& key) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT value FROM meta WHERE key = ?"));
  s.bind(1, key);
  return sqlite_one<std::string>(s, [](const SqliteStatement& r) { return r.column_text(0); });
}

Result<void> SqliteStore::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO meta(key, value) VALUES(?, ?) "
                                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  return s.bind(1, key).bind(2, value).run();
}

Result<void> SqliteStore::insert_organization(const Organization& org) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO organizations(id, name, kind, created_at) VALUES(?, ?, ?, ?)"));
  return s.bind(1, org.id).bind(2, org.name).bind(3, org_kind_name(org.kind)).bind(4, org.created_at).run();
}

Result<std::optional<Organization>> SqliteStore::get_organization(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, name, kind, created_at FROM organizations WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<Organization>(s, read_organization);
}

Result<std::vector<Organization>> SqliteStore::list_organizations() {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, name, kind, created_at FROM organizations ORDER BY created_at, id"));
  return sqlite_all<Organization>(s, read_organization);
}

Result<void> SqliteStore::insert_project(const Project& p) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO projects(id, organization_id, name, created_at, deleted_at) "
                                   "VALUES(?, ?, ?, ?, ?)"));
  return s.bind(1, p.id).bind(2, p.organization_id).bind(3, p.name).bind(4, p.created_at).bind(5, p.deleted_at).run();
}

Result<std::optional<Project>> SqliteStore::get_project(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, organization_id, name, created_at, deleted_at FROM projects WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<Project>(s, read_project);
}

Result<std::vector<Project>> SqliteStore::list_projects(const std::string& organization_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, organization_id, name, created_at, deleted_at FROM projects "
                                   "WHERE ? = '' OR organization_id = ? ORDER BY created_at, id"));
  s.bind(1, organization_id).bind(2, organization_id);
  return sqlite_all<Project>(s, read_project);
}

Result<bool> SqliteStore::mark_project_deleted(const std::string& id, int64_t at) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("UPDATE projects SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL"));
  OFFICINA_CHECK(s.bind(1, at).bind(2, id).run());
  return db_.changes() > 0;
}

Result<void> SqliteStore::insert_api_key(const ApiKeyRecord& k) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO api_keys(") + kKeyColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  s.bind(1, k.id);
  if (k.project_id.empty()) {
    s.bind_null(2);
  } else {
    s.bind(2, k.project_id);
  }
  return s.bind(3, role_name(k.role)).bind(4, k.hash).bind(5, k.hint).bind(6, k.created_at).bind(7, k.expires_at)
      .bind(8, k.revoked_at).run();
}

Result<std::optional<ApiKeyRecord>> SqliteStore::get_api_key(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<ApiKeyRecord>(s, read_key);
}

Result<std::vector<ApiKeyRecord>> SqliteStore::list_api_keys(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kKeyColumns +
                                   " FROM api_keys WHERE coalesce(project_id, '') = ? ORDER BY created_at, id"));
  s.bind(1, project_id);
  return sqlite_all<ApiKeyRecord>(s, read_key);
}

Result<bool> SqliteStore::revoke_api_key(const std::string& id, int64_t at) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
  OFFICINA_CHECK(s.bind(1, at).bind(2, id).run());
  return db_.changes() > 0;
}

Result<void> SqliteStore::insert_allocation(const Allocation& a) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO allocations(") + kAllocationColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  return s.bind(1, a.id).bind(2, a.project_id).bind(3, tier_name(a.tier)).bind(4, a.core_hours).bind(5, a.gpu_hours)
      .bind(6, a.starts_at).bind(7, a.ends_at).bind(8, a.created_at).run();
}

Result<std::optional<Allocation>> SqliteStore::get_allocation(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kAllocationColumns + " FROM allocations WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<Allocation>(s, read_allocation);
}

Result<std::vector<Allocation>> SqliteStore::list_allocations(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kAllocationColumns +
                                   " FROM allocations WHERE project_id = ? ORDER BY starts_at, id"));
  s.bind(1, project_id);
  return sqlite_all<Allocation>(s, read_allocation);
}

Result<void> SqliteStore::insert_usage(const UsageRecord& u) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO usage(project_id, allocation_id, job_id, core_hours, gpu_hours, "
                                   "started_at, ended_at) VALUES(?, ?, ?, ?, ?, ?, ?)"));
  return s.bind(1, u.project_id).bind(2, u.allocation_id).bind(3, u.job_id).bind(4, u.core_hours).bind(5, u.gpu_hours)
      .bind(6, u.started_at).bind(7, u.ended_at).run();
}

Result<std::vector<UsageRecord>> SqliteStore::list_usage(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, project_id, allocation_id, job_id, core_hours, gpu_hours, started_at, "
                                   "ended_at FROM usage WHERE project_id = ? ORDER BY started_at, id"));
  s.bind(1, project_id);
  return sqlite_all<UsageRecord>(s, [](const SqliteStatement& r) {
    return UsageRecord{r.column_int64(0),  r.column_text(1),   r.column_text(2),  r.column_text(3),
                       r.column_double(4), r.column_double(5), r.column_int64(6), r.column_int64(7)};
  });
}

Result<void> SqliteStore::put_data_key(const std::string& project_id, const std::vector<uint8_t>& wrapped) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO data_keys(project_id, wrapped) VALUES(?, ?)"));
  return s.bind(1, project_id).bind_blob(2, wrapped).run();
}

Result<std::optional<std::vector<uint8_t>>> SqliteStore::get_data_key(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT wrapped FROM data_keys WHERE project_id = ?"));
  s.bind(1, project_id);
  return sqlite_one<std::vector<uint8_t>>(s, [](const SqliteStatement& r) { return r.column_blob(0); });
}

Result<bool> SqliteStore::destroy_data_key(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto tx, db_.begin());
  // Overwrite before deleting (secure_delete makes SQLite zero the freed
  // pages too), so the wrapped key does not linger in the file.
  OFFICINA_CHECK(db_.exec("PRAGMA secure_delete = ON"));
  OFFICINA_TRY(auto wipe, db_.prepare("UPDATE data_keys SET wrapped = zeroblob(length(wrapped)) WHERE project_id = ?"));
  OFFICINA_CHECK(wipe.bind(1, project_id).run());
  OFFICINA_TRY(auto s, db_.prepare("DELETE FROM data_keys WHERE project_id = ?"));
  OFFICINA_CHECK(s.bind(1, project_id).run());
  const bool destroyed = db_.changes() > 0;
  OFFICINA_CHECK(tx.commit());
  return destroyed;
}

Result<AuditEntry> SqliteStore::append_audit(AuditEntry entry) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto tx, db_.begin());
  OFFICINA_TRY(auto last, db_.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  OFFICINA_TRY(bool row, last.step());
  entry.seq = row ? last.column_int64(0) + 1 : 1;
  entry.prev_hash = row ? last.column_text(1) : kAuditGenesis;
  entry.hash = audit_entry_hash(entry);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO audit_log(") + kAuditColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  OFFICINA_CHECK(s.bind(1, entry.seq).bind(2, entry.at).bind(3, entry.actor).bind(4, entry.project_id)
                     .bind(5, entry.action).bind(6, entry.resource).bind(7, entry.origin).bind(8, entry.detail)
                     .bind(9, entry.prev_hash).bind(10, entry.hash).run());
  OFFICINA_TRY(auto head, db_.prepare("INSERT INTO meta(key, value) VALUES('audit_head', ?) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  OFFICINA_CHECK(head.bind(1, std::to_string(entry.seq) + ":" + entry.hash).run());
  OFFICINA_CHECK(tx.commit());
  return entry;
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit(int64_t after_seq, int64_t limit) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kAuditColumns +
                                   " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"));
  s.bind(1, after_seq).bind(2, limit);
  return sqlite_all<AuditEntry>(s, read_audit);
}

}  // namespace officina
