// Runs every `officina ...` line of the ```sh blocks in the docs, in
// order, with $MODELS and $OUT substituted: the documented examples work.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

// The lines of ```sh blocks that start with `prefix`.
std::vector<std::string> sh_lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_sh = false;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      in_sh = !in_sh && line == "```sh";
      continue;
    }
    if (in_sh && line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

std::vector<std::string> doc_commands(const std::string& text) {
  // `officina serve` runs until stopped: ServerExamplesRun starts it.
  auto out = sh_lines(text, "officina ");
  std::erase_if(out, [](const std::string& line) { return line.starts_with("officina serve "); });
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

std::string substitute(const std::string& c, const std::string& out) {
  std::string cmd = replace_all(c, "$MODELS", test::conformance_path("models"));
  cmd = replace_all(cmd, "$TEMPLATES", test::conformance_path("chat-templates"));
  cmd = replace_all(cmd, "$EXAMPLES", std::string(OFFICINA_SOURCE_DIR) + "/examples");
  return replace_all(cmd, "$OUT", out);
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

// docs/server.md: the setup commands, then `officina serve` on a free port,
// then every curl line of its ```sh blocks against it.
TEST(Docs, ServerExamplesRun) {
  auto text = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/docs/server.md");
  ASSERT_TRUE(text) << text.error().message;
  test::TempDir out;
  for (const std::string& c : doc_commands(*text)) {
    const std::string cmd = test::officina_binary() + substitute(c, out.path()).substr(8) + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << c;
  }
  const auto serves = sh_lines(*text, "officina serve ");
  const auto curls = sh_lines(*text, "curl ");
  ASSERT_EQ(serves.size(), 1u);
  std::string serve = serves[0];
  ASSERT_GE(curls.size(), 10u);
  serve = replace_all(substitute(serve, out.path()), "--port 8080", "--port 0");
  const std::string log = out.path("serve.log");
  const std::string start = test::officina_binary() + serve.substr(8) + " -t 1 > " + log + " 2>&1 & echo $! > " +
                            out.path("serve.pid");
  ASSERT_EQ(std::system(start.c_str()), 0);
  std::string port;
  for (int i = 0; i < 300 && port.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto l = read_text_file(log);
    const std::string marker = "listening on http://127.0.0.1:";
    if (l && l->find(marker) != std::string::npos) {
      port = l->substr(l->find(marker) + marker.size());
      port = port.substr(0, port.find_first_not_of("0123456789"));
    }
  }
  ASSERT_FALSE(port.empty()) << "the server did not start";
  for (const std::string& c : curls) {
    const std::string cmd = replace_all(substitute(c, out.path()), "127.0.0.1:8080", "127.0.0.1:" + port) + " > " +
                            out.path("curl.out");
    const int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << c;
    auto body = read_text_file(out.path("curl.out"));
    ASSERT_TRUE(body.has_value());
    if (c.find("\"stream\": true") != std::string::npos) {
      EXPECT_NE(body->find("data: [DONE]"), std::string::npos) << *body;
    } else if (c.find("/metrics") != std::string::npos) {
      EXPECT_NE(body->find("officina_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 4"),
                std::string::npos)
          << *body;
    } else {
      auto json = nlohmann::json::parse(*body, nullptr, false);
      EXPECT_FALSE(json.is_discarded()) << c << "\n" << *body;
      EXPECT_FALSE(json.contains("error")) << *body;
      if (c.find("json_schema") != std::string::npos && json.contains("choices")) {
        auto value = nlohmann::json::parse(json["choices"][0]["message"]["content"].get<std::string>(), nullptr, false);
        EXPECT_TRUE(value.is_object() && value.contains("id") && value.contains("running")) << *body;
      }
      if (c.find("tool_choice") != std::string::npos && json.contains("choices"))
        EXPECT_EQ(json["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_oee") << *body;
    }
  }
  std::system(("kill $(cat " + out.path("serve.pid") + ")").c_str());
}

// A page that is one workflow whose steps share shell variables (ids,
// keys): its ```sh blocks run as one bash script, officina on the PATH, the
// server on a free port. Returns what the script printed.
std::string run_doc_as_script(const std::string& doc, int min_lines) {
  auto text = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/" + doc);
  EXPECT_TRUE(text) << text.error().message;
  if (!text) return "";
  test::TempDir out;
  for (const auto& [name, body] : doc_files(*text)) {
    std::ofstream file(out.path(name));
    file << body;
  }
  std::string script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n";
  std::istringstream in(*text);
  std::string line;
  bool in_sh = false;
  int lines = 0;
  const std::string port = std::to_string(20000 + ::getpid() % 20000);
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      in_sh = !in_sh && line == "```sh";
      continue;
    }
    if (in_sh) {
      script += replace_all(line, "8080", port) + "\n";
      ++lines;
    }
  }
  EXPECT_GE(lines, min_lines) << doc;
  {
    std::ofstream file(out.path("doc.sh"));
    file << script;
  }
  const std::string bin = test::officina_binary();
  const std::string cmd = "cd " + out.path() + " && PATH=" + bin.substr(0, bin.rfind('/')) + ":$PATH OUT=" +
                          out.path() + " MODELS=" + test::conformance_path("models") + " bash " +
                          out.path("doc.sh") + " > " + out.path("run.log") + " 2>&1";
  const int status = std::system(cmd.c_str());
  auto log = read_text_file(out.path("run.log"));
  auto serve_log = read_text_file(out.path("serve.log"));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << doc << "\n" << (log ? *log : "") << "\n--- serve.log ---\n" << (serve_log ? *serve_log : "");
  return log ? *log : "";
}

TEST(Docs, PlatformExamplesRun) {
  const std::string log = run_doc_as_script("docs/platform.md", 25);
  EXPECT_NE(log.find("\"ok\": true"), std::string::npos) << log;  // audit verify
  EXPECT_NE(log.find("The job has successfully completed"), std::string::npos) << log;
}

// docs/slurm.md against the single-node cluster of start-slurm.sh
// (scripts/run-tests.sh starts it when it runs as root).
TEST(Docs, SlurmExamplesRun) {
  if (std::system("sinfo -h -o %T 2>/dev/null | grep -q -E 'idle|mix|alloc'") != 0) {
    const char* required = std::getenv("OFFICINA_REQUIRE_SLURM");
    if (required && std::string(required) == "1") FAIL() << "no Slurm cluster answers (sinfo)";
    GTEST_SKIP() << "no Slurm cluster (../shared/scripts/start-slurm.sh starts one, as root)";
  }
  const std::string log = run_doc_as_script("docs/slurm.md", 15);
  EXPECT_NE(log.find("Submitted to Slurm as job"), std::string::npos) << log;
  EXPECT_NE(log.find("x 2 task(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("The job has successfully completed"), std::string::npos) << log;
  EXPECT_NE(log.find("succeeded\nslurm:"), std::string::npos) << log;
}

TEST(Docs, EngineExamplesRun) { run_doc("docs/engine.md", 10); }
TEST(Docs, TokenizerExamplesRun) { run_doc("docs/tokenizers.md", 2); }
TEST(Docs, ChatExamplesRun) { run_doc("docs/chat.md", 6); }
TEST(Docs, GrammarExamplesRun) { run_doc("docs/grammars.md", 2); }
TEST(Docs, FinetuneExamplesRun) { run_doc("docs/finetune.md", 13); }

}  // namespace
}  // namespace officina
