// SqliteStore: files, fine-tuning jobs, their events and checkpoints, and
// the adapters jobs produce.
#include "platform/sqlite_rows.h"
#include "platform/sqlite_store.h"

namespace officina {
namespace {

constexpr const char* kFileColumns =
    "id, project_id, filename, purpose, bytes, created_at, status, status_details, report, wrapped_key, deleted_at";
FileRecord read_file(const SqliteStatement& s) {
  FileRecord f;
  f.id = s.column_text(0);
  f.project_id = s.column_text(1);
  f.filename = s.column_text(2);
  f.purpose = s.column_text(3);
  f.bytes = s.column_int64(4);
  f.created_at = s.column_int64(5);
  f.status = s.column_text(6);
  f.status_details = s.column_text(7);
  f.report = s.column_text(8);
  f.wrapped_key = s.column_blob(9);
  f.deleted_at = s.column_optional_int64(10);
  return f;
}

constexpr const char* kJobColumns =
    "id, project_id, model, training_file, validation_file, suffix, seed, hyperparameters, method, status, error, "
    "fine_tuned_model, created_at, started_at, finished_at, trained_tokens, cores, memory_mb, attempts, "
    "allocation_id, charged_core_hours, executor_ref, requeues, resources, charged_gpu_hours";
JobRecord read_job(const SqliteStatement& s) {
  JobRecord j;
  j.id = s.column_text(0);
  j.project_id = s.column_text(1);
  j.model = s.column_text(2);
  j.training_file = s.column_text(3);
  j.validation_file = s.column_text(4);
  j.suffix = s.column_text(5);
  j.seed = s.column_int64(6);
  j.hyperparameters = s.column_text(7);
  j.method = s.column_text(8);
  j.status = parse_job_status(s.column_text(9)).value_or(JobStatus::failed);
  j.error = s.column_text(10);
  j.fine_tuned_model = s.column_text(11);
  j.created_at = s.column_int64(12);
  j.started_at = s.column_optional_int64(13);
  j.finished_at = s.column_optional_int64(14);
  j.trained_tokens = s.column_int64(15);
  j.cores = static_cast<int>(s.column_int64(16));
  j.memory_mb = s.column_int64(17);
  j.attempts = static_cast<int>(s.column_int64(18));
  j.allocation_id = s.column_text(19);
  j.charged_core_hours = s.column_double(20);
  j.executor_ref = s.column_text(21);
  j.requeues = static_cast<int>(s.column_int64(22));
  j.resources = s.column_text(23);
  j.charged_gpu_hours = s.column_double(24);
  return j;
}

void bind_job(SqliteStatement& s, const JobRecord& j) {
  s.bind(1, j.id).bind(2, j.project_id).bind(3, j.model).bind(4, j.training_file).bind(5, j.validation_file)
      .bind(6, j.suffix).bind(7, j.seed).bind(8, j.hyperparameters).bind(9, j.method)
      .bind(10, job_status_name(j.status)).bind(11, j.error).bind(12, j.fine_tuned_model).bind(13, j.created_at)
      .bind(14, j.started_at).bind(15, j.finished_at).bind(16, j.trained_tokens).bind(17, int64_t{j.cores})
      .bind(18, j.memory_mb).bind(19, int64_t{j.attempts}).bind(20, j.allocation_id).bind(21, j.charged_core_hours)
      .bind(22, j.executor_ref).bind(23, int64_t{j.requeues}).bind(24, j.resources).bind(25, j.charged_gpu_hours);
}

constexpr const char* kEventColumns = "seq, id, job_id, created_at, level, type, message, data";
JobEvent read_event(const SqliteStatement& s) {
  return JobEvent{s.column_int64(0), s.column_text(1), s.column_text(2), s.column_int64(3),
                  s.column_text(4),  s.column_text(5), s.column_text(6), s.column_text(7)};
}

constexpr const char* kAdapterColumns = "name, project_id, job_id, path, wrapped_key, created_at";
AdapterRecord read_adapter(const SqliteStatement& s) {
  return AdapterRecord{s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_blob(4),
                       s.column_int64(5)};
}

}  // namespace

Result<void> SqliteStore::insert_file(const FileRecord& f) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO files(") + kFileColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  return s.bind(1, f.id).bind(2, f.project_id).bind(3, f.filename).bind(4, f.purpose).bind(5, f.bytes)
      .bind(6, f.created_at).bind(7, f.status).bind(8, f.status_details).bind(9, f.report)
      .bind_blob(10, f.wrapped_key).bind(11, f.deleted_at).run();
}

Result<std::optional<FileRecord>> SqliteStore::get_file(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kFileColumns + " FROM files WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<FileRecord>(s, read_file);
}

Result<std::vector<FileRecord>> SqliteStore::list_files(const std::string& project_id, const std::string& after,
                                                        int64_t limit) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kFileColumns +
                                   " FROM files WHERE project_id = ? AND deleted_at IS NULL AND "
                                   "(? = '' OR rowid < (SELECT rowid FROM files WHERE id = ?)) "
                                   "ORDER BY rowid DESC LIMIT ?"));
  s.bind(1, project_id).bind(2, after).bind(3, after).bind(4, limit);
  return sqlite_all<FileRecord>(s, read_file);
}

Result<bool> SqliteStore::delete_file(const std::string& id, int64_t at) {
  std::lock_guard lock(mutex_);
  OFFICINA_CHECK(db_.exec("PRAGMA secure_delete = ON"));
  OFFICINA_TRY(auto s, db_.prepare("UPDATE files SET deleted_at = ?, wrapped_key = NULL "
                                   "WHERE id = ? AND deleted_at IS NULL"));
  OFFICINA_CHECK(s.bind(1, at).bind(2, id).run());
  return db_.changes() > 0;
}

