#include "text/json_schema_grammar.h"

#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "text/utf8.h"

namespace officina {

namespace {

using OJson = nlohmann::ordered_json;

// The shared building blocks; each names the blocks it uses.
struct Primitive {
  const char* name;
  const char* body;
  std::vector<const char*> uses;
};

const std::vector<Primitive>& primitives() {
  static const std::vector<Primitive> kPrimitives = {
      {"ws", R"(" "?)", {}},
      {"json-char", R"([^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" json-hex4))", {"json-hex4"}},
      // \uXXXX without surrogates (D800-DFFF).
      {"json-hex4", R"([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})", {}},
      {"json-string", R"("\"" json-char* "\"")", {"json-char"}},
      {"json-integer", R"("-"? ("0" | [1-9] [0-9]{0,15}))", {}},
      {"json-number", R"(json-integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?)", {"json-integer"}},
      {"json-boolean", R"("true" | "false")", {}},
      {"json-null", R"("null")", {}},
      {"json-value", "json-object | json-array | json-string | json-number | json-boolean | json-null",
       {"json-object", "json-array", "json-string", "json-number", "json-boolean", "json-null"}},
      {"json-object", R"("{" ws (json-member (ws "," ws json-member)* ws)? "}")", {"ws", "json-member"}},
      {"json-member", R"(json-string ws ":" ws json-value)", {"json-string", "ws", "json-value"}},
      {"json-array", R"("[" ws (json-value (ws "," ws json-value)* ws)? "]")", {"ws", "json-value"}},
  };
  return kPrimitives;
}

// A GBNF string literal for arbitrary UTF-8 text.
std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) out += fmt::format("\\x{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string repeat(const std::string& expr, uint64_t min, std::optional<uint64_t> max) {
  if (max && *max == 0) return "";
  if (!max) return min == 0 ? expr + "*" : min == 1 ? expr + "+" : fmt::format("{}{{{},}}", expr, min);
  if (min == *max) return min == 1 ? expr : fmt::format("{}{{{}}}", expr, min);
  if (min == 0 && *max == 1) return expr + "?";
  return fmt::format("{}{{{},{}}}", expr, min, *max);
}

const std::set<std::string, std::less<>> kAnnotations = {
    "title", "description", "default", "examples", "format", "$schema", "$id", "$comment", "readOnly",
    "writeOnly", "deprecated", "contentMediaType", "contentEncoding", "contentSchema", "$anchor",
    "$defs", "definitions", "$vocabulary", "$dynamicAnchor"};
const std::set<std::string, std::less<>> kUnsupported = {
    "pattern", "patternProperties", "propertyNames", "minProperties", "maxProperties", "dependentRequired",
    "dependentSchemas", "dependencies", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "allOf", "not", "if", "then", "else", "uniqueItems", "contains", "minContains",
    "maxContains", "prefixItems", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
    "$dynamicRef", "$recursiveRef", "$recursiveAnchor"};

