// Validation of a fine-tuning upload (POST /v1/files with purpose
// "fine-tune"): a JSONL file, one sample per line, checked while it streams
// in. Each line goes through the trainer's own sample_from_json
// (train/train_data.h), so the platform accepts exactly what `officina train`
// accepts, with the same tokenizer, chat template and seq_len the job will
// use. On top of that it bounds what an upload may cost: lines of at most
// max_line_bytes, at most max_lines lines, JSON nested at most kMaxDepth
// deep, at most max_messages messages in a chat sample (the trainer renders
// the conversation again for each assistant turn, so a sample's cost grows
// with the square of its messages), and only valid UTF-8.
//
// Blank lines (nothing but spaces, tabs and '\r') are skipped, as the trainer
// skips them; they still count for line numbers. A last line without '\n' is
// fine. A file without a single trainable sample is an error, as in the
// trainer.
//
// The report counts lines (non-blank), samples (kept by the trainer), and
// samples dropped because nothing was left to train after cutting at
// seq_len. min/max/mean_tokens are over the kept samples at their full
// length; over_seq_len counts every sample longer than seq_len (the trainer
// cuts it, and drops it when nothing trainable is left); total_tokens and
// trained_tokens are what the trainer will see after cutting (trained tokens
// are the predicted ones, after the next-token shift).
//
// Errors name the line: "line 12: message 1 has unknown role 'bot' ...",
// "line 3: not valid JSON: ...", "line 7: longer than 1048576 bytes". After
// the first error the checker is spent: feed() and finish() repeat it.
// Thread-safety: one checker per upload, used from one thread at a time; the
// tokenizer and chat template are only read and may be shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace officina {

struct FileCheckOptions {
  const Tokenizer* tokenizer = nullptr;          // required
  const ChatTemplate* chat_template = nullptr;   // required for {"messages"} lines
  ChatRenderOptions render;                      // bos/eos texts for the template
  int64_t seq_len = 1024;                        // the job's sequence length (>= 2)
  int64_t max_lines = 1'000'000;                 // physical lines, blank ones included
  size_t max_line_bytes = size_t{1} << 20;       // bytes before the '\n'
  int64_t max_messages = 256;                    // per chat sample
};

struct FileCheckReport {
  std::string format;  // "chat", "prompt_completion", "text", "tokens", or "mixed"
  int64_t lines = 0;   // non-blank lines
  int64_t samples = 0;
  int64_t dropped = 0;  // nothing to train once cut at seq_len
  int64_t total_tokens = 0;
  int64_t trained_tokens = 0;
  int64_t min_tokens = 0;
  int64_t max_tokens = 0;
  int64_t over_seq_len = 0;
  double mean_tokens = 0.0;

  // {"format", "lines", "samples", ...}: every field above under its name.
  nlohmann::json to_json() const;
};

class FineTuneFileChecker {
 public:
  // Nesting of JSON arrays and objects allowed on one line: far more than any
  // real sample needs, few enough that nothing downstream recurses deeply.
  static constexpr int kMaxDepth = 64;

  explicit FineTuneFileChecker(FileCheckOptions options);

  // Takes the next bytes of the upload, in pieces of any size; complete lines
  // are checked now, so an error names its line as soon as it is seen. Fails
  // on the first bad line, or on options without a tokenizer or with seq_len
  // below 2.
  Result<void> feed(std::string_view bytes);
  // Checks the last line (if it had no '\n') and returns the report. Fails on
  // a bad last line, on a file without samples, and when called twice.
  Result<FileCheckReport> finish();

 private:
  Result<void> check_line(std::string_view line);
  Result<void> record(Result<void> outcome);

  FileCheckOptions options_;
  std::string pending_;  // the current line's bytes so far
  int64_t line_no_ = 0;  // physical lines completed
  int64_t full_tokens_ = 0;
  unsigned kinds_ = 0;   // bit per format seen
  FileCheckReport report_;
  std::optional<Error> error_;
  bool finished_ = false;
};

}  // namespace officina