Result<void> SqliteStore::insert_job(const JobRecord& job) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO jobs(") + kJobColumns +
                                   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  bind_job(s, job);
  return s.run();
}

Result<void> SqliteStore::update_job(const JobRecord& job) {
  std::lock_guard lock(mutex_);
  // Every column but the id from the record; the id in the WHERE clause.
  OFFICINA_TRY(auto s, db_.prepare(
                           "UPDATE jobs SET project_id = ?2, model = ?3, training_file = ?4, validation_file = ?5, "
                           "suffix = ?6, seed = ?7, hyperparameters = ?8, method = ?9, status = ?10, error = ?11, "
                           "fine_tuned_model = ?12, created_at = ?13, started_at = ?14, finished_at = ?15, "
                           "trained_tokens = ?16, cores = ?17, memory_mb = ?18, attempts = ?19, allocation_id = ?20, "
                           "charged_core_hours = ?21, executor_ref = ?22, requeues = ?23, resources = ?24, "
                           "charged_gpu_hours = ?25 WHERE id = ?1"));
  bind_job(s, job);
  OFFICINA_CHECK(s.run());
  if (db_.changes() == 0) return fail("DB: no job {}", job.id);
  return {};
}

Result<std::optional<JobRecord>> SqliteStore::get_job(const std::string& id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?"));
  s.bind(1, id);
  return sqlite_one<JobRecord>(s, read_job);
}

Result<std::vector<JobRecord>> SqliteStore::list_jobs(const std::string& project_id, const std::string& after,
                                                      int64_t limit) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kJobColumns +
                                   " FROM jobs WHERE project_id = ? AND "
                                   "(? = '' OR rowid < (SELECT rowid FROM jobs WHERE id = ?)) "
                                   "ORDER BY rowid DESC LIMIT ?"));
  s.bind(1, project_id).bind(2, after).bind(3, after).bind(4, limit);
  return sqlite_all<JobRecord>(s, read_job);
}

Result<std::vector<JobRecord>> SqliteStore::jobs_with_status(JobStatus status) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE status = ? ORDER BY rowid"));
  s.bind(1, job_status_name(status));
  return sqlite_all<JobRecord>(s, read_job);
}

Result<int64_t> SqliteStore::insert_job_event(const JobEvent& e) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO job_events(id, job_id, created_at, level, type, message, data) "
                                   "VALUES(?, ?, ?, ?, ?, ?, ?)"));
  OFFICINA_CHECK(s.bind(1, e.id).bind(2, e.job_id).bind(3, e.created_at).bind(4, e.level).bind(5, e.type)
                     .bind(6, e.message).bind(7, e.data).run());
  return db_.last_insert_rowid();
}

Result<std::vector<JobEvent>> SqliteStore::list_job_events(const std::string& job_id, const std::string& after,
                                                           int64_t limit) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kEventColumns +
                                   " FROM job_events WHERE job_id = ? AND "
                                   "(? = '' OR seq < (SELECT seq FROM job_events WHERE id = ?)) "
                                   "ORDER BY seq DESC LIMIT ?"));
  s.bind(1, job_id).bind(2, after).bind(3, after).bind(4, limit);
  return sqlite_all<JobEvent>(s, read_event);
}

Result<void> SqliteStore::insert_checkpoint(const JobCheckpoint& c) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("INSERT INTO job_checkpoints(id, job_id, step, created_at, metrics, model) "
                                   "VALUES(?, ?, ?, ?, ?, ?)"));
  return s.bind(1, c.id).bind(2, c.job_id).bind(3, c.step).bind(4, c.created_at).bind(5, c.metrics)
      .bind(6, c.fine_tuned_model_checkpoint).run();
}

Result<std::vector<JobCheckpoint>> SqliteStore::list_checkpoints(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare("SELECT id, job_id, step, created_at, metrics, model FROM job_checkpoints "
                                   "WHERE job_id = ? ORDER BY step DESC"));
  s.bind(1, job_id);
  return sqlite_all<JobCheckpoint>(s, [](const SqliteStatement& r) {
    return JobCheckpoint{r.column_text(0), r.column_text(1), r.column_int64(2), r.column_int64(3), r.column_text(4),
                         r.column_text(5)};
  });
}

Result<void> SqliteStore::insert_adapter(const AdapterRecord& a) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("INSERT INTO adapters(") + kAdapterColumns + ") VALUES(?, ?, ?, ?, ?, ?)"));
  return s.bind(1, a.name).bind(2, a.project_id).bind(3, a.job_id).bind(4, a.path).bind_blob(5, a.wrapped_key)
      .bind(6, a.created_at).run();
}

Result<std::optional<AdapterRecord>> SqliteStore::get_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kAdapterColumns + " FROM adapters WHERE name = ?"));
  s.bind(1, name);
  return sqlite_one<AdapterRecord>(s, read_adapter);
}

Result<std::vector<AdapterRecord>> SqliteStore::list_adapters(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(auto s, db_.prepare(std::string("SELECT ") + kAdapterColumns +
                                   " FROM adapters WHERE ? = '' OR project_id = ? ORDER BY created_at, name"));
  s.bind(1, project_id).bind(2, project_id);
  return sqlite_all<AdapterRecord>(s, read_adapter);
}

Result<bool> SqliteStore::delete_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  OFFICINA_CHECK(db_.exec("PRAGMA secure_delete = ON"));
  OFFICINA_TRY(auto s, db_.prepare("DELETE FROM adapters WHERE name = ?"));
  OFFICINA_CHECK(s.bind(1, name).run());
  return db_.changes() > 0;
}

}  // namespace officina