// Nesting depth of a JSON value, without recursion (enum values are dumped
// and compared recursively by nlohmann, so a hostile depth must be refused
// before that).
size_t value_depth(const OJson& v) {
  size_t deepest = 0;
  std::vector<std::pair<const OJson*, size_t>> stack{{&v, 1}};
  while (!stack.empty()) {
    auto [j, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    if (j->is_structured())
      for (const auto& child : *j) stack.push_back({&child, d + 1});
  }
  return deepest;
}

class Converter {
 public:
  Converter(const OJson& root, std::string_view where, const JsonSchemaLimits& limits)
      : root_(root), where_(where), limits_(limits) {}

  Result<std::string> run() {
    refs_[""] = "root";
    names_.insert("root");
    rules_.emplace_back("root", "");
    OFFICINA_TRY(std::string body, visit(root_, "", "root", 0));
    rules_[0].second = std::move(body);
    std::string out;
    for (const auto& [name, rule_body] : rules_) out += fmt::format("{} ::= {}\n", name, rule_body);
    return out;
  }

 private:
  template <class... Args>
  std::unexpected<Error> error(const std::string& path, fmt::format_string<Args...> format, Args&&... args) const {
    return std::unexpected(Error{fmt::format("{}: {}: {}", where_, path.empty() ? "/" : path,
                                             fmt::format(format, std::forward<Args>(args)...))});
  }

  std::string use(std::string_view name) {
    if (used_.insert(std::string(name)).second) {
      for (const Primitive& p : primitives()) {
        if (p.name != name) continue;
        rules_.emplace_back(p.name, p.body);
        for (const char* dep : p.uses) use(dep);
      }
    }
    return std::string(name);
  }

  // A fresh rule name from a hint (a property or definition name).
  std::string new_name(std::string_view hint) {
    std::string base;
    for (char c : hint) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (ok) base += c;
      else if (!base.empty() && base.back() != '-') base += '-';
      if (base.size() >= 32) break;
    }
    while (!base.empty() && base.back() == '-') base.pop_back();
    if (base.empty() || base.starts_with("json") || base == "ws" || base == "root") base = "s-" + base;
    std::string name = base;
    for (int i = 2; names_.contains(name); ++i) name = fmt::format("{}-{}", base, i);
    names_.insert(name);
    return name;
  }

  Result<std::string> add_rule(std::string_view hint, std::string body, const std::string& path) {
    if (rules_.size() >= limits_.max_rules)
      return error(path, "the schema needs more than {} grammar rules", limits_.max_rules);
    std::string name = new_name(hint);
    rules_.emplace_back(name, std::move(body));
    return name;
  }

  // A rule for a sub-schema, named after `hint`.
  Result<std::string> rule_for(const OJson& schema, const std::string& path, std::string_view hint, int depth) {
    OFFICINA_TRY(std::string body, visit(schema, path, hint, depth));
    if (names_.contains(body) || used_.contains(body)) return body;  // already a single rule
    return add_rule(hint, std::move(body), path);
  }

  Result<std::optional<uint64_t>> count(const OJson& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return std::optional<uint64_t>{};
    const OJson& v = s[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      return error(path, "'{}' must be a non-negative integer", key);
    uint64_t n = v.get<uint64_t>();
    if (n > limits_.max_items) return error(path, "'{}' of {} is above the limit of {}", key, n, limits_.max_items);
    return std::optional<uint64_t>(n);
  }

  Result<std::string> visit(const OJson& s, const std::string& path, std::string_view hint, int depth) {
    if (depth > limits_.max_depth) return error(path, "schema nested deeper than {} levels", limits_.max_depth);
    if (s.is_boolean()) {
      if (!s.get<bool>()) return error(path, "schema 'false' accepts no value");
      return use("json-value");
    }
    if (!s.is_object()) return error(path, "a schema must be an object or a boolean, got {}", s.type_name());
    std::vector<std::string> validation;
    for (const auto& [key, value] : s.items()) {
      if (kUnsupported.contains(key))
        return error(path, "keyword '{}' is not supported (it would change which values are valid)", key);
      if (!kAnnotations.contains(key)) validation.push_back(key);
    }
    auto only = [&](std::initializer_list<std::string_view> allowed) -> std::string {
      for (const std::string& k : validation)
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) return k;
      return "";
    };
    if (s.contains("$ref")) {
      if (std::string other = only({"$ref"}); !other.empty())
        return error(path, "keyword '{}' beside '$ref' is not supported", other);
      return visit_ref(s["$ref"], path, depth);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      if (std::string other = only({key}); !other.empty())
        return error(path, "keyword '{}' beside '{}' is not supported", other, key);
      const OJson& list = s[key];
      if (!list.is_array() || list.empty()) return error(path, "'{}' must be a non-empty array", key);
      std::string body;
      for (size_t i = 0; i < list.size(); ++i) {
        OFFICINA_TRY(std::string alt, rule_for(list[i], fmt::format("{}/{}/{}", path, key, i), hint, depth + 1));
        body += (i ? " | " : "") + alt;
      }
      return body;
    }
    if (s.contains("enum") || s.contains("const")) {
      if (std::string other = only({"enum", "const", "type"}); !other.empty())
        return error(path, "keyword '{}' beside 'enum'/'const' is not supported", other);
      return visit_values(s, path);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      const OJson& t = s["type"];
      if (t.is_string()) types.push_back(t.get<std::string>());
      else if (t.is_array() && !t.empty())
        for (const auto& e : t) {
          if (!e.is_string()) return error(path, "'type' must be a string or a list of strings");
          types.push_back(e.get<std::string>());
        }
      else return error(path, "'type' must be a string or a non-empty list of strings");
    } else {
      // Without a type, the keywords say what the value is meant to be; a
      // value of that kind satisfies the schema.
      auto has = [&](std::initializer_list<const char*> keys) {
        for (const char* k : keys) if (s.contains(k)) return true;
        return false;
      };
      if (has({"properties", "required", "additionalProperties"})) types.push_back("object");
      else if (has({"items", "minItems", "maxItems"})) types.push_back("array");
      else if (has({"minLength", "maxLength"})) types.push_back("string");
      else return use("json-value");
    }
    std::string body;
    for (size_t i = 0; i < types.size(); ++i) {
      OFFICINA_TRY(std::string alt, visit_type(s, types[i], path, hint, depth));
      body += (i ? " | " : "") + (types.size() > 1 ? "(" + alt + ")" : alt);
    }
    return body;
  }

  Result<std::string> visit_type(const OJson& s, const std::string& type, const std::string& path,
                                 std::string_view hint, int depth) {
    if (type == "object") return visit_object(s, path, hint, depth);
    if (type == "array") return visit_array(s, path, hint, depth);
    if (type == "string") {
      OFFICINA_TRY(auto min, count(s, "minLength", path));
      OFFICINA_TRY(auto max, count(s, "maxLength", path));
      if (!min && !max) return use("json-string");
      if (max && min && *max < *min) return error(path, "maxLength is below minLength");
      use("json-char");
      return "\"\\\"\" " + repeat("json-char", min.value_or(0), max) + " \"\\\"\"";
    }
    if (type == "number") return use("json-number");
    if (type == "integer") return use("json-integer");
    if (type == "boolean") return use("json-boolean");
    if (type == "null") return use("json-null");
    return error(path, "unknown type '{}'", type);
  }

  Result<std::string> visit_values(const OJson& s, const std::string& path) {
    // Depth first: copying, dumping or comparing a value recurses.
    for (const char* key : {"enum", "const"})
      if (s.contains(key) && value_depth(s[key]) > static_cast<size_t>(limits_.max_depth) + 1)
        return error(path, "an 'enum'/'const' value is nested deeper than {} levels", limits_.max_depth);
    std::vector<const OJson*> values;
    if (s.contains("const")) values.push_back(&s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) return error(path, "'enum' must be a non-empty array");
      for (const auto& v : s["enum"]) values.push_back(&v);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      const OJson& t = s["type"];
      if (t.is_string()) types.push_back(t.get<std::string>());
      else if (t.is_array()) for (const auto& e : t) if (e.is_string()) types.push_back(e.get<std::string>());
    }
    auto type_ok = [&](const OJson& v) {
      if (types.empty()) return true;
      for (const std::string& t : types) {
        if ((t == "string" && v.is_string()) || (t == "number" && v.is_number()) ||
            (t == "integer" && v.is_number_integer()) || (t == "boolean" && v.is_boolean()) ||
            (t == "null" && v.is_null()) || (t == "object" && v.is_object()) || (t == "array" && v.is_array()))
          return true;
      }
      return false;
    };
    std::string body;
    for (const OJson* v : values) {
      if (!type_ok(*v)) continue;
      if (s.contains("const") && s.contains("enum") && *v != s["const"]) continue;
      body += (body.empty() ? "" : " | ") + gbnf_literal(v->dump());
    }
    if (body.empty()) return error(path, "no value of 'enum'/'const' satisfies the schema");
    return body;
  }

  Result<std::string> visit_ref(const OJson& ref, const std::string& path, int depth) {
    if (!ref.is_string()) return error(path, "'$ref' must be a string");
    std::string target = ref.get<std::string>();
    if (!target.starts_with("#")) return error(path, "only local '$ref' (\"#/...\") is supported, got '{}'", target);
    std::string pointer = target.substr(1);
    if (auto it = refs_.find(pointer); it != refs_.end()) return it->second;
    const OJson* resolved = nullptr;
    try {
      OJson::json_pointer p(pointer);
      if (root_.contains(p)) resolved = &root_.at(p);
    } catch (const std::exception&) {
    }
    if (!resolved) return error(path, "cannot resolve '$ref' \"{}\"", target);
    std::string hint = pointer.substr(pointer.rfind('/') + 1);
    std::string name = new_name(hint);
    refs_[pointer] = name;
    size_t index = rules_.size();
    rules_.emplace_back(name, "");
    OFFICINA_TRY(std::string body, visit(*resolved, pointer, name, depth + 1));
    rules_[index].second = std::move(body);
    return name;
  }

  Result<std::string> visit_array(const OJson& s, const std::string& path, std::string_view hint, int depth) {
    OFFICINA_TRY(auto min, count(s, "minItems", path));
    OFFICINA_TRY(auto max, count(s, "maxItems", path));
    if (min && max && *max < *min) return error(path, "maxItems is below minItems");
    std::string item = use("json-value");
    if (s.contains("items")) {
      if (s["items"].is_array()) return error(path + "/items", "'items' as a list (tuple validation) is not supported");
      OFFICINA_TRY(item, rule_for(s["items"], path + "/items", std::string(hint) + "-item", depth + 1));
    }
    use("ws");
    if (max && *max == 0) return std::string(R"("[" ws "]")");
    const uint64_t lo = min.value_or(0);
    std::optional<uint64_t> more_max;
    if (max) more_max = *max - 1;
    std::string more = repeat("(ws \",\" ws " + item + ")", lo > 0 ? lo - 1 : 0, more_max);
    std::string items = item + (more.empty() ? "" : " " + more) + " ws";
    return lo == 0 ? "\"[\" ws (" + items + ")? \"]\"" : "\"[\" ws " + items + " \"]\"";
  }

  Result<std::string> visit_object(const OJson& s, const std::string& path, std::string_view hint, int depth) {
    std::vector<std::pair<std::string, std::string>> props;  // name, key-value expression
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return error(path, "'required' must be an array of strings");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) return error(path, "'required' must be an array of strings");
        required.insert(r.get<std::string>());
      }
    }
    use("ws");
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) return error(path, "'properties' must be an object");
      for (const auto& [name, sub] : s["properties"].items()) {
        const std::string sub_path = path + "/properties/" + name;
        OFFICINA_TRY(std::string value, rule_for(sub, sub_path, name, depth + 1));
        props.emplace_back(name, gbnf_literal(OJson(name).dump()) + " ws \":\" ws " + value);
      }
    }
    for (const std::string& r : required) {
      bool declared = std::any_of(props.begin(), props.end(), [&](const auto& p) { return p.first == r; });
      if (!declared) return error(path, "required property '{}' is not in 'properties'", r);
    }
    std::string extra;  // one extra key-value, empty when none are allowed
    if (s.contains("additionalProperties")) {
      const OJson& a = s["additionalProperties"];
      if (!(a.is_boolean() && !a.get<bool>())) {
        OFFICINA_TRY(std::string value, rule_for(a, path + "/additionalProperties", std::string(hint) + "-extra", depth + 1));
        OFFICINA_TRY(std::string key, key_rule(props, path, hint));
        extra = key + " ws \":\" ws " + value;
      }
    }
    const std::string extras = extra.empty() ? "" : "(ws \",\" ws " + extra + ")*";
    // rest[k]: properties k.. after something has been written (each with
    // its comma); first: the choice of the first property written.
    std::string next = extras;
    std::vector<std::string> rest(props.size() + 1);
    rest[props.size()] = extras;
    for (size_t k = props.size(); k-- > 1;) {  // rest[0] is never needed
      std::string item = "ws \",\" ws " + props[k].second;
      std::string body = required.contains(props[k].first) ? item : "(" + item + ")?";
      if (!rest[k + 1].empty()) body += " " + rest[k + 1];
      OFFICINA_TRY(rest[k], add_rule(std::string(hint) + "-rest", std::move(body), path));
    }
    std::string first;
    bool all_optional = true;
    for (size_t j = 0; j < props.size(); ++j) {
      first += (first.empty() ? "" : " | ") + props[j].second + (rest[j + 1].empty() ? "" : " " + rest[j + 1]) + " ws";
      if (required.contains(props[j].first)) {
        all_optional = false;
        break;
      }
    }
    if (all_optional && !extra.empty()) first += (first.empty() ? "" : " | ") + extra + " " + extras + " ws";
    if (first.empty()) return std::string(R"("{" ws "}")");
    return "\"{\" ws (" + first + ")" + (all_optional ? "?" : "") + " \"}\"";
  }

  // The key of an extra property: any string without escapes that is not one
  // of the declared names (a trie over their characters: the string may
  // leave the trie at any point, but may only end inside it at a node that
  // is not a declared name).
  Result<std::string> key_rule(const std::vector<std::pair<std::string, std::string>>& props,
                               const std::string& path, std::string_view hint) {
    if (props.empty()) return use("json-string");
    struct TrieNode {
      std::map<char32_t, size_t> children;
      bool terminal = false;
    };
    std::vector<TrieNode> trie(1);
    for (const auto& [name, unused] : props) {
      size_t node = 0;
      for (size_t i = 0; i < name.size();) {
        Utf8Char c = utf8_decode(name, i);
        i += c.length;
        auto it = trie[node].children.find(c.code_point);
        if (it == trie[node].children.end()) {
          trie.emplace_back();
          it = trie[node].children.emplace(c.code_point, trie.size() - 1).first;
        }
        node = it->second;
      }
      trie[node].terminal = true;
    }
    if (rules_.size() + trie.size() + 1 > limits_.max_rules)
      return error(path, "the schema needs more than {} grammar rules", limits_.max_rules);
    const std::string free = new_name(std::string(hint) + "-key-free");
    rules_.emplace_back(free, R"([^"\\\x00-\x1F]* "\"")");
    std::vector<std::string> names(trie.size());
    for (size_t i = 0; i < trie.size(); ++i) names[i] = new_name(std::string(hint) + "-key");
    for (size_t i = 0; i < trie.size(); ++i) {
      std::string cls = "[^\"\\\\\\x00-\\x1F";
      std::string body;
      for (const auto& [cp, child] : trie[i].children) {
        // Extra keys have no escapes, so a declared name holding a quote,
        // backslash or control character can never be spelled: no branch.
        if (cp == U'"' || cp == U'\\' || cp < 0x20) continue;
        std::string ch = fmt::format("\\U{:08X}", static_cast<uint32_t>(cp));
        cls += ch;
        body += (body.empty() ? "" : " | ") + ("[" + ch + "] " + names[child]);
      }
      body += (body.empty() ? "" : " | ") + cls + "] " + free;
      if (!trie[i].terminal) body += " | \"\\\"\"";
      rules_.emplace_back(names[i], std::move(body));
    }
    return "\"\\\"\" " + names[0];
  }

  const OJson& root_;
  std::string where_;
  JsonSchemaLimits limits_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> names_;
  std::set<std::string> used_;
  std::unordered_map<std::string, std::string> refs_;
};

}  // namespace

