// Reading OpenAI requests: the prompt through the chat template, sampling
// defaults, grammars for tool_choice and response_format, and a 400 naming
// the parameter for every malformed field.
#include "serve/openai_request.h"

#include <gtest/gtest.h>

#include "model/model_chat_template.h"
#include "serve/adapter_registry.h"
#include "serve/openai_response.h"
#include "serve_test_util.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

struct Context {
  test::ServeFixture f{1};
  std::optional<ModelChatTemplate> tmpl;
  std::unique_ptr<GrammarTokenFilter> filter;
  ServeContext ctx;
  Context() {
    auto t = model_chat_template(*f.model);
    EXPECT_TRUE(t.has_value());
    tmpl = std::move(*t);
    filter = std::make_unique<GrammarTokenFilter>(f.model->tokenizer());
    ctx.model = f.model.get();
    ctx.chat_template = &tmpl->tmpl;
    ctx.render = chat_render_options(*f.model);
    ctx.tool_format = detect_tool_call_format(tmpl->tmpl.source());
    ctx.token_filter = filter.get();
    ctx.context = 256;
  }
};

OJson chat(OJson extra = OJson::object()) {
  OJson body = {{"model", "base"}, {"messages", {{{"role", "user"}, {"content", "Hello"}}}}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  return body;
}

const OJson kTools = OJson::parse(R"([{"type": "function", "function": {"name": "get_oee",
  "parameters": {"type": "object", "properties": {"line": {"type": "integer"}}, "required": ["line"]}}}])");

