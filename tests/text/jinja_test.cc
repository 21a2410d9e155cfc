// Unit tests of the Jinja interpreter, one or more per feature. The table in
// data/jinja_features.jsonl pairs a template with what Jinja2 3.1.6 renders
// in Hugging Face's environment (trim_blocks, lstrip_blocks, loop controls,
// immutable sandbox, non-ASCII tojson), or with the exception it raises.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "text/chat_template.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_parser.h"
#include "text/jinja_value.h"

namespace officina::jinja {
namespace {

Result<std::string> render(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object(),
                           RenderLimits limits = {}) {
  OFFICINA_TRY(Template tmpl, parse_template(source, "t"));
  Interpreter interp(tmpl, limits);
  interp.set_now(*parse_template_date("24 Nov 2026"));
  for (const auto& [k, v] : context.items()) interp.set_variable(k, Value::from_json(v));
  return interp.render();
}

TEST(Jinja, FeatureTableMatchesJinja2) {
  std::ifstream in(std::string(OFFICINA_SOURCE_DIR) + "/tests/text/data/jinja_features.jsonl");
  ASSERT_TRUE(in) << "missing tests/text/data/jinja_features.jsonl";
  std::string line;
  std::getline(in, line);
  auto context = nlohmann::ordered_json::parse(line)["context"];
  int checked = 0;
  while (std::getline(in, line)) {
    auto row = nlohmann::ordered_json::parse(line);
    const std::string source = row["template"];
    SCOPED_TRACE(source);
    auto text = render(source, context);
    if (row.contains("error")) {
      const std::string expected = row["error"];
      ASSERT_FALSE(text) << "rendered " << *text << " but Jinja2 raised " << expected;
      // Same exception class (and for raise_exception the same message).
      std::string kind = expected.substr(0, expected.find(':'));
      if (kind == "TemplateError") EXPECT_EQ(text.error().message, expected.substr(expected.find(':') + 2));
      else EXPECT_NE(text.error().message.find(kind), std::string::npos) << text.error().message;
    } else {
      ASSERT_TRUE(text) << text.error().message;
      EXPECT_EQ(*text, row["rendered"].get<std::string>());
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  struct Case {
    const char* source;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"hello\n{% if x %}\nno end", "t:3:", "'endif' to close the 'if' opened at line 2"},
      {"{{ 1 + }}", "t:1:8:", "unexpected end of print statement"},
      {"a\n  {% for x y %}{% endfor %}", "t:2:", "expected 'in'"},
      {"{{ 'unterminated }}", "t:1:4:", "unterminated string"},
      {"{% frobnicate %}", "t:1:4:", "unknown tag 'frobnicate'"},
      {"{# never closed", "t:1:1:", "missing end of comment"},
      {"{{ (1, 2 }}", "t:1:", "unexpected '}'"},
      {"{% include 'x.j2' %}", "t:1:4:", "not supported"},
      {"{% endfor %}", "t:1:4:", "unknown tag 'endfor'"},
      {"{{ x is }}", "t:1:", "expected a name"},
      {"{{ a ? b }}", "t:1:6:", "unexpected character '?'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    auto parsed = parse_template(c.source, "t");
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(parsed.error().message.starts_with(c.where)) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.what), std::string::npos) << parsed.error().message;
  }
}

TEST(Jinja, RuntimeErrorsNameTheLine) {
  auto text = render("line one\n{{ 'a' + 1 }}");
  ASSERT_FALSE(text);
  EXPECT_TRUE(text.error().message.starts_with("t:2:")) << text.error().message;
  EXPECT_NE(text.error().message.find("can only concatenate str"), std::string::npos);
}

TEST(Jinja, RunawayTemplatesAreBounded) {
  RenderLimits limits;
  limits.max_steps = 100000;
  auto loop = render("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}", {}, limits);
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("steps"), std::string::npos) << loop.error().message;

  auto recursion = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(recursion);
  EXPECT_NE(recursion.error().message.find("nested deeper"), std::string::npos) << recursion.error().message;

  auto huge_range = render("{{ range(100000000) | length }}");
  ASSERT_FALSE(huge_range);
  EXPECT_NE(huge_range.error().message.find("range()"), std::string::npos);

  limits = {};
  limits.max_output_bytes = 1000;
  auto big = render("{% for i in range(500) %}xxxx{% endfor %}", {}, limits);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("exceed"), std::string::npos);

  auto repeat = render("{{ 'x' * 1000000000000 }}");
  ASSERT_FALSE(repeat);

  std::string deep(5000, '(');
  auto nested = parse_template("{{ " + deep + " }}", "t");
  ASSERT_FALSE(nested);
  std::string deep_ifs;
  for (int i = 0; i < 300; ++i) deep_ifs += "{% if true %}";
  auto ifs = parse_template(deep_ifs, "t");
  ASSERT_FALSE(ifs);
  EXPECT_NE(ifs.error().message.find("nested deeper"), std::string::npos);
}

