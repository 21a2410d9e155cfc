// Pieces of the tokenizer.json loader shared between tokenizer_json.cc (the
// model, added tokens, special ids) and tokenizer_json_pipeline.cc (the
// normalizer, pre-tokenizer and post-processor sections). Internal.
// Every error reads "WHERE: JSON.PATH: problem".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json_util.h"
#include "text/text_pipeline.h"

namespace officina {

// A JSON value with the file it came from and its path inside it.
struct JsonAt {
  const Json& value;
  std::string_view where;
  std::string path;

  JsonAt child(std::string_view key) const;  // value[key] (may be null)
  JsonAt item(size_t index) const;           // value[index]
  bool present() const { return !value.is_null(); }
  std::unexpected<Error> error(std::string_view problem) const;
};

std::string_view json_type_name(const Json& value);
Result<std::string> json_get_string(const JsonAt& at);
// The optional field `key` of an object: the fallback when absent or null.
Result<bool> json_get_bool_or(const JsonAt& object, std::string_view key, bool fallback);
Result<std::optional<std::string>> json_get_optional_string(const JsonAt& object, std::string_view key);
// The string "type" of a component object.
Result<std::string> json_component_type(const JsonAt& at);

// Appends the steps of the normalizer / pre_tokenizer sections; sets
// *byte_level when a ByteLevel pre-tokenizer is present.
Result<void> parse_json_normalizer(const JsonAt& at, TextPipeline& pipeline);
Result<void> parse_json_pre_tokenizer(const JsonAt& at, TextPipeline& pipeline, bool* byte_level);

// The BOS token a TemplateProcessing post-processor puts in front of a
// single sequence (its "id" text), nullopt when it adds none.
Result<std::optional<std::string>> parse_json_post_processor_bos(const JsonAt& at);

// "where: invalid UTF-8 at byte N (line L)" when text is not valid UTF-8.
Result<void> check_utf8_text(std::string_view text, std::string_view where);

}  // namespace officina
