// libFuzzer target: arbitrary bytes as a chat template. Parsing must fail
// with a located error or succeed; a parsed template is rendered with a
// conversation that has tools and tool calls under tight limits, and must
// finish (text or error) without crashing, hanging or exhausting memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "text/jinja_interpreter.h"
#include "text/jinja_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace officina::jinja;
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto tmpl = parse_template(source, "fuzz.jinja");
  if (!tmpl) {
    if (!tmpl.error().message.starts_with("fuzz.jinja:")) __builtin_trap();
    return 0;
  }
  static const auto messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Sei l'assistente."},
    {"role": "user", "content": [{"type": "text", "text": "Qual è lo stato?"}]},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "get_status", "arguments": {"id": "press-3", "n": [1, 2.5, null, true]}}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"state\": \"running\"}"}])");
  static const auto tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "get_status", "parameters": {"type": "object"}}}])");
  RenderLimits limits;
  limits.max_steps = 200000;
  limits.max_output_bytes = 1u << 20;
  limits.max_range = 10000;
  limits.max_call_depth = 40;
  Interpreter interp(*tmpl, limits);
  interp.set_variable("messages", Value::from_json(messages));
  interp.set_variable("tools", Value::from_json(tools));
  interp.set_variable("add_generation_prompt", Value(true));
  interp.set_variable("bos_token", Value("<s>"));
  interp.set_variable("eos_token", Value("</s>"));
  auto text = interp.render();
  if (text && text->size() > limits.max_output_bytes) __builtin_trap();
  if (!text && text.error().message.empty()) __builtin_trap();
  return 0;
}