TEST(Jinja, WhitespaceControlFollowsHuggingFaceSettings) {
  // lstrip_blocks removes indentation before a block tag, trim_blocks the newline after it.
  EXPECT_EQ(*render("  {% if true %}\n  x\n  {% endif %}\n"), "  x\n");
  // {%+ keeps the indentation, +%} keeps the newline.
  EXPECT_EQ(*render("  {%+ if true +%}\nx{% endif %}"), "  \nx");
  // Variable tags are never lstripped; a single trailing newline is dropped.
  EXPECT_EQ(*render("  {{ 1 }}\n"), "  1");
  // {% raw %} keeps delimiters as text.
  EXPECT_EQ(*render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
  // \r\n newlines are normalised.
  EXPECT_EQ(*render("a\r\n{% if true %}\r\nb{% endif %}"), "a\nb");
}

TEST(Jinja, GenerationBlocksReportSpans) {
  auto tmpl = ChatTemplate::parse("U{% generation %}assistant words{% endgeneration %}E", "t");
  ASSERT_TRUE(tmpl);
  auto r = tmpl->render_with_spans(nlohmann::ordered_json::array(), nullptr, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "Uassistant wordsE");
  ASSERT_EQ(r->generation_spans.size(), 1u);
  EXPECT_EQ(r->text.substr(r->generation_spans[0].first, r->generation_spans[0].second - r->generation_spans[0].first),
            "assistant words");
}

TEST(JinjaValue, PythonReprAndJson) {
  EXPECT_EQ(python_float_repr(4.7), "4.7");
  EXPECT_EQ(python_float_repr(7.0), "7.0");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(python_float_repr(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(Value("it's").repr(), "\"it's\"");
  EXPECT_EQ(Value("a'\"b").repr(), "'a\\'\"b'");
  auto v = Value::from_json(nlohmann::ordered_json::parse(R"({"z": [1, 2.5, null, "è"], "a": {}})"));
  EXPECT_EQ(*v.to_json(), R"({"z": [1, 2.5, null, "è"], "a": {}})");
  JsonStyle ascii;
  ascii.ensure_ascii = true;
  EXPECT_EQ(*Value("è😀").to_json(ascii), R"("\u00e8\ud83d\ude00")");
  JsonStyle compact;
  compact.item_separator = ",";
  compact.key_separator = ":";
  EXPECT_EQ(*v.to_json(compact), R"({"z":[1,2.5,null,"è"],"a":{}})");
}

TEST(ChatTemplateFallbacks, RenderConversationsWithTools) {
  auto messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Sei un assistente."},
    {"role": "user", "content": [{"type": "text", "text": "Stato della pressa 3?"}]},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_abc123", "type": "function",
      "function": {"name": "get_machine_status", "arguments": {"machine_id": "press-3"}}}]},
    {"role": "tool", "tool_call_id": "call_abc123", "content": "{\"state\": \"running\"}"}])");
  auto tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "get_machine_status",
    "parameters": {"type": "object", "properties": {"machine_id": {"type": "string"}}}}}])");
  for (auto which : {FallbackTemplate::ChatML, FallbackTemplate::Llama3, FallbackTemplate::Mistral}) {
    SCOPED_TRACE(std::string(fallback_template_name(which)));
    auto tmpl = ChatTemplate::parse(fallback_template_source(which), fallback_template_name(which));
    ASSERT_TRUE(tmpl) << tmpl.error().message;
    ChatRenderOptions options;
    options.add_generation_prompt = true;
    auto r = tmpl->render_with_spans(messages, tools, options);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->text.find("Sei un assistente."), std::string::npos) << r->text;
    EXPECT_NE(r->text.find("Stato della pressa 3?"), std::string::npos) << r->text;
    EXPECT_NE(r->text.find("get_machine_status"), std::string::npos);
    EXPECT_NE(r->text.find(R"({"machine_id": "press-3"})"), std::string::npos) << r->text;
    EXPECT_NE(r->text.find(R"(\"state\")") == std::string::npos ? r->text.find(R"("state")") : 0, std::string::npos);
    ASSERT_EQ(r->generation_spans.size(), 1u);
  }
  auto chatml = ChatTemplate::parse(fallback_template_source(FallbackTemplate::ChatML), "chatml");
  auto plain = chatml->render(nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])"), nullptr,
                              ChatRenderOptions{.add_generation_prompt = true});
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  auto llama = ChatTemplate::parse(fallback_template_source(FallbackTemplate::Llama3), "llama3");
  auto l = llama->render(nlohmann::ordered_json::parse(R"([{"role":"user","content":" Hi "}])"), nullptr,
                         ChatRenderOptions{.add_generation_prompt = true, .bos_token = "<|begin_of_text|>"});
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  auto mistral = ChatTemplate::parse(fallback_template_source(FallbackTemplate::Mistral), "mistral");
  auto m = mistral->render(nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}])"),
                           nullptr, {});
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "<s>[INST] Hi[/INST] Yo</s>");
}

TEST(ChatTemplate, NamedTemplatesAndDates) {
  auto list = nlohmann::json::parse(R"([{"name": "default", "template": "A"}, {"name": "tool_use", "template": "B"}])");
  EXPECT_EQ(chat_template_from_config(list), "A");
  EXPECT_EQ(chat_template_from_config(list, "tool_use"), "B");
  EXPECT_FALSE(chat_template_from_config(list, "rag"));
  EXPECT_EQ(chat_template_from_config(nlohmann::json("C")), "C");
  auto date = parse_template_date("24 Nov 2026");
  ASSERT_TRUE(date);
  EXPECT_EQ(date->tm_year, 126);
  EXPECT_EQ(date->tm_mon, 10);
  EXPECT_EQ(date->tm_wday, 2);  // a Tuesday
  EXPECT_TRUE(parse_template_date("2026-11-24"));
  EXPECT_FALSE(parse_template_date("yesterday"));
}

}  // namespace
}  // namespace officina::jinja
