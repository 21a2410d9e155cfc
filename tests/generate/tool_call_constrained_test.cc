// A required tool call, held to the model's format and the tool's schema:
// whatever a random-weight model samples, the reply parses as a call to one
// of the tools with arguments valid against that tool's parameters.
#include <gtest/gtest.h>

#include "generate/generator.h"
#include "model/model_test_util.h"
#include "text/json_schema_validator.h"
#include "text/tool_call_grammar.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

const OJson& tools() {
  static const OJson t = OJson::parse(R"([
    {"type": "function", "function": {"name": "get_machine_status", "parameters": {"type": "object",
      "properties": {"machine_id": {"type": "string", "enum": ["press-1", "press-3", "welder-2"]}},
      "required": ["machine_id"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "get_oee", "parameters": {"type": "object",
      "properties": {"line": {"type": "integer"}, "period": {"type": "string", "enum": ["today", "week"]},
                     "note": {"type": "string", "maxLength": 6}},
      "required": ["line"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "list_alarms", "parameters": {}}}])");
  return t;
}

const OJson* schema_of(const std::string& name) {
  for (const auto& t : tools())
    if (t["function"]["name"] == name) return &t["function"]["parameters"];
  return nullptr;
}

TEST(ToolCallGrammar, EveryFormatYieldsSchemaValidCalls) {
  test::TempDir dir;
  ModelConfig c = test::small_config();
  c.context_length = 512;
  auto model = test::make_model_file(dir.path("random.gguf"), c, 5);
  ASSERT_TRUE(model);
  ThreadPool pool(2);
  Transformer transformer(*model, pool);
  auto cache = KvCache::create(model->config(), 1, 512);
  ASSERT_TRUE(cache);
  GrammarTokenFilter filter(model->tokenizer());
  const auto prompt = model->tokenizer().encode("Call a tool:", true);
  for (auto format : {ToolCallFormat::Hermes, ToolCallFormat::Llama3Json, ToolCallFormat::Mistral, ToolCallFormat::Generic}) {
    for (std::string only : {"", "get_oee"}) {
      SCOPED_TRACE(std::string(tool_call_format_name(format)) + " only=" + only);
      auto gbnf = tool_call_gbnf(format, tools(), only);
      ASSERT_TRUE(gbnf) << gbnf.error().message;
      auto grammar = Grammar::parse(*gbnf, "tool grammar");
      ASSERT_TRUE(grammar) << grammar.error().message << "\n" << *gbnf;
      int completed = 0;
      for (int seed = 0; seed < 12; ++seed) {
        GenerateOptions options;
        options.max_tokens = 120;
        options.sampling.seed = static_cast<uint64_t>(seed);
        options.sampling.temperature = 1.0f;
        options.grammar = &*grammar;
        options.token_filter = &filter;
        auto result = generate(transformer, *cache, 0, prompt, options);
        ASSERT_TRUE(result) << result.error().message;
        if (!result->grammar_complete) continue;
        ++completed;
        AssistantReply reply = parse_tool_calls(result->text, format);
        ASSERT_FALSE(reply.tool_calls.empty()) << result->text;
        for (const auto& call : reply.tool_calls) {
          const OJson* schema = schema_of(call.name);
          ASSERT_NE(schema, nullptr) << call.name;
          if (!only.empty()) EXPECT_EQ(call.name, only);
          test::SchemaValidator validator(nlohmann::json::parse(schema->empty() ? "{\"type\": \"object\"}" : schema->dump()));
          EXPECT_EQ(validator.check(nlohmann::json::parse(call.arguments)), "") << result->text;
        }
      }
      EXPECT_GE(completed, 8);
    }
  }
}

TEST(ToolCallGrammar, BadToolsAreClearErrors) {
  EXPECT_FALSE(tool_call_gbnf(ToolCallFormat::Hermes, OJson::array()));
  auto unknown = tool_call_gbnf(ToolCallFormat::Hermes, tools(), "reboot_plant");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("reboot_plant"), std::string::npos);
  auto nameless = tool_call_gbnf(ToolCallFormat::Hermes, OJson::parse(R"([{"type": "function", "function": {}}])"));
  ASSERT_FALSE(nameless);
  auto bad_schema = tool_call_gbnf(ToolCallFormat::Hermes, OJson::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "string", "pattern": "^a+$"}}}])"));
  ASSERT_FALSE(bad_schema);
  EXPECT_NE(bad_schema.error().message.find("tools[0] (f)"), std::string::npos) << bad_schema.error().message;
}

}  // namespace
}  // namespace officina
