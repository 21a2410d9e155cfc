// Runs every `officina ...` line of the ```sh blocks in the docs, in
// order, with $MODELS and $OUT substituted: the documented examples work.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

std::vector<std::string> doc_commands(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_sh = false;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      in_sh = !in_sh && line == "```sh";
      continue;
    }
    if (in_sh && line.starts_with("officina ")) out.push_back(line);
  }
  return out;
}

// Files a page defines: a line "`NAME`:" followed by a fenced block gives
// $OUT/NAME with the block's text, written before the commands run.
std::vector<std::pair<std::string, std::string>> doc_files(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line, pending, body;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (in_block) {
      if (line.starts_with("```")) {
        out.emplace_back(pending, body);
        pending.clear();
        in_block = false;
      } else {
        body += line + "\n";
      }
      continue;
    }
    if (line.size() > 3 && line.front() == '`' && line.ends_with("`:") && line.find(' ') == std::string::npos) {
      pending = line.substr(1, line.size() - 3);
    } else if (!pending.empty() && line.starts_with("```")) {
      in_block = true;
      body.clear();
    } else if (!line.empty()) {
      pending.clear();
    }
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

void run_doc(const std::string& doc, size_t min_commands) {
  auto text = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/" + doc);
  ASSERT_TRUE(text) << text.error().message;
  auto commands = doc_commands(*text);
  ASSERT_GE(commands.size(), min_commands) << doc;
  test::TempDir out;
  for (const auto& [name, body] : doc_files(*text)) {
    std::ofstream file(out.path(name));
    file << body;
  }
  for (const std::string& c : commands) {
    std::string cmd = replace_all(c, "$MODELS", test::conformance_path("models"));
    cmd = replace_all(cmd, "$TEMPLATES", test::conformance_path("chat-templates"));
    cmd = replace_all(cmd, "$EXAMPLES", std::string(OFFICINA_SOURCE_DIR) + "/examples");
    cmd = replace_all(cmd, "$OUT", out.path());
    cmd = test::officina_binary() + cmd.substr(std::string("officina").size()) + " > /dev/null 2>&1";
    int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << doc << ": " << c;
  }
}

TEST(Docs, EngineExamplesRun) { run_doc("docs/engine.md", 10); }
TEST(Docs, TokenizerExamplesRun) { run_doc("docs/tokenizers.md", 2); }
TEST(Docs, ChatExamplesRun) { run_doc("docs/chat.md", 6); }
TEST(Docs, GrammarExamplesRun) { run_doc("docs/grammars.md", 2); }
TEST(Docs, FinetuneExamplesRun) { run_doc("docs/finetune.md", 5); }

}  // namespace
}  // namespace officina