TEST(OpenAiRequest, ChatRendersTheTemplateAndAppliesOpenAiDefaults) {
  Context c;
  auto job = parse_chat_request(chat(), c.ctx);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  auto rendered = c.tmpl->tmpl.render(OJson::parse(R"([{"role": "user", "content": "Hello"}])"), OJson(),
                                      [&] { auto o = c.ctx.render; o.add_generation_prompt = true; return o; }());
  ASSERT_TRUE(rendered.has_value());
  std::string prompt_text = c.f.model->tokenizer().decode(job->prompt, false);
  EXPECT_NE(prompt_text.find("Hello"), std::string::npos);
  EXPECT_EQ(job->decode.sampling.temperature, 1.0f);
  EXPECT_EQ(job->decode.sampling.top_p, 1.0f);
  EXPECT_EQ(job->decode.sampling.top_k, 0);
  EXPECT_EQ(job->decode.max_tokens, 256 - static_cast<int64_t>(job->prompt.size()));
  EXPECT_FALSE(job->decode.grammar);
  // Content parts and the developer role.
  auto parts = parse_chat_request(
      chat({{"messages", OJson::parse(R"([{"role": "developer", "content": "Be brief"},
        {"role": "user", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}])")}}),
      c.ctx);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_NE(c.f.model->tokenizer().decode(parts->prompt, false).find("Hel\nlo"), std::string::npos);
}

TEST(OpenAiRequest, SamplingStopLogprobsAndLimitsAreRead) {
  Context c;
  auto job = parse_chat_request(chat({{"temperature", 0}, {"top_p", 0.5}, {"seed", 42}, {"n", 3}, {"stop", {"a", "b"}},
                                      {"max_tokens", 10}, {"logprobs", true}, {"top_logprobs", 4}, {"stream", true},
                                      {"stream_options", {{"include_usage", true}}}}),
                                c.ctx);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->decode.sampling.temperature, 0.0f);
  EXPECT_EQ(job->decode.sampling.top_p, 0.5f);
  EXPECT_EQ(job->seed, 42u);
  EXPECT_EQ(job->n, 3);
  EXPECT_EQ(job->decode.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(job->decode.max_tokens, 10);
  EXPECT_EQ(job->decode.top_logprobs, 4);
  EXPECT_TRUE(job->stream && job->include_usage);
  auto newer = parse_chat_request(chat({{"max_completion_tokens", 7}, {"max_tokens", 9}}), c.ctx);
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->decode.max_tokens, 7);
}

TEST(OpenAiRequest, ToolChoiceAndResponseFormatSetGrammars) {
  Context c;
  auto forced = parse_chat_request(
      chat({{"tools", kTools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_oee"}}}}}}), c.ctx);
  ASSERT_TRUE(forced.has_value()) << forced.error().message;
  EXPECT_TRUE(forced->tool_call_forced && forced->parse_tool_calls && forced->decode.grammar);
  auto required = parse_chat_request(chat({{"tools", kTools}, {"tool_choice", "required"}}), c.ctx);
  ASSERT_TRUE(required.has_value());
  EXPECT_TRUE(required->decode.grammar);
  auto automatic = parse_chat_request(chat({{"tools", kTools}}), c.ctx);
  ASSERT_TRUE(automatic.has_value());
  EXPECT_TRUE(automatic->parse_tool_calls);
  EXPECT_FALSE(automatic->decode.grammar);
  auto none = parse_chat_request(chat({{"tools", kTools}, {"tool_choice", "none"}}), c.ctx);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->parse_tool_calls);
  auto object = parse_chat_request(chat({{"response_format", {{"type", "json_object"}}}}), c.ctx);
  ASSERT_TRUE(object.has_value());
  EXPECT_TRUE(object->decode.grammar);
  auto schema = parse_chat_request(
      chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", kTools[0]["function"]["parameters"]}}}}}}),
      c.ctx);
  ASSERT_TRUE(schema.has_value()) << schema.error().message;
  EXPECT_TRUE(schema->decode.grammar);
}

void expect_400(const ApiResult<CompletionJob>& job, const std::string& param, const std::string& fragment,
                const std::string& code = "") {
  ASSERT_FALSE(job.has_value()) << "accepted a bad request (" << param << ")";
  EXPECT_EQ(job.error().status, 400);
  EXPECT_EQ(job.error().param, param);
  EXPECT_NE(job.error().message.find(fragment), std::string::npos) << job.error().message;
  if (!code.empty()) {
    EXPECT_EQ(job.error().code, code);
  }
  auto body = OJson::parse(job.error().json());
  EXPECT_TRUE(body["error"].contains("message") && body["error"].contains("type") && body["error"].contains("param") &&
              body["error"].contains("code"));
}

TEST(OpenAiRequest, BadFieldsAreRefusedWithTheParameterNamed) {
  Context c;
  expect_400(parse_chat_request(chat({{"messages", 5}}), c.ctx), "messages", "non-empty array");
  expect_400(parse_chat_request(chat({{"messages", OJson::array()}}), c.ctx), "messages", "non-empty array");
  expect_400(parse_chat_request(chat({{"messages", {{{"role", "robot"}, {"content", "x"}}}}}), c.ctx), "messages[0].role", "role");
  expect_400(parse_chat_request(chat({{"messages", {{{"role", "user"}, {"content", 3}}}}}), c.ctx), "messages[0].content", "string");
  expect_400(parse_chat_request(chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}), c.ctx),
             "messages[0].content", "only text");
  expect_400(parse_chat_request(chat({{"max_tokens", "x"}}), c.ctx), "max_tokens", "integer");
  expect_400(parse_chat_request(chat({{"max_tokens", 0}}), c.ctx), "max_tokens", "between");
  expect_400(parse_chat_request(chat({{"temperature", 3}}), c.ctx), "temperature", "[0, 2]");
  expect_400(parse_chat_request(chat({{"temperature", "hot"}}), c.ctx), "temperature", "number");
  expect_400(parse_chat_request(chat({{"top_p", 0}}), c.ctx), "top_p", "greater than 0");
  expect_400(parse_chat_request(chat({{"n", 100}}), c.ctx), "n", "between");
  expect_400(parse_chat_request(chat({{"stream", "yes"}}), c.ctx), "stream", "boolean");
  expect_400(parse_chat_request(chat({{"stop", {1, 2}}}), c.ctx), "stop", "strings");
  expect_400(parse_chat_request(chat({{"stop", {"a", "b", "c", "d", "e"}}}), c.ctx), "stop", "up to 4");
  expect_400(parse_chat_request(chat({{"top_logprobs", 3}}), c.ctx), "top_logprobs", "logprobs");
  expect_400(parse_chat_request(chat({{"frobnicate", true}}), c.ctx), "frobnicate", "Unrecognized");
  expect_400(parse_chat_request(chat({{"model", 7}}), c.ctx), "model", "non-empty string");
  expect_400(parse_chat_request(chat({{"max_tokens", 250}}), c.ctx), "messages", "maximum context length",
             "context_length_exceeded");
  expect_400(parse_chat_request(chat({{"messages", {{{"role", "user"}, {"content", std::string(3000, 'x')}}}}}), c.ctx),
             "messages", "maximum context length", "context_length_exceeded");
  // Tools.
  expect_400(parse_chat_request(chat({{"tools", "get_oee"}}), c.ctx), "tools", "array");
  expect_400(parse_chat_request(chat({{"tools", {{{"type", "function"}, {"function", {{"name", 5}}}}}}}), c.ctx), "tools[0]",
             "name");
  expect_400(parse_chat_request(chat({{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", {{"type", "banana"}}}}}}}}}),
                                c.ctx),
             "tools[0].function.parameters", "JSON types");
  expect_400(parse_chat_request(chat({{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", {{"type", "object"}, {"properties", 3}}}}}}}}}),
                                c.ctx),
             "tools[0].function.parameters", "properties");
  expect_400(parse_chat_request(chat({{"tools", kTools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}),
                                c.ctx),
             "tool_choice", "nope");
  expect_400(parse_chat_request(chat({{"tool_choice", "required"}}), c.ctx), "tool_choice", "needs 'tools'");
  expect_400(parse_chat_request(chat({{"tool_choice", 5}, {"tools", kTools}}), c.ctx), "tool_choice", "must be");
  expect_400(parse_chat_request(chat({{"response_format", {{"type", "xml"}}}}), c.ctx), "response_format", "json_schema");
  expect_400(parse_chat_request(chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "string"}, {"pattern", "a+"}}}}}}}}),
                                c.ctx),
             "response_format", "pattern");
  // Completions.
  expect_400(parse_completion_request({{"model", "base"}}, c.ctx), "prompt", "required");
  expect_400(parse_completion_request({{"model", "base"}, {"prompt", 5}}, c.ctx), "prompt", "string");
  expect_400(parse_completion_request({{"model", "base"}, {"prompt", {1, 99999999}}}, c.ctx), "prompt", "token ids");
  expect_400(parse_completion_request({{"model", "base"}, {"prompt", "x"}, {"echo", true}}, c.ctx), "echo", "not supported");
  expect_400(parse_completion_request({{"model", "base"}, {"prompt", "x"}, {"logprobs", 9}}, c.ctx), "logprobs", "between");
  EXPECT_FALSE(parse_chat_request(OJson::array(), c.ctx).has_value());
}

