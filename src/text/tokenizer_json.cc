// Loading a Hugging Face tokenizer.json (+ tokenizer_config.json).
#include <fmt/format.h>

#include "base/mapped_file.h"
#include "text/tokenizer_impl.h"
#include "text/tokenizer_json_parts.h"
#include "text/utf8.h"

namespace officina {

namespace {

// Ids far beyond the number of entries would make the tables huge; real
// vocabularies are dense.
constexpr int64_t kMaxIdGap = 1 << 16;

struct LoadedEntry {
  int64_t id;
  std::string text;
};

// Reads model.vocab and added_tokens into the vocabulary (ids in file order),
// and registers the added tokens with the matcher.
Result<void> load_vocabulary(const JsonAt& root, const JsonAt& model, bool byte_fallback, Tokenizer::Impl& impl,
                             std::vector<bool>& in_model_vocab) {
  JsonAt vocab = model.child("vocab");
  if (!vocab.present()) return vocab.error("missing vocab (expected an object of token -> id)");
  if (!vocab.value.is_object())
    return vocab.error(fmt::format("expected an object of token -> id, found {}", json_type_name(vocab.value)));
  std::vector<LoadedEntry> entries;
  entries.reserve(vocab.value.size());
  int64_t max_id = -1;
  for (auto it = vocab.value.begin(); it != vocab.value.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      return vocab.error(fmt::format("token '{}': id must be a non-negative integer", utf8_printable(it.key())));
    entries.push_back({it.value().get<int64_t>(), it.key()});
    max_id = std::max(max_id, entries.back().id);
  }
  if (entries.empty()) return vocab.error("the vocabulary is empty");

  JsonAt added = root.child("added_tokens");
  std::vector<AddedToken> added_tokens;
  if (added.present()) {
    if (!added.value.is_array()) return added.error("expected an array");
    for (size_t i = 0; i < added.value.size(); ++i) {
      JsonAt t = added.item(i);
      JsonAt id = t.child("id");
      if (!id.value.is_number_integer() || id.value.get<int64_t>() < 0)
        return id.error("expected a non-negative integer");
      AddedToken token;
      token.id = static_cast<int32_t>(std::min<int64_t>(id.value.get<int64_t>(), INT32_MAX));
      OFFICINA_TRY(token.content, json_get_string(t.child("content")));
      OFFICINA_TRY(token.special, json_get_bool_or(t, "special", false));
      OFFICINA_TRY(token.lstrip, json_get_bool_or(t, "lstrip", false));
      OFFICINA_TRY(token.rstrip, json_get_bool_or(t, "rstrip", false));
      OFFICINA_TRY(token.single_word, json_get_bool_or(t, "single_word", false));
      if (token.content.empty()) return t.child("content").error("empty token");
      max_id = std::max<int64_t>(max_id, id.value.get<int64_t>());
      added_tokens.push_back(std::move(token));
    }
  }
  const int64_t count = static_cast<int64_t>(entries.size() + added_tokens.size());
  if (max_id >= count + kMaxIdGap || max_id >= INT32_MAX)
    return vocab.error(fmt::format("token id {} is far beyond the {} entries (ids must be dense)", max_id, count));

  const auto size = static_cast<size_t>(max_id + 1);
  std::vector<std::string> texts(size);
  std::vector<TokenType> types(size, TokenType::Unused);
  in_model_vocab.assign(size, false);
  for (LoadedEntry& e : entries) {
    if (in_model_vocab[e.id])
      return vocab.error(fmt::format("id {} is used by both '{}' and '{}'", e.id, utf8_printable(texts[e.id]),
                                     utf8_printable(e.text)));
    in_model_vocab[e.id] = true;
    types[e.id] = byte_fallback && parse_byte_token(e.text) ? TokenType::Byte : TokenType::Normal;
    texts[e.id] = std::move(e.text);
  }
  for (AddedToken& t : added_tokens) {
    texts[t.id] = t.content;
    types[t.id] = t.special ? TokenType::Control : TokenType::UserDefined;
    impl.added.add(std::move(t));
  }
  impl.vocab = Vocabulary();
  for (size_t id = 0; id < size; ++id) impl.vocab.add(std::move(texts[id]), types[id]);
  return {};
}

// One merge: "left right" or ["left", "right"].
Result<std::pair<std::string, std::string>> merge_parts(const JsonAt& at) {
  if (at.value.is_array()) {
    if (at.value.size() != 2) return at.error("expected two tokens");
    OFFICINA_TRY(std::string left, json_get_string(at.item(0)));
    OFFICINA_TRY(std::string right, json_get_string(at.item(1)));
    return std::pair{std::move(left), std::move(right)};
  }
  OFFICINA_TRY(std::string line, json_get_string(at));
  const size_t space = line.find(' ');
  if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos || space == 0 ||
      space + 1 == line.size())
    return at.error(fmt::format("expected \"left right\", found '{}'", utf8_printable(line)));
  return std::pair{line.substr(0, space), line.substr(space + 1)};
}

Result<void> load_merges(const JsonAt& model, Tokenizer::Impl& impl) {
  JsonAt merges = model.child("merges");
  if (!merges.present()) return {};
  if (!merges.value.is_array()) return merges.error("expected an array");
  impl.bpe.reserve(merges.value.size());
  for (size_t i = 0; i < merges.value.size(); ++i) {
    JsonAt at = merges.item(i);
    OFFICINA_TRY(auto parts, merge_parts(at));
    auto left = impl.vocab.find_text(parts.first);
    if (!left) return at.error(fmt::format("merge refers to unknown token '{}'", utf8_printable(parts.first)));
    auto right = impl.vocab.find_text(parts.second);
    if (!right) return at.error(fmt::format("merge refers to unknown token '{}'", utf8_printable(parts.second)));
    auto result = impl.vocab.find_text(parts.first + parts.second);
    if (!result)
      return at.error(
          fmt::format("merged token '{}' is not in the vocabulary", utf8_printable(parts.first + parts.second)));
    impl.bpe.add_rule(*left, *right, static_cast<int32_t>(i), *result);
  }
  return {};
}

// bos_token / eos_token of tokenizer_config.json: a string or {"content": ...}.
Result<std::optional<int32_t>> config_token(const JsonAt& config, std::string_view key, const Vocabulary& vocab) {
  JsonAt at = config.child(key);
  if (!at.present()) return std::optional<int32_t>();
  OFFICINA_TRY(std::string text, json_get_string(at.value.is_object() ? at.child("content") : at));
  auto id = vocab.find_text(text);
  if (!id) return at.error(fmt::format("token '{}' is not in the vocabulary", utf8_printable(text)));
  return id;
}

Result<void> apply_config(std::string_view config_text, std::string_view config_where, Tokenizer::Impl& impl) {
  OFFICINA_CHECK(check_utf8_text(config_text, config_where));
  OFFICINA_TRY(Json json, parse_json(config_text, config_where));
  JsonAt config{json, config_where, ""};
  if (!json.is_object()) return config.error("expected a JSON object");
  OFFICINA_TRY(auto bos, config_token(config, "bos_token", impl.vocab));
  if (bos) impl.bos = *bos;
  OFFICINA_TRY(auto eos, config_token(config, "eos_token", impl.vocab));
  if (eos) impl.eos = *eos;
  if (config.child("add_bos_token").present()) {
    OFFICINA_TRY(impl.add_bos, json_get_bool_or(config, "add_bos_token", false));
  }
  return {};
}

Result<Tokenizer::Impl> load_tokenizer_json(std::string_view text, std::string_view where, std::string_view config_text,
                                            std::string_view config_where) {
  OFFICINA_CHECK(check_utf8_text(text, where));
  OFFICINA_TRY(Json json, parse_json(text, where));
  JsonAt root{json, where, ""};
  if (!json.is_object()) return root.error(fmt::format("expected a JSON object, found {}", json_type_name(json)));
  JsonAt model = root.child("model");
  if (!model.value.is_object())
    return model.error(model.present() ? "expected an object" : "missing (no tokenizer model)");
  std::string type = "BPE";
  if (model.child("type").present()) {
    OFFICINA_TRY(type, json_get_string(model.child("type")));
  }
  if (type == "Unigram" || type == "WordPiece" || type == "WordLevel")
    return model.child("type").error(
        fmt::format("model type '{}' is not supported (officina reads BPE models)", utf8_printable(type)));
  if (type != "BPE") return model.child("type").error(fmt::format("unknown model type '{}'", utf8_printable(type)));
  for (std::string_view key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    OFFICINA_TRY(auto affix, json_get_optional_string(model, key));
    if (affix && !affix->empty()) return model.child(key).error("subword prefixes/suffixes are not supported");
  }

  Tokenizer::Impl impl;
  impl.where = std::string(where);
  BpeOptions& options = impl.bpe.options();
  OFFICINA_TRY(options.byte_fallback, json_get_bool_or(model, "byte_fallback", false));
  OFFICINA_TRY(options.ignore_merges, json_get_bool_or(model, "ignore_merges", false));
  OFFICINA_TRY(options.fuse_unk, json_get_bool_or(model, "fuse_unk", false));
  bool byte_level = false;
  OFFICINA_CHECK(parse_json_normalizer(root.child("normalizer"), impl.pipeline));
  OFFICINA_CHECK(parse_json_pre_tokenizer(root.child("pre_tokenizer"), impl.pipeline, &byte_level));
  impl.kind = byte_level ? TokenizerKind::ByteLevelBpe : TokenizerKind::SentencePieceBpe;
  options.byte_level = byte_level;

  std::vector<bool> in_model_vocab;
  OFFICINA_CHECK(load_vocabulary(root, model, options.byte_fallback, impl, in_model_vocab));
  impl.vocab.build_index(byte_level, in_model_vocab);
  OFFICINA_CHECK(load_merges(model, impl));

  OFFICINA_TRY(auto unk, json_get_optional_string(model, "unk_token"));
  if (unk) {
    auto id = impl.vocab.find_text(*unk);
    if (!id)
      return model.child("unk_token").error(fmt::format("token '{}' is not in the vocabulary", utf8_printable(*unk)));
    options.unk_id = *id;
    if (impl.vocab.type[*id] == TokenType::Control || impl.vocab.type[*id] == TokenType::Normal)
      impl.vocab.type[*id] = TokenType::Unknown;
  }

  OFFICINA_TRY(auto bos_text, parse_json_post_processor_bos(root.child("post_processor")));
  if (bos_text) {
    auto id = impl.vocab.find_text(*bos_text);
    if (!id)
      return root.child("post_processor")
          .error(fmt::format("token '{}' is not in the vocabulary", utf8_printable(*bos_text)));
    impl.bos = *id;
    impl.add_bos = true;
  }
  if (!config_text.empty()) OFFICINA_CHECK(apply_config(config_text, config_where, impl));
  if (impl.eos < 0) {
    for (std::string_view name : fallback_eos_token_names()) {
      auto id = impl.vocab.find_text(name);
      if (id && impl.vocab.type[*id] == TokenType::Control) {
        impl.eos = *id;
        break;
      }
    }
  }
  OFFICINA_CHECK(impl.finish({}));
  return impl;
}

std::string config_where_for(std::string_view where) {
  constexpr std::string_view kName = "tokenizer.json";
  if (where.ends_with(kName))
    return fmt::format("{}tokenizer_config.json", where.substr(0, where.size() - kName.size()));
  return fmt::format("{} (tokenizer_config.json)", where);
}

}  // namespace

