// libFuzzer target: arbitrary bytes as the body of POST /v1/fine_tuning/jobs
// (parse_fine_tune_request, then "auto" resolved): a clear error or a
// request whose resolved values are inside the documented ranges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "platform/fine_tune_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto body = nlohmann::ordered_json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  auto request = officina::parse_fine_tune_request(body);
  if (!request) {
    if (request.error().message.empty() || request.error().status != 400) std::abort();
    return 0;
  }
  const auto h = officina::resolve_hyperparameters(*request, static_cast<int64_t>(size % 5000), 2048, 1);
  if (h.n_epochs < 1 || h.n_epochs > 50 || h.batch_size < 1 || h.batch_size > 256 || h.seq_len < 1 ||
      h.seq_len > 8192 || h.lora_r < 1 || h.lora_r > 256 || !(h.learning_rate > 0) || h.lora_dropout < 0 ||
      h.lora_dropout > 0.5) {
    std::abort();
  }
  (void)h.to_json().dump();
  return 0;
}
