// officina template render / show and officina chat, end to end.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace officina {
namespace {

using test::run_officina;
using test::shell_quote;



std::string templates() { return test::conformance_path("chat-templates"); }

TEST(TemplateCommand, RendersConformanceCasesExactly) {
  auto cases = nlohmann::ordered_json::parse(test::read_file(templates() + "/cases.json"));
  test::TempDir dir;
  int checked = 0;
  for (const auto& result : cases["results"]) {
    const std::string name = result["template"];
    if (name != "meta-llama-Llama-3.2-3B-Instruct.jinja" && name != "Qwen-Qwen2.5-7B-Instruct.jinja") continue;
    if (!result.contains("rendered")) continue;
    const auto& conversation = cases["cases"][result["case"].get<std::string>()];
    test::write_file(dir.path("messages.json"), conversation["messages"].dump());
    std::string args = "template render --template " + shell_quote(templates() + "/" + name) + " --messages " +
                       shell_quote(dir.path("messages.json")) + " --bos-token '<s>' --eos-token '</s>' --date " +
                       shell_quote(result["date_string_for_strftime_now"]);
    if (conversation.value("add_generation_prompt", false)) args += " --add-generation-prompt";
    if (conversation.contains("tools")) {
      test::write_file(dir.path("tools.json"), conversation["tools"].dump());
      args += " --tools " + shell_quote(dir.path("tools.json"));
    }
    auto r = run_officina(args);
    SCOPED_TRACE(name + " / " + result["case"].get<std::string>());
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, result["rendered"].get<std::string>());  // no newline added
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(TemplateCommand, TemplateRefusalExitsOneWithItsMessage) {
  test::TempDir dir;
  test::write_file(dir.path("m.json"), R"([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])");
  auto r = run_officina("template render --template " + shell_quote(templates() + "/google-gemma-2-2b-it.jinja") +
                        " --messages " + shell_quote(dir.path("m.json")));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("System role not supported"), std::string::npos) << r.err;
}

TEST(TemplateCommand, BadInputGivesClearErrors) {
  test::TempDir dir;
  test::write_file(dir.path("ok.json"), R"([{"role": "user", "content": "hi"}])");
  test::write_file(dir.path("broken.json"), R"([{"role": "user", "content": )");
  test::write_file(dir.path("object.json"), R"({"role": "user"})");
  test::write_file(dir.path("bad.jinja"), "line 1\n{% for m in messages %}\n{{ m.content }\n");
  test::write_file(dir.path("ok.jinja"), "{% for m in messages %}{{ m.content }}{% endfor %}");
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"--template " + shell_quote(dir.path("ok.jinja")) + " --messages " + shell_quote(dir.path("missing.json")),
       "cannot open"},
      {"--template " + shell_quote(dir.path("ok.jinja")) + " --messages " + shell_quote(dir.path("broken.json")),
       "invalid JSON"},
      {"--template " + shell_quote(dir.path("ok.jinja")) + " --messages " + shell_quote(dir.path("object.json")),
       "expected an array"},
      {"--template " + shell_quote(dir.path("bad.jinja")) + " --messages " + shell_quote(dir.path("ok.json")),
       "bad.jinja:3:"},
      {"--template " + shell_quote(dir.path("nope.jinja")) + " --messages " + shell_quote(dir.path("ok.json")),
       "nope.jinja"},
      {"--template " + shell_quote(dir.path("ok.jinja")) + " --messages " + shell_quote(dir.path("ok.json")) +
           " --date tomorrow",
       "--date"},
      {"--messages " + shell_quote(dir.path("ok.json")), "give -m MODEL or --template FILE"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_officina("template render " + c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
  // An OpenAI request body works as the messages file.
  test::write_file(dir.path("request.json"), R"({"model": "x", "messages": [{"role": "user", "content": "da body"}]})");
  auto r = run_officina("template render --template " + shell_quote(dir.path("ok.jinja")) + " --messages " +
                        shell_quote(dir.path("request.json")));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "da body");
}

TEST(TemplateCommand, ModelTemplatesAndFallbackAndConversion) {
  test::TempDir dir;
  // A model without a template gets the ChatML fallback and its own BOS/EOS.
  auto show = run_officina("template show -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")));
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.err.find("fallback chatml"), std::string::npos) << show.err;

  // A Hugging Face model's chat_template in tokenizer_config.json is used, and
  // survives conversion into GGUF as tokenizer.chat_template.
  std::filesystem::copy(test::conformance_path("models/tiny-gqa-hf"), dir.path("hf"));
  auto config = nlohmann::ordered_json::parse(test::read_file(dir.path("hf/tokenizer_config.json")));
  config["chat_template"] = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}";
  test::write_file(dir.path("hf/tokenizer_config.json"), config.dump());
  test::write_file(dir.path("m.json"), R"([{"role": "user", "content": "Ciao"}])");
  auto hf = run_officina("template render -m " + shell_quote(dir.path("hf")) + " --messages " + shell_quote(dir.path("m.json")));
  ASSERT_EQ(hf.code, 0) << hf.err;
  EXPECT_EQ(hf.out, "<s>[user] Ciao\n");
  auto convert = run_officina("convert " + shell_quote(dir.path("hf")) + " " + shell_quote(dir.path("m.gguf")));
  ASSERT_EQ(convert.code, 0) << convert.err;
  auto gguf = run_officina("template render -m " + shell_quote(dir.path("m.gguf")) + " --messages " + shell_quote(dir.path("m.json")));
  ASSERT_EQ(gguf.code, 0) << gguf.err;
  EXPECT_EQ(gguf.out, hf.out);
  auto origin = run_officina("template show -m " + shell_quote(dir.path("m.gguf")));
  EXPECT_NE(origin.err.find("tokenizer.chat_template"), std::string::npos) << origin.err;
}