Result<std::string> json_schema_json_to_gbnf(const nlohmann::ordered_json& schema, std::string_view where,
                                        const JsonSchemaLimits& limits) {
  try {
    return Converter(schema, where, limits).run();
  } catch (const std::exception& e) {  // nlohmann type errors on odd values
    return fail("{}: {}", where, e.what());
  }
}

Result<std::string> json_schema_to_gbnf(std::string_view schema_text, std::string_view where,
                                        const JsonSchemaLimits& limits) {
  OJson schema;
  try {
    schema = OJson::parse(schema_text);
  } catch (const std::exception& e) {
    return fail("{}: invalid JSON: {}", where, e.what());
  }
  return json_schema_json_to_gbnf(schema, where, limits);
}

Result<Grammar> json_schema_grammar(std::string_view schema_text, std::string_view where,
                                    const JsonSchemaLimits& limits) {
  OFFICINA_TRY(std::string gbnf, json_schema_to_gbnf(schema_text, where, limits));
  auto grammar = Grammar::parse(gbnf, fmt::format("{} (as a grammar)", where));
  if (!grammar) return std::unexpected(grammar.error());
  return grammar;
}

std::string json_value_gbnf() {
  auto g = json_schema_json_to_gbnf(OJson::object(), "json");
  return *g;
}

std::string json_object_gbnf() {
  auto g = json_schema_json_to_gbnf(OJson{{"type", "object"}, {"additionalProperties", true}}, "json");
  return *g;
}

}  // namespace officina
