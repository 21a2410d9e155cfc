#include "text/tool_call_parser.h"

#include <cctype>
#include <optional>

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<OJson> parse_json(std::string_view text) {
  OJson j = OJson::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Parses the first JSON value at the start of `text` (after whitespace);
// `consumed` is the length used. Lets "{...}; {...}" and trailing text through.
std::optional<OJson> parse_json_prefix(std::string_view text, size_t& consumed) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i >= text.size() || (text[i] != '{' && text[i] != '[')) return std::nullopt;
  // Find the matching bracket, minding strings, then parse exactly that span.
  int depth = 0;
  bool in_string = false;
  for (size_t j = i; j < text.size(); ++j) {
    char c = text[j];
    if (in_string) {
      if (c == '\\') ++j;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) {
        auto j_value = parse_json(text.substr(i, j + 1 - i));
        if (j_value) consumed = j + 1;
        return j_value;
      }
    }
    if (depth > 512) return std::nullopt;
  }
  return std::nullopt;
}

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string make_id(std::string_view output, size_t index) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  uint64_t h = fnv1a(output, fnv1a(std::to_string(index)));
  std::string id = "call_";
  for (int i = 0; i < 9; ++i) {
    id += kAlphabet[h % 62];
    h /= 62;
    if (h == 0) h = fnv1a(id);
  }
  return id;
}

// {"name": ..., "arguments"|"parameters": {...} or "{...}", "id"?} → a call.
std::optional<ToolCall> call_from_json(const OJson& j) {
  if (!j.is_object()) return std::nullopt;
  const OJson* body = &j;
  if (j.contains("function") && j["function"].is_object()) body = &j["function"];  // OpenAI-shaped
  auto name = body->find("name");
  if (name == body->end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
  OJson args = OJson::object();
  for (const char* key : {"arguments", "parameters"}) {
    auto a = body->find(key);
    if (a == body->end()) continue;
    if (a->is_string()) {
      auto parsed = parse_json(a->get<std::string>());
      if (!parsed || !parsed->is_object()) return std::nullopt;
      args = *parsed;
    } else if (a->is_object()) {
      args = *a;
    } else {
      return std::nullopt;
    }
    break;
  }
  ToolCall call;
  call.name = name->get<std::string>();
  call.arguments = args.dump();
  if (auto id = j.find("id"); id != j.end() && id->is_string()) call.id = id->get<std::string>();
  return call;
}

AssistantReply parse_hermes(std::string_view out) {
  AssistantReply reply;
  std::string content;
  size_t pos = 0;
  while (true) {
    size_t open = out.find("<tool_call>", pos);
    if (open == std::string_view::npos) {
      content += out.substr(pos);
      break;
    }
    size_t body = open + 11;
    size_t close = out.find("</tool_call>", body);
    std::string_view inner = out.substr(body, close == std::string_view::npos ? std::string_view::npos : close - body);
    auto j = parse_json(trim(inner));
    auto call = j ? call_from_json(*j) : std::nullopt;
    if (!call) {  // not a call: keep the text as it was
      size_t end = close == std::string_view::npos ? out.size() : close + 12;
      content += out.substr(pos, end - pos);
      pos = end;
      if (close == std::string_view::npos) break;
      continue;
    }
    content += out.substr(pos, open - pos);
    reply.tool_calls.push_back(std::move(*call));
    if (close == std::string_view::npos) break;
    pos = close + 12;
  }
  reply.content = trim(content);
  return reply;
}

AssistantReply parse_llama3(std::string_view out) {
  AssistantReply reply;
  std::string text = trim(out);
  std::string_view rest = text;
  if (rest.starts_with("<|python_tag|>")) rest.remove_prefix(14);
  std::vector<ToolCall> calls;
  while (true) {
    size_t used = 0;
    auto j = parse_json_prefix(rest, used);
    if (!j) break;
    auto call = call_from_json(*j);
    if (!call) break;
    calls.push_back(std::move(*call));
    rest.remove_prefix(used);
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
    if (rest.starts_with(";")) rest.remove_prefix(1);
    if (trim(rest).empty()) {
      reply.tool_calls = std::move(calls);
      return reply;
    }
  }
  reply.content = text;  // prose (or JSON that is not a call): content as written
  return reply;
}

AssistantReply parse_mistral(std::string_view out) {
  AssistantReply reply;
  size_t marker = out.find("[TOOL_CALLS]");
  if (marker == std::string_view::npos) {
    reply.content = trim(out);
    return reply;
  }
  std::string_view rest = out.substr(marker + 12);
  std::string before = trim(out.substr(0, marker));
  size_t used = 0;
  if (auto j = parse_json_prefix(rest, used)) {
    std::vector<ToolCall> calls;
    bool ok = true;
    if (j->is_array()) {
      for (const auto& item : *j) {
        auto call = call_from_json(item);
        if (!call) ok = false;
        else calls.push_back(std::move(*call));
      }
    } else if (auto call = call_from_json(*j)) {
      calls.push_back(std::move(*call));
    } else {
      ok = false;
    }
    if (ok && !calls.empty()) {
      reply.tool_calls = std::move(calls);
      reply.content = before;
      return reply;
    }
  }
  // Newer form: [TOOL_CALLS]name[ARGS]{...}[TOOL_CALLS]name2[ARGS]{...}
  std::vector<ToolCall> calls;
  size_t pos = marker;
  while (pos != std::string_view::npos && out.compare(pos, 12, "[TOOL_CALLS]") == 0) {
    size_t args = out.find("[ARGS]", pos + 12);
    if (args == std::string_view::npos) break;
    std::string name = trim(out.substr(pos + 12, args - pos - 12));
    size_t args_used = 0;
    auto j = parse_json_prefix(out.substr(args + 6), args_used);
    if (name.empty() || !j || !j->is_object()) break;
    calls.push_back({"", name, j->dump()});
    size_t next = args + 6 + args_used;
    size_t skip = next;
    while (skip < out.size() && std::isspace(static_cast<unsigned char>(out[skip]))) ++skip;
    pos = skip < out.size() ? skip : std::string_view::npos;
    if (pos == std::string_view::npos) {
      reply.tool_calls = std::move(calls);
      reply.content = before;
      return reply;
    }
  }
  reply.content = trim(out);
  return reply;
}

AssistantReply parse_generic(std::string_view out) {
  AssistantReply reply;
  std::string text = trim(out);
  std::string_view body = text;
  std::string fenced;
  if (size_t fence = text.find("```"); fence != std::string::npos) {
    size_t start = text.find('\n', fence);
    size_t end = start == std::string::npos ? std::string::npos : text.find("```", start);
    if (end != std::string::npos) {
      fenced = trim(std::string_view(text).substr(start + 1, end - start - 1));
      body = fenced;
    }
  }
  auto j = parse_json(body);
  if (j && j->is_object()) {
    std::vector<ToolCall> calls;
    if (auto list = j->find("tool_calls"); list != j->end() && list->is_array()) {
      for (const auto& item : *list)
        if (auto call = call_from_json(item)) calls.push_back(std::move(*call));
    } else if (auto one = j->find("tool_call"); one != j->end()) {
      if (auto call = call_from_json(*one)) calls.push_back(std::move(*call));
    } else if (auto call = call_from_json(*j); call && (j->contains("arguments") || j->contains("parameters"))) {
      calls.push_back(std::move(*call));
    }
    if (!calls.empty()) {
      reply.tool_calls = std::move(calls);
      return reply;
    }
  }
  reply.content = text;
  return reply;
}

}  // namespace

