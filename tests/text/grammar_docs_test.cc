// The examples in docs/grammars.md: every ```gbnf block parses, every
// ```json block converts to a grammar, and every file an `officina`
// command there names (--grammar / --json-schema $OUT/NAME) is one of the
// files the page defines ("`NAME`:" just before a block).
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "base/mapped_file.h"
#include "text/json_schema_grammar.h"

namespace officina {
namespace {

struct Block {
  std::string lang, name, text;
};

std::vector<Block> blocks(const std::string& doc) {
  std::vector<Block> out;
  std::istringstream in(doc);
  std::string line, last_text;
  Block* open = nullptr;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      if (open) {
        open = nullptr;
      } else {
        Block b{line.substr(3), "", ""};
        std::smatch m;
        if (std::regex_match(last_text, m, std::regex("`([^`]+)`:.*")) ||
            std::regex_match(last_text, m, std::regex("`([^`]+)` —.*")))
          b.name = m[1];
        out.push_back(b);
        open = &out.back();
      }
      continue;
    }
    if (open) open->text += line + "\n";
    else if (!line.empty()) last_text = line;
  }
  return out;
}

TEST(GrammarDocs, ExamplesParseAndConvert) {
  auto doc = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/docs/grammars.md");
  ASSERT_TRUE(doc) << doc.error().message;
  std::map<std::string, std::string> files;
  int grammars = 0, schemas = 0;
  std::vector<std::string> commands;
  for (const Block& b : blocks(*doc)) {
    if (b.lang == "gbnf") {
      auto g = Grammar::parse(b.text, b.name.empty() ? "docs/grammars.md" : b.name);
      EXPECT_TRUE(g) << g.error().message;
      ++grammars;
    } else if (b.lang == "json") {
      auto g = json_schema_grammar(b.text, b.name.empty() ? "docs/grammars.md" : b.name);
      EXPECT_TRUE(g) << g.error().message;
      ++schemas;
    } else if (b.lang == "sh") {
      std::istringstream in(b.text);
      for (std::string line; std::getline(in, line);)
        if (line.starts_with("officina ")) commands.push_back(line);
    }
    if (!b.name.empty()) files[b.name] = b.text;
  }
  EXPECT_GE(grammars, 3);
  EXPECT_GE(schemas, 2);
  ASSERT_FALSE(commands.empty());
  const std::regex file_flag("--(grammar|json-schema) \\$OUT/(\\S+)");
  for (const std::string& c : commands) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(c, m, file_flag)) << c;
    EXPECT_TRUE(files.contains(m[2])) << c << " names a file the page does not define";
  }
}

}  // namespace
}  // namespace officina
