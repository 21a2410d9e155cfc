// Every rendering in conformance/chat-templates/cases.json must come out byte
// for byte; where Jinja2 errors, officina must error too.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "test_util.h"
#include "text/chat_template.h"

namespace officina {
namespace {


TEST(ChatTemplateConformance, EveryCaseRendersByteIdentical) {
  const std::string dir = test::conformance_path("chat-templates");
  auto cases = nlohmann::ordered_json::parse(test::read_file(dir + "/cases.json"));
  ASSERT_TRUE(cases.contains("results"));
  int rendered = 0, errors = 0;
  for (const auto& result : cases["results"]) {
    const std::string template_name = result["template"];
    const std::string case_name = result["case"];
    SCOPED_TRACE(template_name + " / " + case_name);
    const auto& conversation = cases["cases"][case_name];
    auto tmpl = ChatTemplate::parse(test::read_file(dir + "/" + template_name), template_name);
    ASSERT_TRUE(tmpl) << tmpl.error().message;
    ChatRenderOptions options;
    options.add_generation_prompt = conversation.value("add_generation_prompt", false);
    nlohmann::ordered_json tools = conversation.contains("tools") ? conversation["tools"] : nlohmann::ordered_json();
    if (result.contains("error")) {
      options.now = *parse_template_date("24 Nov 2026");
      auto text = tmpl->render(conversation["messages"], tools, options);
      EXPECT_FALSE(text) << "expected an error like: " << result["error"].get<std::string>();
      ++errors;
      continue;
    }
    options.bos_token = result["bos_token"];
    options.eos_token = result["eos_token"];
    auto date = parse_template_date(result["date_string_for_strftime_now"].get<std::string>());
    ASSERT_TRUE(date) << date.error().message;
    options.now = *date;
    auto text = tmpl->render(conversation["messages"], tools, options);
    if (!text) {
      ADD_FAILURE() << text.error().message;
      continue;
    }
    EXPECT_EQ(*text, result["rendered"].get<std::string>());
    ++rendered;
  }
  EXPECT_EQ(rendered + errors, static_cast<int>(cases["results"].size()));
  EXPECT_GT(rendered, 50);
}

// The template's own refusal (raise_exception) surfaces with its message.
TEST(ChatTemplateConformance, RaiseExceptionMessageIsKept) {
  const std::string dir = test::conformance_path("chat-templates");
  auto tmpl = ChatTemplate::parse(test::read_file(dir + "/google-gemma-2-2b-it.jinja"), "gemma");
  ASSERT_TRUE(tmpl);
  auto messages = nlohmann::ordered_json::parse(R"([{"role":"system","content":"x"},{"role":"user","content":"y"}])");
  auto text = tmpl->render(messages, nullptr, {});
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, "System role not supported");
}

}  // namespace
}  // namespace officina
