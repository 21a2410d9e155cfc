// libFuzzer target: arbitrary bytes as a GBNF grammar, then the same bytes
// as text to match. Parsing must fail cleanly (an error naming the input)
// or give a grammar the matcher can run on any input without crashing,
// looping or growing without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/grammar.h"
#include "text/grammar_matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace officina;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  GrammarLimits limits;
  limits.max_elements = 1u << 16;  // keep each input fast
  auto grammar = Grammar::parse(text, "fuzz.gbnf", limits);
  if (!grammar) {
    if (!grammar.error().message.starts_with("fuzz.gbnf")) __builtin_trap();
    return 0;
  }
  GrammarMatcherLimits matcher_limits;
  matcher_limits.max_stacks = 256;
  matcher_limits.max_expansions = 4096;
  GrammarMatcher m(*grammar, matcher_limits);
  // Feed the input (and a fixed JSON-ish string) in small pieces: accepted
  // pieces must keep the matcher consistent, refused ones must not change it.
  static constexpr std::string_view kFixed = "{\"a\": [1, 2.5, \"x\\n\xC3\xA8\"], \"b\": null}";
  for (std::string_view input : {text, kFixed}) {
    m.reset();
    for (size_t i = 0; i < input.size(); i += 3) {
      std::string_view piece = input.substr(i, 3);
      const bool could = m.can_accept(piece);
      const bool complete = m.is_complete();
      if (m.accept(piece) != could) __builtin_trap();
      if (!could && m.is_complete() != complete) __builtin_trap();
      if (m.must_end() && m.can_continue()) __builtin_trap();
    }
  }
  return 0;
}
