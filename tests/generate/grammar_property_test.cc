// The property the issue asks for: for 1000 random JSON schemas from a
// seeded generator, constrained sampling from a random-weight model yields
// JSON that an independent validator (tests/text/json_schema_validator.h,
// which knows nothing of grammars) finds valid against its schema.
// A sample cut off by max_tokens proves nothing either way; most must finish.
// SHOW_INCOMPLETE=1 prints the ones that did not.
#include <gtest/gtest.h>

#include <random>

#include "generate/generator.h"
#include "model/model_test_util.h"
#include "text/json_schema_grammar.h"
#include "text/json_schema_validator.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

// Random schemas over the supported keywords. Strings always get a small
// maxLength and numbers are short by construction: a random model almost
// never closes an unbounded string by itself.
class SchemaGenerator {
 public:
  explicit SchemaGenerator(uint64_t seed) : rng_(seed) {}

  OJson schema() {
    defs_ = OJson::object();
    OJson s = value(0);
    if (!defs_.empty()) s["$defs"] = defs_;
    return s;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  bool chance(int percent) { return pick(100) < percent; }

  OJson primitive(const std::string& type) {
    OJson s{{"type", type}};
    if (type == "string") {
      int max = 1 + pick(6);
      s["maxLength"] = max;
      if (chance(30)) s["minLength"] = pick(max + 1);
    }
    return s;
  }

  OJson scalar() {
    static const char* kTypes[] = {"string", "integer", "number", "boolean", "null"};
    return primitive(kTypes[pick(5)]);
  }

  OJson literal() {
    switch (pick(6)) {
      case 0: return OJson("v" + std::to_string(pick(100)));
      case 1: return OJson(pick(1000) - 500);
      case 2: return OJson(pick(2) == 1);
      case 3: return OJson(nullptr);
      case 4: return OJson("é\"q\\" + std::to_string(pick(9)));
      default: return OJson::array({pick(10), "x"});
    }
  }

  OJson value(int depth) {
    int kind = depth >= 3 ? pick(4) : pick(11);
    switch (kind) {
      case 0: case 1: return scalar();
      case 2: {
        OJson e = OJson::array();
        for (int i = 0, n = 1 + pick(4); i < n; ++i) e.push_back(literal());
        return OJson{{"enum", e}};
      }
      case 3: return chance(50) ? OJson{{"const", literal()}} : OJson{{"type", OJson::array({"integer", "null"})}};
      case 4: case 5: case 6: return object(depth);
      case 7: case 8: {
        OJson s{{"type", "array"}, {"items", value(depth + 1)}};
        int min = pick(3);
        if (chance(60)) s["minItems"] = min;
        s["maxItems"] = min + pick(3);
        return s;
      }
      case 9: {
        // oneOf branches of distinct kinds, so "exactly one" holds.
        OJson branches = OJson::array({primitive(chance(50) ? "string" : "boolean"), object(depth + 1)});
        return OJson{{chance(50) ? "anyOf" : "oneOf", branches}};
      }
      default: {
        std::string name = "d" + std::to_string(defs_.size());
        defs_[name] = true;  // reserve the name before the body is drawn
        defs_[name] = value(depth + 1);
        return OJson{{"$ref", "#/$defs/" + name}};
      }
    }
  }

  OJson object(int depth) {
    OJson props = OJson::object();
    OJson required = OJson::array();
    for (int i = 0, n = pick(4); i < n; ++i) {
      std::string name = std::string(1, static_cast<char>('a' + pick(6))) + (chance(30) ? "_x" : "");
      if (props.contains(name)) continue;
      props[name] = value(depth + 1);
      if (chance(50)) required.push_back(name);
    }
    OJson s{{"type", "object"}, {"properties", props}};
    if (!required.empty()) s["required"] = required;
    switch (pick(4)) {
      case 0: s["additionalProperties"] = false; break;
      case 1: s["additionalProperties"] = scalar(); break;
      default: break;
    }
    return s;
  }

  std::mt19937_64 rng_;
  OJson defs_;
};

TEST(GrammarProperty, RandomSchemasGiveValidJsonFromARandomModel) {
  test::TempDir dir;
  ModelConfig c = test::small_config();
  c.context_length = 512;
  auto model = test::make_model_file(dir.path("random.gguf"), c, 11);
  ASSERT_TRUE(model);
  ThreadPool pool(2);
  Transformer transformer(*model, pool);
  auto cache = KvCache::create(model->config(), 1, 512);
  ASSERT_TRUE(cache) << cache.error().message;
  GrammarTokenFilter filter(model->tokenizer());
  const std::vector<int32_t> prompt = model->tokenizer().encode("JSON:", true);

  SchemaGenerator generator(2024);
  int completed = 0, total = 1000;
  int64_t masked = 0, tokens = 0;
  for (int i = 0; i < total; ++i) {
    const OJson schema = generator.schema();
    auto grammar = json_schema_grammar(schema.dump(), "random schema");
    ASSERT_TRUE(grammar) << grammar.error().message << "\n" << schema.dump();
    GenerateOptions options;
    options.max_tokens = 160;
    options.sampling.seed = static_cast<uint64_t>(i);
    options.sampling.temperature = 1.0f;
    options.grammar = &*grammar;
    options.token_filter = &filter;
    auto result = generate(transformer, *cache, 0, prompt, options);
    ASSERT_TRUE(result) << result.error().message << "\n" << schema.dump();
    masked += result->grammar_masked_steps;
    tokens += static_cast<int64_t>(result->tokens.size());
    if (!result->grammar_complete) {
      if (std::getenv("SHOW_INCOMPLETE")) std::printf("incomplete: %s\n  schema %s\n", result->text.c_str(), schema.dump().c_str());
      continue;
    }
    ++completed;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(result->text);
    } catch (const std::exception& e) {
      FAIL() << "not JSON: " << result->text << "\nschema: " << schema.dump() << "\n" << e.what();
    }
    test::SchemaValidator validator(nlohmann::json::parse(schema.dump()));
    std::string why = validator.check(value);
    ASSERT_EQ(why, "") << "output: " << result->text << "\nschema: " << schema.dump();
  }
  std::printf("completed %d of %d; %lld tokens, %lld needed the full mask\n", completed, total,
              static_cast<long long>(tokens), static_cast<long long>(masked));
  // Most incomplete samples are extra-property names (unbounded strings) a
  // random model never closes; about 9 in 10 finish.
  EXPECT_GE(completed, total * 85 / 100);
}

}  // namespace
}  // namespace officina
