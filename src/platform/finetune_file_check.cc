#include "platform/finetune_file_check.h"

#include <algorithm>
#include <exception>

#include "text/utf8.h"
#include "train/train_data.h"

namespace officina {
namespace {

constexpr int32_t kIgnore = -100;  // train_data's "not trained" label

enum Kind : unsigned { kChat = 1, kPromptCompletion = 2, kText = 4, kTokens = 8 };

// The sample's format, by the precedence sample_from_json applies.
Kind kind_of(const nlohmann::ordered_json& line) {
  if (line.contains("messages")) return kChat;
  if (line.contains("input_ids")) return kTokens;
  if (line.contains("prompt") || line.contains("completion")) return kPromptCompletion;
  return kText;
}

std::string format_name(unsigned kinds) {
  switch (kinds) {
    case kChat: return "chat";
    case kPromptCompletion: return "prompt_completion";
    case kText: return "text";
    case kTokens: return "tokens";
    default: return "mixed";
  }
}

// The deepest nesting of arrays and objects, stopping early past `limit`.
// Runs before parsing because the parser itself copes with any depth but
// copies, comparisons and the chat template's conversion of the parsed value
// recurse.
int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag,
// kept to one printable line whatever the input held.
std::string json_error_text(const std::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    if (size_t close = what.find("] "); close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return utf8_printable(what, 200);
}

}  // namespace

nlohmann::json FileCheckReport::to_json() const {
  return nlohmann::json{{"format", format},
                        {"lines", lines},
                        {"samples", samples},
                        {"dropped", dropped},
                        {"total_tokens", total_tokens},
                        {"trained_tokens", trained_tokens},
                        {"min_tokens", min_tokens},
                        {"max_tokens", max_tokens},
                        {"mean_tokens", mean_tokens},
                        {"over_seq_len", over_seq_len}};
}

FineTuneFileChecker::FineTuneFileChecker(FileCheckOptions options) : options_(std::move(options)) {
  // The options come from the caller, but a spent checker is the one way to
  // report them that every later call repeats.
  if (!options_.tokenizer) {
    error_ = Error{"fine-tune file check: no tokenizer given"};
  } else if (options_.seq_len < 2) {
    error_ = Error{fmt::format("fine-tune file check: seq_len must be at least 2, not {}", options_.seq_len)};
  } else if (options_.max_lines < 1 || options_.max_line_bytes < 1 || options_.max_messages < 1) {
    error_ = Error{"fine-tune file check: max_lines, max_line_bytes and max_messages must be positive"};
  }
}

Result<void> FineTuneFileChecker::record(Result<void> outcome) {
  if (!outcome) error_ = outcome.error();
  return outcome;
}

Result<void> FineTuneFileChecker::feed(std::string_view bytes) {
  if (error_) return std::unexpected(*error_);
  if (finished_) return fail("fine-tune file check: feed() after finish()");
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t newline = bytes.find('\n', pos);
    const size_t end = newline == std::string_view::npos ? bytes.size() : newline;
    if (pending_.size() + (end - pos) > options_.max_line_bytes)
      return record(fail("line {}: longer than {} bytes", line_no_ + 1, options_.max_line_bytes));
    if (newline == std::string_view::npos) {
      pending_.append(bytes.substr(pos));
      return {};
    }
    if (++line_no_ > options_.max_lines)
      return record(fail("line {}: the file has more than {} lines", line_no_, options_.max_lines));
    Result<void> checked;
    if (pending_.empty()) {
      checked = check_line(bytes.substr(pos, end - pos));  // the common case: no copy
    } else {
      pending_.append(bytes.substr(pos, end - pos));
      checked = check_line(pending_);
      pending_.clear();
    }
    if (!checked) return record(std::move(checked));
    pos = newline + 1;
  }
  return {};
}

Result<FileCheckReport> FineTuneFileChecker::finish() {
  if (error_) return std::unexpected(*error_);
  if (finished_) return fail("fine-tune file check: finish() called twice");
  finished_ = true;
  if (!pending_.empty()) {
    // The last line had no '\n'.
    Result<void> checked = ++line_no_ > options_.max_lines
                               ? fail("line {}: the file has more than {} lines", line_no_, options_.max_lines)
                               : check_line(pending_);
    pending_.clear();
    if (!checked) {
      record(checked);
      return std::unexpected(std::move(checked).error());
    }
  }
  if (report_.lines == 0) {
    record(fail("the file is empty: a fine-tuning file has one JSON sample per line"));
    return std::unexpected(*error_);
  }
  if (report_.samples == 0) {
    record(fail("no samples to train on ({} lines, {} with nothing to train once cut at {} tokens)", report_.lines,
                report_.dropped, options_.seq_len));
    return std::unexpected(*error_);
  }
  FileCheckReport out = report_;
  out.format = format_name(kinds_);
  out.mean_tokens = static_cast<double>(full_tokens_) / static_cast<double>(out.samples);
  return out;
}

Result<void> FineTuneFileChecker::check_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return {};  // blank: skipped, as the trainer does
  ++report_.lines;
  const std::string where = "line " + std::to_string(line_no_);
  if (line.find('\0') != std::string_view::npos) return fail("{}: contains a NUL byte", where);
  if (size_t bad = utf8_find_invalid(line); bad != std::string_view::npos)
    return fail("{}: invalid UTF-8 at byte {} of the line", where, bad + 1);
  if (json_depth(line, kMaxDepth) > kMaxDepth) return fail("{}: JSON nested deeper than {} levels", where, kMaxDepth);

  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(line.begin(), line.end());
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: not valid JSON: {}", where, json_error_text(e));
  }
  if (json.is_object() && json.contains("messages") && json["messages"].is_array() &&
      static_cast<int64_t>(json["messages"].size()) > options_.max_messages)
    return fail("{}: {} messages in one sample; at most {} are accepted", where, json["messages"].size(),
                options_.max_messages);
  DataOptions data;
  data.seq_len = options_.seq_len;
  data.chat_template = options_.chat_template;
  data.render = options_.render;
  Result<TrainSample> parsed = [&]() -> Result<TrainSample> {
    try {
      return sample_from_json(json, *options_.tokenizer, data, where);
    } catch (const std::exception& e) {
      // The trainer checks before it reads; this only guards the layer edge.
      return fail("{}: {}", where, json_error_text(e));
    }
  }();
  if (!parsed) return std::unexpected(std::move(parsed).error());
  kinds_ |= kind_of(json);

  // The trainer's accounting (load_train_jsonl): cut at seq_len, count the
  // predicted tokens (labels after the next-token shift), drop what has none.
  const TrainSample& sample = *parsed;
  const int64_t full = static_cast<int64_t>(sample.tokens.size());
  const int64_t kept = std::min(full, options_.seq_len);
  if (full > options_.seq_len) ++report_.over_seq_len;
  int64_t trained = 0;
  for (int64_t t = 1; t < kept && t < static_cast<int64_t>(sample.labels.size()); ++t)
    trained += sample.labels[static_cast<size_t>(t)] != kIgnore;
  if (trained == 0) {
    ++report_.dropped;
    return {};
  }
  report_.min_tokens = report_.samples == 0 ? full : std::min(report_.min_tokens, full);
  report_.max_tokens = std::max(report_.max_tokens, full);
  ++report_.samples;
  report_.total_tokens += kept;
  report_.trained_tokens += trained;
  full_tokens_ += full;
  return {};
}

}  // namespace officina
