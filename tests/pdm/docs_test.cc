// Runs every `officina ...` line of the ```sh blocks in docs/pdm.md, in
// order, in a fresh directory (paths under examples/ point at the source
// tree): the documented examples work.
#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

std::vector<std::string> sh_commands(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line, pending;
  bool in_sh = false;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      in_sh = !in_sh && line == "```sh";
      continue;
    }
    if (!in_sh) continue;
    if (!pending.empty() || line.starts_with("officina ")) pending += line;
    if (!pending.empty() && pending.ends_with("\\")) {
      pending.pop_back();
      continue;
    }
    if (!pending.empty()) out.push_back(pending);
    pending.clear();
  }
  return out;
}

TEST(PdmDocs, ExamplesRun) {
  auto text = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/docs/pdm.md");
  ASSERT_TRUE(text) << text.error().message;
  auto commands = sh_commands(*text);
  ASSERT_GE(commands.size(), 8u);
  test::TempDir dir;
  for (const std::string& c : commands) {
    std::string cmd = c.substr(std::string("officina").size());
    for (size_t p = 0; (p = cmd.find(" examples/", p)) != std::string::npos;) {
      cmd.replace(p + 1, 0, std::string(OFFICINA_SOURCE_DIR) + "/");
      p += std::string(OFFICINA_SOURCE_DIR).size() + 10;
    }
    std::string full = "cd " + test::shell_quote(dir.path()) + " && " + test::shell_quote(test::officina_binary()) +
                       cmd + " > out.txt 2>&1";
    int status = std::system(full.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << c << "\n" << *read_text_file(dir.path("out.txt"));
  }
}

}  // namespace
}  // namespace officina
