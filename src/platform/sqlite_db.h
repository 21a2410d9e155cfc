// A thin RAII layer over SQLite for the platform store: a connection opened
// in WAL mode with foreign keys on and a busy timeout, prepared statements
// with typed binds and columns, and transactions that roll back unless
// committed.
// Errors: "DB: what failed: sqlite's message". Thread-safety: one SqliteDb per
// thread, or a caller-held mutex around it (SQLite's serialized mode is not
// assumed).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace officina {

class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds parameter `index` (1-based); chains so calls read as one line.
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, double value);
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  SqliteStatement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  SqliteStatement& bind_blob(int index, std::span<const uint8_t> blob);
  SqliteStatement& bind_null(int index);
  template <class T>
  SqliteStatement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Next row: true with a row, false when done; an error for anything else
  // (including a bind that failed).
  Result<bool> step();
  // Runs to completion (INSERT/UPDATE/DELETE).
  Result<void> run();

  int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::vector<uint8_t> column_blob(int column) const;
  bool column_is_null(int column) const;
  std::optional<int64_t> column_optional_int64(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  void note_bind(int rc);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  int bind_error_ = 0;
};

class SqliteDb {
 public:
  // Opens (creating) PATH in WAL mode; ":memory:" for tests.
  static Result<SqliteDb> open(const std::string& path);
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  ~SqliteDb();

  Result<void> exec(std::string_view sql);
  Result<SqliteStatement> prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int64_t changes() const;  // rows changed by the last statement
  const std::string& path() const { return path_; }

  // BEGIN IMMEDIATE; the destructor rolls back unless commit() succeeded.
  class Transaction {
   public:
    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction(const Transaction&) = delete;
    ~Transaction();
    Result<void> commit();

   private:
    friend class SqliteDb;
    explicit Transaction(SqliteDb* db) : db_(db) {}
    SqliteDb* db_;
  };
  Result<Transaction> begin();

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Result<void> configure();
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace officina
