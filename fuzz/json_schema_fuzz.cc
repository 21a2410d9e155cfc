// libFuzzer target: arbitrary bytes as a JSON Schema. Conversion must fail
// cleanly (an error naming the input) or give GBNF text that parses as a
// grammar (the converter never writes an invalid grammar, except for
// left-recursive or empty $ref cycles, which the grammar check refuses).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/grammar_matcher.h"
#include "text/json_schema_grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace officina;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonSchemaLimits limits;
  limits.max_rules = 2000;
  limits.max_items = 200;
  auto gbnf = json_schema_to_gbnf(text, "fuzz.json", limits);
  if (!gbnf) {
    if (!gbnf.error().message.starts_with("fuzz.json")) __builtin_trap();
    return 0;
  }
  auto grammar = Grammar::parse(*gbnf, "generated");
  if (!grammar) {
    const std::string& e = grammar.error().message;
    if (e.find("left recursion") == std::string::npos && e.find("can never match") == std::string::npos)
      __builtin_trap();  // the converter wrote a grammar that does not parse
    return 0;
  }
  GrammarMatcher m(*grammar);
  for (std::string_view doc : {"{}", "[]", "null", "{\"a\": 1}", "\"s\"", "0"}) {
    m.reset();
    (void)m.accept(doc);
    (void)m.is_complete();
  }
  return 0;
}
