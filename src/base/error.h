// Errors caused by input, files, network or users travel as values:
// every fallible function returns Result<T> = std::expected<T, Error>.
// The message says where (file, offset, key), what went wrong, and, where it
// helps, what to do. Programmer invariants use assert(), never Error.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace officina {

struct Error {
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// fail("{}: bad magic", path) -> an unexpected Error ready to return.
template <class... Args>
[[nodiscard]] std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected(Error{fmt::format(format, std::forward<Args>(args)...)});
}

// Adds context in front of an error: "loading model.gguf: <inner message>".
[[nodiscard]] inline std::unexpected<Error> wrap(const Error& inner, std::string_view context) {
  return std::unexpected(Error{fmt::format("{}: {}", context, inner.message)});
}

}  // namespace officina

// Propagates an error out of the current function; binds the value otherwise.
//   OFFICINA_TRY(auto file, MappedFile::open(path));
#define OFFICINA_CONCAT_INNER(a, b) a##b
#define OFFICINA_CONCAT(a, b) OFFICINA_CONCAT_INNER(a, b)
#define OFFICINA_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                       \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  decl = std::move(*tmp)
#define OFFICINA_TRY(decl, expr) OFFICINA_TRY_IMPL(OFFICINA_CONCAT(officina_try_, __LINE__), decl, expr)
// For Result<void>.
#define OFFICINA_CHECK(expr)                                  \
  do {                                                        \
    auto officina_check_result = (expr);                      \
    if (!officina_check_result)                               \
      return std::unexpected(std::move(officina_check_result).error()); \
  } while (0)