std::string_view tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::Hermes: return "hermes";
    case ToolCallFormat::Llama3Json: return "llama3_json";
    case ToolCallFormat::Mistral: return "mistral";
    case ToolCallFormat::Generic: return "generic";
  }
  return "generic";
}

ToolCallFormat detect_tool_call_format(std::string_view source) {
  if (source.find("<tool_call>") != std::string_view::npos) return ToolCallFormat::Hermes;
  if (source.find("[TOOL_CALLS]") != std::string_view::npos) return ToolCallFormat::Mistral;
  if (source.find("<|python_tag|>") != std::string_view::npos ||
      (source.find("<|start_header_id|>") != std::string_view::npos &&
       source.find("\"parameters\"") != std::string_view::npos))
    return ToolCallFormat::Llama3Json;
  return ToolCallFormat::Generic;
}

AssistantReply parse_tool_calls(std::string_view output, ToolCallFormat format) {
  AssistantReply reply;
  switch (format) {
    case ToolCallFormat::Hermes: reply = parse_hermes(output); break;
    case ToolCallFormat::Llama3Json: reply = parse_llama3(output); break;
    case ToolCallFormat::Mistral: reply = parse_mistral(output); break;
    case ToolCallFormat::Generic: reply = parse_generic(output); break;
  }
  if (reply.tool_calls.empty() && format != ToolCallFormat::Generic) {
    AssistantReply generic = parse_generic(output);
    if (!generic.tool_calls.empty()) reply = std::move(generic);
  }
  for (size_t i = 0; i < reply.tool_calls.size(); ++i)
    if (reply.tool_calls[i].id.empty()) reply.tool_calls[i].id = make_id(output, i);
  return reply;
}

std::string format_tool_call(ToolCallFormat format, const std::string& name, const nlohmann::ordered_json& arguments) {
  OJson call = OJson::object();
  call["name"] = name;
  switch (format) {
    case ToolCallFormat::Hermes:
      call["arguments"] = arguments;
      return "<tool_call>\n" + call.dump() + "\n</tool_call>";
    case ToolCallFormat::Llama3Json:
      call["parameters"] = arguments;
      return call.dump();
    case ToolCallFormat::Mistral:
      call["arguments"] = arguments;
      return "[TOOL_CALLS] [" + call.dump() + "]";
    case ToolCallFormat::Generic:
      call["arguments"] = arguments;
      return OJson{{"tool_calls", OJson::array({call})}}.dump();
  }
  return call.dump();
}

}  // namespace officina
