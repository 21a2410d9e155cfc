// The platform's OpenAI-shaped errors, one constructor per kind.
// Thread-safety: plain values.
#pragma once

#include <string>

#include "base/error.h"
#include "serve/api_error.h"

namespace officina {

inline ApiError server_error(const Error& e) { return {500, e.message, "server_error", "", ""}; }
inline ApiError forbidden(std::string message) { return {403, std::move(message), "permission_error", "", ""}; }
inline ApiError not_found(std::string message) {
  return {404, std::move(message), "invalid_request_error", "", "not_found"};
}
inline ApiError no_quota(std::string message) {
  return {429, std::move(message), "insufficient_quota", "", "insufficient_quota"};
}
inline ApiError unauthorised(std::string message, std::string code = "invalid_api_key") {
  return {401, std::move(message), "authentication_error", "", std::move(code)};
}

}  // namespace officina
