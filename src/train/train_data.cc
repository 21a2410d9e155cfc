#include "train/train_data.h"

#include <fstream>

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;
constexpr int32_t kIgnore = -100;

// Tokens of a rendered chat text: special tokens written by the template are
// parsed as such, and BOS is added when the tokenizer wants it and the
// template did not write it.
std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids = tok.encode(text, false, /*parse_special=*/true);
  if (tok.add_bos_default() && tok.bos_id() >= 0 && (ids.empty() || ids[0] != tok.bos_id()))
    ids.insert(ids.begin(), tok.bos_id());
  return ids;
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

Result<TrainSample> chat_sample(const OJson& line, const Tokenizer& tok, const DataOptions& options,
                                const std::string& where) {
  if (!options.chat_template) return fail("{}: chat samples need a chat template", where);
  const OJson& messages = line["messages"];
  if (!messages.is_array() || messages.empty()) return fail("{}: \"messages\" must be a non-empty array", where);
  static const std::vector<std::string> kRoles = {"system", "user", "assistant", "tool", "developer", "ipython"};
  bool has_assistant = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const OJson& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return fail("{}: message {} has no \"role\" string", where, i);
    const std::string role = m["role"];
    if (std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end())
      return fail("{}: message {} has unknown role '{}' (system, user, assistant, tool)", where, i, role);
    if (!m.contains("content") && !m.contains("tool_calls"))
      return fail("{}: message {} has neither \"content\" nor \"tool_calls\"", where, i);
    has_assistant = has_assistant || role == "assistant";
  }
  if (!has_assistant) return fail("{}: no assistant message to train on", where);
  OJson tools = line.contains("tools") ? line["tools"] : OJson();
  ChatRenderOptions render = options.render;
  render.add_generation_prompt = false;
  auto full = options.chat_template->render(messages, tools, render);
  if (!full) return fail("{}: the chat template refused this conversation: {}", where, full.error().message);
  TrainSample s;
  s.tokens = encode_chat(tok, *full);
  s.labels.assign(s.tokens.size(), kIgnore);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i]["role"] != "assistant") continue;
    // The assistant's tokens: between the conversation up to its turn (with
    // the generation prompt) and the conversation including it.
    OJson before = OJson::array(), through = OJson::array();
    for (size_t j = 0; j < i; ++j) before.push_back(messages[j]);
    through = before;
    through.push_back(messages[i]);
    ChatRenderOptions prompt_render = options.render;
    prompt_render.add_generation_prompt = true;
    auto pre = options.chat_template->render(before, tools, prompt_render);
    auto post = options.chat_template->render(through, tools, render);
    if (!pre || !post) continue;  // templates that refuse partial conversations: no span for this turn
    size_t begin = common_prefix(encode_chat(tok, *pre), s.tokens);
    size_t end = common_prefix(encode_chat(tok, *post), s.tokens);
    for (size_t t = begin; t < end; ++t) s.labels[t] = s.tokens[t];
  }
  return s;
}

Result<std::vector<int32_t>> int_array(const OJson& j, const std::string& where, const char* field, int64_t vocab,
                                       bool allow_ignore) {
  if (!j.is_array()) return fail("{}: \"{}\" must be an array of integers", where, field);
  std::vector<int32_t> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer()) return fail("{}: \"{}\"[{}] is not an integer", where, field, i);
    int64_t v = j[i].get<int64_t>();
    if (!(allow_ignore && v == kIgnore) && (v < 0 || v >= vocab))
      return fail("{}: \"{}\"[{}] = {} is outside the vocabulary [0, {})", where, field, i, v, vocab);
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

}  // namespace

