#include "platform/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace officina {

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)),
      bind_error_(other.bind_error_) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
    bind_error_ = other.bind_error_;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

void SqliteStatement::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  note_bind(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  note_bind(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::span<const uint8_t> blob) {
  // A zero-length blob with a null pointer would bind NULL.
  static const uint8_t empty = 0;
  note_bind(sqlite3_bind_blob64(stmt_, index, blob.empty() ? &empty : blob.data(), blob.size(), SQLITE_TRANSIENT));
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> SqliteStatement::step() {
  if (bind_error_ != 0) return fail("DB: binding parameters of '{}': {}", sql_, sqlite3_errstr(bind_error_));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail("DB: '{}': {}", sql_, sqlite3_errmsg(db_));
}

Result<void> SqliteStatement::run() {
  while (true) {
    OFFICINA_TRY(bool row, step());
    if (!row) return {};
  }
}

int64_t SqliteStatement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double SqliteStatement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::vector<uint8_t> SqliteStatement::column_blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int size = sqlite3_column_bytes(stmt_, column);
  if (!data || size <= 0) return {};
  return std::vector<uint8_t>(data, data + size);
}

bool SqliteStatement::column_is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::optional<int64_t> SqliteStatement::column_optional_int64(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_int64(column);
}

Result<void> SqliteDb::configure() {
  OFFICINA_CHECK(exec("PRAGMA foreign_keys = ON"));
  if (path_ == ":memory:") return {};
  OFFICINA_TRY(auto mode, prepare("PRAGMA journal_mode = WAL"));
  OFFICINA_TRY(bool row, mode.step());
  if (!row || mode.column_text(0) != "wal") return fail("DB: cannot switch to WAL mode");
  // WAL with synchronous=FULL: a committed transaction survives power loss.
  return exec("PRAGMA synchronous = FULL");
}

Result<SqliteDb> SqliteDb::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw, path);
  if (rc != SQLITE_OK) {
    return fail("DB: opening {}: {}", path, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  auto configured = db.configure();
  if (!configured) return wrap(configured.error(), path);
  return db;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteDb::~SqliteDb() {
  if (db_) sqlite3_close_v2(db_);
}

Result<void> SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string why = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return fail("DB: {}: {}", text.substr(0, 80), why);
  }
  return {};
}

Result<SqliteStatement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return fail("DB: preparing '{}': {}", sql, sqlite3_errmsg(db_));
  return SqliteStatement(db_, stmt, std::string(sql));
}

int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

Result<SqliteDb::Transaction> SqliteDb::begin() {
  OFFICINA_CHECK(exec("BEGIN IMMEDIATE"));
  return Transaction(this);
}

SqliteDb::Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Result<void> SqliteDb::Transaction::commit() {
  SqliteDb* db = std::exchange(db_, nullptr);
  if (!db) return fail("DB: transaction already finished");
  auto done = db->exec("COMMIT");
  if (!done) {
    (void)db->exec("ROLLBACK");
    return done;
  }
  return {};
}

}  // namespace officina
