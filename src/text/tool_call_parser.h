// Reads tool calls out of what a model wrote, for the formats instruct models
// are trained on:
//   Hermes / Qwen   <tool_call>{"name": ..., "arguments": {...}}</tool_call> (one block per call)
//   Llama-3.1 JSON  [<|python_tag|>]{"name": ..., "parameters": {...}} (several joined by ';')
//   Mistral         [TOOL_CALLS] [{"name": ..., "arguments": {...}, "id": ...}, ...]
//                   or [TOOL_CALLS]name[ARGS]{...} (newer tokenizers)
//   Generic JSON    the whole reply (or a ```json fence) is {"tool_calls": [...]},
//                   {"tool_call": {...}} or {"name": ..., "arguments": {...}}
// The format is detected from the chat template's source. Text that does not
// parse as a call stays content, so a model that answers in prose is never
// turned into an error.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace officina {

enum class ToolCallFormat { Hermes, Llama3Json, Mistral, Generic };
std::string_view tool_call_format_name(ToolCallFormat format);  // "hermes", "llama3_json", "mistral", "generic"

// Guesses the format from a chat template's source text: <tool_call> → Hermes,
// [TOOL_CALLS] → Mistral, <|python_tag|> or "parameters" with Llama-3 headers
// → Llama3Json, anything else → Generic.
ToolCallFormat detect_tool_call_format(std::string_view template_source);

struct ToolCall {
  std::string id;         // from the model when it wrote one, else "call_" + 9 characters derived from the text
  std::string name;
  std::string arguments;  // a JSON object as compact text (OpenAI's `arguments` string)
};

struct AssistantReply {
  std::string content;  // what is left once the calls are taken out (trimmed)
  std::vector<ToolCall> tool_calls;
};

// Parses `output` in `format`; when that finds no call, the generic JSON
// forms are tried too. Calls need a string "name" and object (or JSON-string)
// arguments; anything else stays content.
AssistantReply parse_tool_calls(std::string_view output, ToolCallFormat format);

// The text a model of `format` is trained to write for one call: what the
// grammar for a required tool call constrains generation to.
std::string format_tool_call(ToolCallFormat format, const std::string& name, const nlohmann::ordered_json& arguments);

}  // namespace officina