TEST(ChatCommand, KeepsHistoryAcrossTurnsAndResets) {
  test::TempDir dir;
  test::write_file(dir.path("in.txt"), "Ciao\nCome va?\n/reset\nDi nuovo\n");
  auto r = run_officina("chat -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")) +
                        " -n 4 --temp 0 --system 'Sei breve.' --show-prompt < " + shell_quote(dir.path("in.txt")));
  ASSERT_EQ(r.code, 0) << r.err;
  // Three replies, one line each.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  // The second prompt holds the first exchange; after /reset only the system message remains.
  std::vector<std::string> prompts;
  for (size_t p = r.err.find("[prompt]"); p != std::string::npos; p = r.err.find("[prompt]", p + 1))
    prompts.push_back(r.err.substr(p, r.err.find("[/prompt]", p) - p));
  ASSERT_EQ(prompts.size(), 3u) << r.err;
  EXPECT_NE(prompts[0].find("<|im_start|>system\nSei breve.<|im_end|>"), std::string::npos);
  EXPECT_NE(prompts[1].find("Ciao"), std::string::npos);
  EXPECT_NE(prompts[1].find("<|im_start|>assistant\n" + r.out.substr(0, r.out.find('\n')) + "<|im_end|>"),
            std::string::npos)
      << prompts[1];
  EXPECT_EQ(prompts[2].find("Ciao"), std::string::npos);
  EXPECT_NE(prompts[2].find("Di nuovo"), std::string::npos);
}

TEST(ChatCommand, LaterTurnsReuseTheCachedPrefixWithTheSameReplies) {
  test::TempDir dir;
  test::write_file(dir.path("in.txt"), "Ciao\nCome va?\nE la pressa 3?\n");
  const std::string base = "chat -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")) +
                           " -n 5 --temp 0 --system 'Sei breve.' --show-prompt < " + shell_quote(dir.path("in.txt"));
  auto reused = run_officina(base);
  auto fresh = run_officina(base + " --no-prefix-reuse");
  ASSERT_EQ(reused.code, 0) << reused.err;
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_EQ(reused.out, fresh.out);  // greedy replies identical either way
  EXPECT_NE(reused.err.find("[reused 0 of"), std::string::npos) << reused.err;  // first turn
  // Later turns take most of their prompt from the cache.
  size_t second = reused.err.find("[reused ", reused.err.find("[reused ") + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_NE(reused.err.substr(second, 10), "[reused 0 ");
  EXPECT_EQ(fresh.err.find("[reused 1"), std::string::npos);
}

TEST(ChatCommand, RequiredToolCallIsPrintedWithValidArguments) {
  test::TempDir dir;
  test::write_file(dir.path("in.txt"), "Stato della pressa 3?\n");
  test::write_file(dir.path("tools.json"), R"([{"type": "function", "function": {"name": "get_machine_status",
    "parameters": {"type": "object", "properties": {"machine_id": {"type": "string", "enum": ["press-1", "press-3"]}},
    "required": ["machine_id"], "additionalProperties": false}}}])");
  auto r = run_officina("chat -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")) + " -n 300 -c 1024 --seed 4" +
                        " --tools " + shell_quote(dir.path("tools.json")) + " --tool-choice get_machine_status --show-prompt < " +
                        shell_quote(dir.path("in.txt")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("<tools>"), std::string::npos) << r.err;  // rendered through the (ChatML fallback) template
  size_t at = r.out.find("[tool call] get_machine_status ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string args = r.out.substr(at + 31, r.out.find('\n', at) - at - 31);
  auto parsed = nlohmann::json::parse(args);
  EXPECT_TRUE(parsed["machine_id"] == "press-1" || parsed["machine_id"] == "press-3") << args;
  auto bad = run_officina("chat -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")) +
                          " --tool-choice required < /dev/null");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--tools"), std::string::npos);
}

TEST(ChatCommand, LoraAdapterChangesTheReplies) {
  test::TempDir dir;
  test::write_file(dir.path("in.txt"), "Ciao\n");
  const std::string base = "chat -m " + shell_quote(test::conformance_path("models/tiny-gqa.gguf")) + " -n 6 --temp 0";
  auto plain = run_officina(base + " < " + shell_quote(dir.path("in.txt")));
  auto adapted = run_officina(base + " --lora " + shell_quote(test::conformance_path("lora/tiny-gqa/adapter.gguf")) +
                              " < " + shell_quote(dir.path("in.txt")));
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(adapted.code, 0) << adapted.err;
  EXPECT_NE(plain.out, adapted.out);
  auto missing = run_officina(base + " --lora /nonexistent < /dev/null");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no such adapter"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace officina
