#include <fmt/format.h>

#include <algorithm>

#include "text/tokenizer_json_parts.h"
#include "text/utf8.h"

namespace officina {

JsonAt JsonAt::child(std::string_view key) const {
  static const Json kNull;
  const std::string shown = utf8_printable(key);
  std::string p = path.empty() ? shown : fmt::format("{}.{}", path, shown);
  if (!value.is_object()) return {kNull, where, std::move(p)};
  auto it = value.find(key);
  return {it == value.end() ? kNull : *it, where, std::move(p)};
}

JsonAt JsonAt::item(size_t index) const { return {value.at(index), where, fmt::format("{}[{}]", path, index)}; }

std::unexpected<Error> JsonAt::error(std::string_view problem) const {
  if (path.empty()) return fail("{}: {}", where, problem);
  return fail("{}: {}: {}", where, path, problem);
}

std::string_view json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unexpected value";
  }
}

Result<std::string> json_get_string(const JsonAt& at) {
  if (!at.value.is_string()) {
    if (!at.present()) return at.error("missing (expected a string)");
    return at.error(fmt::format("expected a string, found {}", json_type_name(at.value)));
  }
  return at.value.get<std::string>();
}

Result<bool> json_get_bool_or(const JsonAt& object, std::string_view key, bool fallback) {
  JsonAt at = object.child(key);
  if (!at.present()) return fallback;
  if (!at.value.is_boolean())
    return at.error(fmt::format("expected true or false, found {}", json_type_name(at.value)));
  return at.value.get<bool>();
}

Result<std::optional<std::string>> json_get_optional_string(const JsonAt& object, std::string_view key) {
  JsonAt at = object.child(key);
  if (!at.present()) return std::optional<std::string>();
  OFFICINA_TRY(std::string s, json_get_string(at));
  return std::optional<std::string>(std::move(s));
}

Result<std::string> json_component_type(const JsonAt& at) {
  if (!at.value.is_object()) return at.error(fmt::format("expected an object, found {}", json_type_name(at.value)));
  return json_get_string(at.child("type"));
}

Result<void> check_utf8_text(std::string_view text, std::string_view where) {
  const size_t bad = utf8_find_invalid(text);
  if (bad == std::string_view::npos) return {};
  const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + bad, '\n'));
  return fail("{}: invalid UTF-8 at byte {} (line {}); the file must be UTF-8 text", where, bad, line);
}

namespace {

// Real files nest Sequences one level deep; the limit keeps a hostile file
// from exhausting the stack.
constexpr int kMaxSequenceDepth = 16;

// Sequence components keep their children under a type-specific key.
template <class ParseOne>
Result<void> for_each_component(const JsonAt& at, std::string_view list_key, ParseOne&& parse_one, int depth = 0) {
  OFFICINA_TRY(std::string type, json_component_type(at));
  if (type != "Sequence") return parse_one(at, type);
  if (depth >= kMaxSequenceDepth) return at.error("Sequence components nested too deeply");
  JsonAt list = at.child(list_key);
  if (!list.value.is_array()) return list.error("expected an array");
  for (size_t i = 0; i < list.value.size(); ++i)
    OFFICINA_CHECK(for_each_component(list.item(i), list_key, parse_one, depth + 1));
  return {};
}

Result<std::string> literal_pattern(const JsonAt& at) {
  if (!at.value.is_object()) return at.error("expected {\"String\": ...} or {\"Regex\": ...}");
  if (at.value.contains("String")) return json_get_string(at.child("String"));
  return at.error("only literal {\"String\": ...} patterns are supported here");
}

}  // namespace

Result<void> parse_json_normalizer(const JsonAt& at, TextPipeline& pipeline) {
  if (!at.present()) return {};
  return for_each_component(at, "normalizers", [&](const JsonAt& c, const std::string& type) -> Result<void> {
    if (type == "Prepend") {
      OFFICINA_TRY(std::string prefix, json_get_string(c.child("prepend")));
      pipeline.normalizer.push_back({NormalizerStep::Kind::Prepend, "", std::move(prefix)});
      return {};
    }
    if (type == "Replace") {
      OFFICINA_TRY(std::string pattern, literal_pattern(c.child("pattern")));
      OFFICINA_TRY(std::string content, json_get_string(c.child("content")));
      if (pattern.empty()) return c.child("pattern").error("empty pattern");
      pipeline.normalizer.push_back({NormalizerStep::Kind::Replace, std::move(pattern), std::move(content)});
      return {};
    }
    return c.error(
        fmt::format("unsupported normalizer '{}' (supported: Sequence, Prepend, Replace)", utf8_printable(type)));
  });
}

