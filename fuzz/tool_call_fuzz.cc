// libFuzzer target: arbitrary bytes as a model's reply. Every format's parser
// must return (calls with a name and object arguments, or content) without
// crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/tool_call_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace officina;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto format : {ToolCallFormat::Hermes, ToolCallFormat::Llama3Json, ToolCallFormat::Mistral, ToolCallFormat::Generic}) {
    AssistantReply reply = parse_tool_calls(text, format);
    for (const auto& call : reply.tool_calls) {
      if (call.name.empty() || call.id.empty()) __builtin_trap();
      auto args = nlohmann::ordered_json::parse(call.arguments, nullptr, false);
      if (args.is_discarded() || !args.is_object()) __builtin_trap();
    }
  }
  return 0;
}
