// libFuzzer target: arbitrary bytes as a tokenizer.json. Loading must fail
// cleanly or succeed; a loaded tokenizer must encode a fixed string and the
// input itself, decode the result, and stream it, without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using officina::Tokenizer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tokenizer = Tokenizer::from_json_text(text, "fuzz/tokenizer.json");
  if (!tokenizer) {
    // Errors must be non-empty and name the input.
    if (tokenizer.error().message.find("fuzz/tokenizer.json") == std::string::npos) __builtin_trap();
    return 0;
  }
  const Tokenizer& t = *tokenizer;
  static constexpr std::string_view kFixed =
      "Hello, y'all! Perch\xC3\xA9 \xC3\xA8 gi\xC3\xA0 1234567 \xF0\x9F\xA6\x99 <s></s>\n\n \t<|eot_id|>";
  for (std::string_view input : {kFixed, text}) {
    for (bool parse_special : {true, false}) {
      const auto ids = t.encode(input, /*add_bos=*/true, parse_special);
      for (int32_t id : ids)
        if (id < 0 || id >= t.vocab_size()) __builtin_trap();
      (void)t.decode(ids, /*skip_special=*/false);
      officina::TokenStreamDecoder stream(t);
      for (int32_t id : ids) (void)stream.feed(id);
      (void)stream.flush();
    }
  }
  (void)t.gguf_metadata();
  return 0;
}