TEST(OpenAiRequest, CompletionsTakeTextOrTokenIdsAndDefaultToSixteenTokens) {
  Context c;
  auto text = parse_completion_request({{"model", "base"}, {"prompt", "Once upon"}}, c.ctx);
  ASSERT_TRUE(text.has_value()) << text.error().message;
  EXPECT_EQ(text->decode.max_tokens, 16);
  auto ids = parse_completion_request({{"model", "base"}, {"prompt", {1, 450, 3681}}, {"max_tokens", 3}, {"logprobs", 2}}, c.ctx);
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(ids->prompt, (std::vector<int32_t>{1, 450, 3681}));
  EXPECT_EQ(ids->decode.top_logprobs, 2);
}

TEST(OpenAiResponse, ToolCallsAreReadOutOfTheTextAndFinishAsToolCalls) {
  Context c;
  auto job = parse_chat_request(chat({{"tools", kTools}}), c.ctx);
  ASSERT_TRUE(job.has_value());
  ChoiceResult choice;
  choice.text = format_tool_call(c.ctx.tool_format, "get_oee", {{"line", 2}});
  choice.finish = "stop";
  choice.prompt_tokens = 10;
  choice.completion_tokens = 12;
  ResponseMeta meta{"chatcmpl-1", 5, "base"};
  OJson out = chat_completion_json(*job, meta, c.ctx.tool_format, {choice}, c.f.model->tokenizer());
  ASSERT_EQ(out["choices"][0]["finish_reason"], "tool_calls") << out.dump();
  const OJson& call = out["choices"][0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "get_oee");
  EXPECT_EQ(OJson::parse(call["function"]["arguments"].get<std::string>())["line"], 2);
  EXPECT_EQ(out["usage"]["total_tokens"], 22);
  // Without tools the same text is content.
  auto plain = parse_chat_request(chat(), c.ctx);
  OJson text = chat_completion_json(*plain, meta, c.ctx.tool_format, {choice}, c.f.model->tokenizer());
  EXPECT_EQ(text["choices"][0]["message"]["content"], choice.text);
  EXPECT_EQ(text["choices"][0]["finish_reason"], "stop");
}

TEST(AdapterRegistry, LoadsByNameDropsTheLeastRecentlyUsedAndReloadsOnDemand) {
  test::ServeFixture f(3);
  ASSERT_TRUE(f.model);
  AdapterRegistry registry(f.model->config(), 2);
  ASSERT_TRUE(registry.add("a0", f.adapter_path(0)).has_value());
  ASSERT_TRUE(registry.add("a1", f.adapter_path(1)).has_value());
  auto held = registry.get("a0");  // a0 is now the most recent
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(registry.add("a2", f.adapter_path(2) + ":0.5").has_value());
  EXPECT_EQ(registry.loaded_count(), 2u);
  for (const auto& row : registry.list()) EXPECT_EQ(row.loaded, row.name != "a1") << row.name;
  auto again = registry.get("a1");  // loads a1 again, drops a0 (a request still holds it)
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(registry.loads(), 4);
  EXPECT_TRUE(held->adapter != nullptr);
  EXPECT_NE(held->key, again->key);
  EXPECT_FALSE(registry.add("a1", f.adapter_path(1)).has_value()) << "names are unique";
  EXPECT_FALSE(registry.add("bad name!", f.adapter_path(1)).has_value());
  EXPECT_FALSE(registry.add("missing", f.dir.path() + "/nothing").has_value());
  EXPECT_FALSE(registry.add("model", f.dir.path() + "/base.gguf").has_value());
  EXPECT_TRUE(registry.remove("a1"));
  EXPECT_FALSE(registry.remove("a1"));
  EXPECT_FALSE(registry.get("a1").has_value());
  EXPECT_EQ(registry.list().size(), 2u);
}

}  // namespace
}  // namespace officina
