#include "cli/cli_util.h"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "cli/commands.h"

namespace officina::cli {

void report(const Error& error) {
  std::fprintf(stderr, "officina: error: %s\n", error.message.c_str());
  exit_code() = 1;
}

Result<std::vector<int32_t>> parse_token_list(std::string_view text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int32_t value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size())
      return fail("--tokens: '{}' is not a token id (expected a comma-separated list such as 1,2,3)", item);
    ids.push_back(value);
    start = end + 1;
  }
  return ids;
}

Result<std::optional<LoraAdapter>> load_lora_options(const std::vector<std::string>& specs, const ModelConfig& config) {
  if (specs.empty()) return std::optional<LoraAdapter>{};
  std::vector<LoraAdapter> parts;
  for (const auto& spec : specs) {
    OFFICINA_TRY(auto parsed, LoraAdapter::parse_spec(spec));
    OFFICINA_TRY(LoraAdapter adapter, LoraAdapter::load(parsed.first, config, parsed.second));
    parts.push_back(std::move(adapter));
  }
  return std::optional<LoraAdapter>(LoraAdapter::stack(std::move(parts)));
}

Result<std::array<bool, kLoraTargets>> parse_targets(const std::string& text) {
  std::array<bool, kLoraTargets> out{};
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.ends_with("_proj")) item.resize(item.size() - 5);
    static constexpr std::string_view kShort[] = {"q", "k", "v", "o", "gate", "up", "down"};
    bool found = false;
    for (int t = 0; t < kLoraTargets; ++t)
      if (item == kShort[t]) out[static_cast<size_t>(t)] = found = true;
    if (item == "all") out.fill(found = true);
    if (!found) return fail("--targets: unknown projection '{}' (q, k, v, o, gate, up, down or all)", item);
  }
  return out;
}

}  // namespace officina::cli
