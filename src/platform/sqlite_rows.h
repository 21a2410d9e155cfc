// Row helpers shared by the SQLite store's files: one row or all rows of a
// statement, each read by a function of the statement.
#pragma once

#include <optional>
#include <vector>

#include "platform/sqlite_db.h"

namespace officina {

template <class T, class Read>
Result<std::optional<T>> sqlite_one(SqliteStatement& s, Read read) {
  OFFICINA_TRY(bool row, s.step());
  if (!row) return std::optional<T>{};
  return std::optional<T>{read(s)};
}

template <class T, class Read>
Result<std::vector<T>> sqlite_all(SqliteStatement& s, Read read) {
  std::vector<T> out;
  while (true) {
    OFFICINA_TRY(bool row, s.step());
    if (!row) return out;
    out.push_back(read(s));
  }
}

}  // namespace officina
