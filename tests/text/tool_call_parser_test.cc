// Tool calls read back from model output in each format, and prose left alone.
#include <gtest/gtest.h>

#include "text/chat_template.h"
#include "text/tool_call_parser.h"
#include "test_util.h"

#include <fstream>
#include <sstream>

namespace officina {
namespace {

TEST(ToolCallParser, Hermes) {
  auto r = parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_machine_status\", \"arguments\": {\"machine_id\": \"press-3\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"get_oee\", \"arguments\": \"{\\\"line\\\": 2}\"}\n</tool_call>",
      ToolCallFormat::Hermes);
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].name, "get_machine_status");
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"machine_id":"press-3"})");
  EXPECT_EQ(r.tool_calls[1].name, "get_oee");
  EXPECT_EQ(r.tool_calls[1].arguments, R"({"line":2})");
  EXPECT_EQ(r.content, "Let me check.");
  EXPECT_TRUE(r.tool_calls[0].id.starts_with("call_"));
  EXPECT_EQ(r.tool_calls[0].id.size(), 14u);
  EXPECT_NE(r.tool_calls[0].id, r.tool_calls[1].id);
  // An unterminated last block (generation stopped at </tool_call>) still counts.
  auto cut = parse_tool_calls("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n", ToolCallFormat::Hermes);
  ASSERT_EQ(cut.tool_calls.size(), 1u);
  // A block that is not a call stays text.
  auto bad = parse_tool_calls("<tool_call>not json</tool_call>", ToolCallFormat::Hermes);
  EXPECT_TRUE(bad.tool_calls.empty());
  EXPECT_EQ(bad.content, "<tool_call>not json</tool_call>");
}

TEST(ToolCallParser, Llama3Json) {
  auto r = parse_tool_calls("<|python_tag|>{\"name\": \"get_oee\", \"parameters\": {\"line\": 2}}; "
                            "{\"name\": \"get_stops\", \"parameters\": {}}",
                            ToolCallFormat::Llama3Json);
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"line":2})");
  EXPECT_EQ(r.tool_calls[1].name, "get_stops");
  EXPECT_EQ(r.content, "");
  auto prose = parse_tool_calls("The OEE is {high} today.", ToolCallFormat::Llama3Json);
  EXPECT_TRUE(prose.tool_calls.empty());
  EXPECT_EQ(prose.content, "The OEE is {high} today.");
  auto json_answer = parse_tool_calls("{\"answer\": 42}", ToolCallFormat::Llama3Json);
  EXPECT_TRUE(json_answer.tool_calls.empty());
}

TEST(ToolCallParser, Mistral) {
  auto r = parse_tool_calls(
      "[TOOL_CALLS] [{\"name\": \"get_machine_status\", \"arguments\": {\"machine_id\": \"press-3\"}, \"id\": "
      "\"a1B2c3D4e\"}]",
      ToolCallFormat::Mistral);
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].id, "a1B2c3D4e");
  auto v11 = parse_tool_calls("[TOOL_CALLS]get_oee[ARGS]{\"line\": 1}[TOOL_CALLS]get_stops[ARGS]{}", ToolCallFormat::Mistral);
  ASSERT_EQ(v11.tool_calls.size(), 2u);
  EXPECT_EQ(v11.tool_calls[0].name, "get_oee");
  EXPECT_EQ(v11.tool_calls[1].arguments, "{}");
  auto prose = parse_tool_calls("Nessun fermo ieri.", ToolCallFormat::Mistral);
  EXPECT_TRUE(prose.tool_calls.empty());
  EXPECT_EQ(prose.content, "Nessun fermo ieri.");
}

TEST(ToolCallParser, GenericFallbacks) {
  auto fenced = parse_tool_calls("```json\n{\"tool_calls\": [{\"name\": \"f\", \"arguments\": {\"x\": 1}}]}\n```",
                                 ToolCallFormat::Generic);
  ASSERT_EQ(fenced.tool_calls.size(), 1u);
  EXPECT_EQ(fenced.tool_calls[0].arguments, R"({"x":1})");
  auto single = parse_tool_calls("{\"name\": \"f\", \"arguments\": {}}", ToolCallFormat::Hermes);  // generic tried too
  ASSERT_EQ(single.tool_calls.size(), 1u);
  auto openai = parse_tool_calls("{\"tool_call\": {\"function\": {\"name\": \"g\", \"arguments\": \"{}\"}}}",
                                 ToolCallFormat::Generic);
  ASSERT_EQ(openai.tool_calls.size(), 1u);
  EXPECT_EQ(openai.tool_calls[0].name, "g");
  for (const char* hostile : {"", "{", "[[[[[[[[[[", "<tool_call>", "[TOOL_CALLS]", "[TOOL_CALLS][ARGS]",
                              "{\"name\": 5, \"arguments\": {}}", "{\"name\": \"f\", \"arguments\": [1]}"}) {
    for (auto format : {ToolCallFormat::Hermes, ToolCallFormat::Llama3Json, ToolCallFormat::Mistral, ToolCallFormat::Generic}) {
      auto r = parse_tool_calls(hostile, format);
      EXPECT_TRUE(r.tool_calls.empty()) << hostile;
    }
  }
}

TEST(ToolCallParser, FormatsRoundTripAndDetection) {
  auto args = nlohmann::ordered_json::parse(R"({"machine_id": "press-3", "hours": 24})");
  for (auto format : {ToolCallFormat::Hermes, ToolCallFormat::Llama3Json, ToolCallFormat::Mistral, ToolCallFormat::Generic}) {
    auto r = parse_tool_calls(format_tool_call(format, "get_history", args), format);
    ASSERT_EQ(r.tool_calls.size(), 1u) << tool_call_format_name(format);
    EXPECT_EQ(r.tool_calls[0].name, "get_history");
    EXPECT_EQ(nlohmann::ordered_json::parse(r.tool_calls[0].arguments), args);
  }
  auto read = [](const std::string& name) {
    std::ifstream in(test::conformance_path("chat-templates/" + name));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(detect_tool_call_format(read("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja")), ToolCallFormat::Hermes);
  EXPECT_EQ(detect_tool_call_format(read("Qwen-Qwen2.5-7B-Instruct.jinja")), ToolCallFormat::Hermes);
  EXPECT_EQ(detect_tool_call_format(read("meta-llama-Llama-3.1-8B-Instruct.jinja")), ToolCallFormat::Llama3Json);
  EXPECT_EQ(detect_tool_call_format(read("mistralai-Mistral-Nemo-Instruct-2407.jinja")), ToolCallFormat::Mistral);
  EXPECT_EQ(detect_tool_call_format(fallback_template_source(FallbackTemplate::ChatML)), ToolCallFormat::Hermes);
  EXPECT_EQ(detect_tool_call_format(fallback_template_source(FallbackTemplate::Llama3)), ToolCallFormat::Llama3Json);
  EXPECT_EQ(detect_tool_call_format(fallback_template_source(FallbackTemplate::Mistral)), ToolCallFormat::Mistral);
}

}  // namespace
}  // namespace officina
