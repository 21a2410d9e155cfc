#include "serve/api_error.h"

#include <nlohmann/json.hpp>

namespace officina {

std::string ApiError::json() const {
  nlohmann::ordered_json body = {{"error",
                                  {{"message", message},
                                   {"type", type.empty() ? api_error_type(status) : type},
                                   {"param", param.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(param)},
                                   {"code", code.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(code)}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string api_error_type(int status) {
  if (status == 401) return "authentication_error";
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

}  // namespace officina