Result<TrainSample> sample_from_json(const OJson& line, const Tokenizer& tok, const DataOptions& options,
                                     const std::string& where) {
  if (!line.is_object()) return fail("{}: each line must be a JSON object", where);
  TrainSample s;
  if (line.contains("messages")) {
    OFFICINA_TRY(s, chat_sample(line, tok, options, where));
  } else if (line.contains("input_ids")) {
    OFFICINA_TRY(s.tokens, int_array(line["input_ids"], where, "input_ids", tok.vocab_size(), false));
    if (line.contains("labels")) {
      OFFICINA_TRY(s.labels, int_array(line["labels"], where, "labels", tok.vocab_size(), true));
      if (s.labels.size() != s.tokens.size())
        return fail("{}: \"labels\" has {} entries but \"input_ids\" has {}", where, s.labels.size(), s.tokens.size());
    } else {
      s.labels = s.tokens;
    }
  } else if (line.contains("prompt") || line.contains("completion")) {
    if (!line.contains("prompt") || !line["prompt"].is_string() || !line.contains("completion") ||
        !line["completion"].is_string())
      return fail("{}: \"prompt\" and \"completion\" must both be strings", where);
    const std::string prompt = line["prompt"], completion = line["completion"];
    std::vector<int32_t> prompt_ids = tok.encode(prompt, tok.add_bos_default());
    s.tokens = tok.encode(prompt + completion, tok.add_bos_default());
    if (tok.eos_id() >= 0) s.tokens.push_back(tok.eos_id());
    const size_t boundary = common_prefix(prompt_ids, s.tokens);
    s.labels.assign(s.tokens.size(), kIgnore);
    for (size_t t = boundary; t < s.tokens.size(); ++t) s.labels[t] = s.tokens[t];
  } else if (line.contains("text")) {
    if (!line["text"].is_string()) return fail("{}: \"text\" must be a string", where);
    s.tokens = tok.encode(line["text"].get<std::string>(), tok.add_bos_default());
    if (tok.eos_id() >= 0) s.tokens.push_back(tok.eos_id());
    s.labels = s.tokens;
  } else {
    return fail("{}: a sample needs \"messages\", \"prompt\"/\"completion\", \"text\" or \"input_ids\"", where);
  }
  if (s.tokens.empty()) return fail("{}: the sample has no tokens", where);
  return s;
}

Result<std::vector<TrainSample>> load_train_jsonl(const std::string& path, const Tokenizer& tok,
                                                  const DataOptions& options, DataStats* stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot open", path);
  if (options.seq_len < 2) return fail("--seq-len must be at least 2");
  DataStats local;
  DataStats& st = stats ? *stats : local;
  std::vector<TrainSample> out;
  std::string text;
  int64_t line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (text.size() > (64u << 20)) return fail("{}:{}: line longer than 64 MiB", path, line_no);
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++st.lines;
    const std::string where = path + ":" + std::to_string(line_no);
    OJson j = OJson::parse(text, nullptr, false);
    if (j.is_discarded()) return fail("{}: not valid JSON", where);
    OFFICINA_TRY(TrainSample s, sample_from_json(j, tok, options, where));
    s.line = line_no;
    if (static_cast<int64_t>(s.tokens.size()) > options.seq_len) {
      ++st.truncated;
      s.tokens.resize(static_cast<size_t>(options.seq_len));
      s.labels.resize(static_cast<size_t>(options.seq_len));
    }
    int64_t trained = 0;
    for (size_t t = 1; t < s.labels.size(); ++t) trained += s.labels[t] != kIgnore;
    if (trained == 0) {
      ++st.dropped;
      continue;
    }
    ++st.samples;
    st.tokens += static_cast<int64_t>(s.tokens.size());
    st.trained_tokens += trained;
    out.push_back(std::move(s));
  }
  if (in.bad()) return fail("{}: read error", path);
  if (out.empty()) return fail("{}: no samples to train on ({} lines, {} dropped)", path, st.lines, st.dropped);
  return out;
}

std::vector<TrainSequence> make_sequences(const std::vector<TrainSample>& samples, const std::vector<size_t>& order,
                                          int64_t seq_len, bool packing) {
  std::vector<TrainSequence> out;
  TrainSequence current;
  int32_t segment = 0;
  auto flush = [&] {
    if (!current.tokens.empty()) out.push_back(std::move(current));
    current = TrainSequence{};
    segment = 0;
  };
  for (size_t index : order) {
    const TrainSample& s = samples[index];
    if (!packing || static_cast<int64_t>(current.tokens.size() + s.tokens.size()) > seq_len) flush();
    for (size_t t = 0; t < s.tokens.size(); ++t) {
      current.tokens.push_back(s.tokens[t]);
      const int32_t next = t + 1 < s.labels.size() ? s.labels[t + 1] : kIgnore;
      current.targets.push_back(next == kIgnore ? -1 : next);
      current.positions.push_back(static_cast<int32_t>(t));
      current.segments.push_back(segment);
    }
    ++segment;
  }
  flush();
  return out;
}

}  // namespace officina
