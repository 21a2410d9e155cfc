// Errors in the OpenAI shape: {"error": {"message", "type", "param", "code"}}
// with the HTTP status that goes with them.
// Thread-safety: plain values.
#pragma once

#include <expected>
#include <string>

namespace officina {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null

  std::string json() const;  // the response body
};

template <typename T>
using ApiResult = std::expected<T, ApiError>;

inline ApiError bad_request(std::string message, std::string param = {}, std::string code = {}) {
  return {400, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}

// The standard type for a status: 401 authentication_error, 404 / 400 / 413
// invalid_request_error, 429 rate_limit_error, 5xx server_error.
std::string api_error_type(int status);

}  // namespace officina
