#include "text/tool_call_grammar.h"

#include <regex>

#include "text/json_schema_grammar.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

// Renames the converter's start rule so it can be wrapped, refusing grammars
// that refer back to it.
Result<std::string> rename_root(const std::string& gbnf, const std::string& name) {
  static const std::regex kRootUse(R"((^|[^-A-Za-z0-9_"])root([^-A-Za-z0-9_]|$))");
  std::string out;
  bool renamed = false;
  size_t start = 0;
  while (start < gbnf.size()) {
    size_t end = gbnf.find('\n', start);
    std::string line = gbnf.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? gbnf.size() : end + 1;
    if (!renamed && line.starts_with("root ::=")) {
      line = name + line.substr(4);
      renamed = true;
    } else {
      size_t def = line.find("::=");
      std::string body = def == std::string::npos ? line : line.substr(def + 3);
      std::string unquoted = std::regex_replace(body, std::regex(R"("(\\.|[^"\\])*")"), "\"\"");
      if (std::regex_search(unquoted, kRootUse)) return fail("a recursive tool schema cannot be constrained");
    }
    out += line + "\n";
  }
  if (!renamed) return fail("the schema converter gave no root rule");
  return out;
}

}  // namespace

Result<std::string> tool_call_gbnf(ToolCallFormat format, const OJson& tools, std::string_view only) {
  if (!tools.is_array() || tools.empty()) return fail("tool_choice requires a tool call but no tools were given");
  const char* args_key = format == ToolCallFormat::Llama3Json ? "parameters" : "arguments";
  OJson alternatives = OJson::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const OJson& tool = tools[i];
    const OJson& fn = tool.contains("function") ? tool["function"] : tool;
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
      return fail("tools[{}]: a function needs a \"name\"", i);
    const std::string name = fn["name"];
    if (!only.empty() && name != only) continue;
    OJson params = fn.contains("parameters") ? fn["parameters"] : OJson{{"type", "object"}};
    if (params.is_object() && params.empty()) params = OJson{{"type", "object"}};
    OJson call = {{"type", "object"},
                  {"properties", {{"name", {{"const", name}}}, {args_key, params}}},
                  {"required", {"name", args_key}},
                  {"additionalProperties", false}};
    // Check each tool on its own so an error names it.
    auto alone = json_schema_json_to_gbnf(call, fmt::format("tools[{}] ({})", i, name));
    if (!alone) return std::unexpected(alone.error());
    alternatives.push_back(std::move(call));
  }
  if (alternatives.empty()) return fail("tool_choice names '{}' but no tool has that name", only);
  OJson schema = alternatives.size() == 1 ? alternatives[0] : OJson{{"anyOf", alternatives}};
  if (format == ToolCallFormat::Generic)
    schema = {{"type", "object"},
              {"properties", {{"tool_calls", {{"type", "array"}, {"items", schema}, {"minItems", 1}}}}},
              {"required", {"tool_calls"}},
              {"additionalProperties", false}};
  OFFICINA_TRY(std::string gbnf, json_schema_json_to_gbnf(schema, "tools"));
  OFFICINA_TRY(std::string body, rename_root(gbnf, "tool-call"));
  switch (format) {
    case ToolCallFormat::Hermes:
      return "root ::= tool-block (\"\\n\" tool-block)*\ntool-block ::= \"<tool_call>\\n\" tool-call \"\\n</tool_call>\"\n" + body;
    case ToolCallFormat::Llama3Json:
    case ToolCallFormat::Generic: return "root ::= tool-call\n" + body;
    case ToolCallFormat::Mistral:
      return "root ::= \"[TOOL_CALLS] [\" tool-call (\", \" tool-call)* \"]\"\n" + body;
  }
  return fail("unknown tool-call format");
}

}  // namespace officina
