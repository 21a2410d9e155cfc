// Grammars that hold generation to a tool call when the caller requires one
// (OpenAI tool_choice "required" or {"function": {"name": ...}}): the call is
// written in the model's format (tool_call_parser.h) and its arguments must
// match that tool's JSON schema (json_schema_grammar.h).
//   Hermes   <tool_call>\n{"name": N, "arguments": {...}}\n</tool_call> (one or more)
//   Llama-3  {"name": N, "parameters": {...}}
//   Mistral  [TOOL_CALLS] [{"name": N, "arguments": {...}}, ...]
//   generic  {"tool_calls": [{"name": N, "arguments": {...}}, ...]}
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "text/tool_call_parser.h"

namespace officina {

// `tools`: OpenAI tool definitions ({"type": "function", "function": {"name",
// "parameters"}}). `only` names the one tool allowed (empty: any). Fails when
// there is no such tool, a tool has no name, or its parameters use schema
// keywords the converter refuses ("tools[1] (get_oee).parameters: ...").
Result<std::string> tool_call_gbnf(ToolCallFormat format, const nlohmann::ordered_json& tools, std::string_view only = "");

}  // namespace officina