Result<void> parse_json_pre_tokenizer(const JsonAt& at, TextPipeline& pipeline, bool* byte_level) {
  if (!at.present()) return {};
  return for_each_component(at, "pretokenizers", [&](const JsonAt& c, const std::string& type) -> Result<void> {
    PreTokenizerStep step;
    if (type == "Split") {
      JsonAt pattern = c.child("pattern");
      if (!pattern.value.is_object() || !pattern.value.contains("Regex"))
        return pattern.error("only {\"Regex\": ...} split patterns are supported");
      OFFICINA_TRY(std::string regex, json_get_string(pattern.child("Regex")));
      auto known = split_pattern_from_regex(regex);
      if (!known)
        return pattern.child("Regex").error(
            "unsupported split regex (supported: the GPT-2, Llama-3 and Qwen2 patterns)");
      OFFICINA_TRY(std::string behavior, json_get_string(c.child("behavior")));
      if (behavior != "Isolated")
        return c.child("behavior").error(fmt::format("unsupported behavior '{}'", utf8_printable(behavior)));
      OFFICINA_TRY(bool invert, json_get_bool_or(c, "invert", false));
      if (invert) return c.child("invert").error("inverted splits are not supported");
      step.kind = PreTokenizerStep::Kind::Split;
      step.pattern = *known;
    } else if (type == "ByteLevel") {
      step.kind = PreTokenizerStep::Kind::ByteLevel;
      OFFICINA_TRY(step.add_prefix_space, json_get_bool_or(c, "add_prefix_space", true));
      OFFICINA_TRY(step.use_regex, json_get_bool_or(c, "use_regex", true));
      *byte_level = true;
    } else if (type == "Digits") {
      step.kind = PreTokenizerStep::Kind::Digits;
      OFFICINA_TRY(step.individual_digits, json_get_bool_or(c, "individual_digits", false));
    } else if (type == "Metaspace") {
      step.kind = PreTokenizerStep::Kind::Metaspace;
      OFFICINA_TRY(auto replacement, json_get_optional_string(c, "replacement"));
      if (replacement) {
        if (replacement->empty()) return c.child("replacement").error("empty replacement");
        step.replacement = *replacement;
      }
      OFFICINA_TRY(auto scheme, json_get_optional_string(c, "prepend_scheme"));
      if (scheme) {
        if (*scheme == "always")
          step.prepend_scheme = PrependScheme::Always;
        else if (*scheme == "first")
          step.prepend_scheme = PrependScheme::First;
        else if (*scheme == "never")
          step.prepend_scheme = PrependScheme::Never;
        else
          return c.child("prepend_scheme").error(fmt::format("unknown prepend_scheme '{}'", utf8_printable(*scheme)));
      } else {
        OFFICINA_TRY(bool add_prefix_space, json_get_bool_or(c, "add_prefix_space", true));
        step.prepend_scheme = add_prefix_space ? PrependScheme::Always : PrependScheme::Never;
      }
      OFFICINA_TRY(step.split, json_get_bool_or(c, "split", true));
    } else {
      return c.error(
          fmt::format("unsupported pre-tokenizer '{}' (supported: Sequence, Split, ByteLevel, Digits, Metaspace)",
                      utf8_printable(type)));
    }
    pipeline.pre_tokenizer.push_back(std::move(step));
    return {};
  });
}

Result<std::optional<std::string>> parse_json_post_processor_bos(const JsonAt& at) {
  std::optional<std::string> bos;
  if (!at.present()) return bos;
  OFFICINA_CHECK(for_each_component(at, "processors", [&](const JsonAt& c, const std::string& type) -> Result<void> {
    if (type != "TemplateProcessing") return {};  // ByteLevel, RobertaProcessing, ...: no BOS
    JsonAt single = c.child("single");
    if (!single.value.is_array()) return single.error("expected an array");
    if (single.value.empty()) return {};
    JsonAt first = single.item(0);
    if (!first.value.is_object() || !first.value.contains("SpecialToken")) return {};
    OFFICINA_TRY(std::string id, json_get_string(first.child("SpecialToken").child("id")));
    // The template names an entry of "special_tokens", whose "tokens" hold
    // the vocabulary text (normally the same string).
    JsonAt entry = c.child("special_tokens").child(id);
    JsonAt tokens = entry.child("tokens");
    if (tokens.value.is_array() && tokens.value.size() == 1) {
      OFFICINA_TRY(std::string token, json_get_string(tokens.item(0)));
      bos = std::move(token);
    } else {
      bos = std::move(id);
    }
    return {};
  }));
  return bos;
}

}  // namespace officina