Result<Tokenizer> Tokenizer::from_json_text(std::string_view tokenizer_json, std::string_view where,
                                            std::string_view tokenizer_config_json) {
  try {
    OFFICINA_TRY(Impl impl, load_tokenizer_json(tokenizer_json, where, tokenizer_config_json, config_where_for(where)));
    return Tokenizer(std::make_unique<Impl>(std::move(impl)));
  } catch (const std::exception& e) {
    // nlohmann accessors throw only on programmer error here; report, never crash.
    return fail("{}: {}", where, e.what());
  }
}

Result<Tokenizer> Tokenizer::from_json_files(const std::string& tokenizer_json,
                                             const std::string& tokenizer_config_json) {
  OFFICINA_TRY(std::string text, read_text_file(tokenizer_json, 1ull << 30));
  std::string config;
  if (!tokenizer_config_json.empty()) {
    OFFICINA_TRY(config, read_text_file(tokenizer_config_json, 64u << 20));
  }
  try {
    OFFICINA_TRY(Impl impl, load_tokenizer_json(text, tokenizer_json, config, tokenizer_config_json));
    return Tokenizer(std::make_unique<Impl>(std::move(impl)));
  } catch (const std::exception& e) {
    return fail("{}: {}", tokenizer_json, e.what());
  }
}

}  // namespace officina
