// Training data for fine-tuning, from JSONL (one sample per line):
//   {"messages": [...], "tools": [...]?}   OpenAI chat fine-tuning format,
//       rendered with the model's chat template; only the assistant's turns
//       (their text and end-of-turn token) are trained
//   {"prompt": "...", "completion": "..."} the completion (+ EOS) is trained
//   {"text": "..."}                         every token (+ EOS) is trained
//   {"input_ids": [...], "labels": [...]?} used as given; labels aligned with
//       input_ids, -100 = not trained (default: labels = input_ids)
// The next-token shift happens when samples become TrainSequences.
// Samples longer than seq_len keep their first seq_len tokens (counted as
// truncated); samples left with nothing to train are dropped (counted).
// Packing puts several samples in one sequence of at most seq_len tokens with
// attention kept inside each sample and positions restarting per sample.
// Errors name the file and line: "train.jsonl:12: unknown role 'bot'".
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/lora_trainer.h"

namespace officina {

struct TrainSample {
  std::vector<int32_t> tokens;
  std::vector<int32_t> labels;  // aligned with tokens; -100 = not trained
  int64_t line = 0;
};

struct DataOptions {
  int64_t seq_len = 1024;
  const ChatTemplate* chat_template = nullptr;  // needed for {"messages"} samples
  ChatRenderOptions render;                     // bos/eos texts for the template
};

struct DataStats {
  int64_t lines = 0;
  int64_t samples = 0;
  int64_t truncated = 0;  // longer than seq_len, cut
  int64_t dropped = 0;    // nothing left to train after cutting
  int64_t tokens = 0;
  int64_t trained_tokens = 0;
};

// Reads and tokenizes a JSONL file (at most 4 GiB). Fails on the first bad
// line with "FILE:LINE: ...", and on a file without samples.
Result<std::vector<TrainSample>> load_train_jsonl(const std::string& path, const Tokenizer& tokenizer,
                                                  const DataOptions& options, DataStats* stats);

// One sample from one parsed JSON line (`where` names it in errors).
Result<TrainSample> sample_from_json(const nlohmann::ordered_json& line, const Tokenizer& tokenizer,
                                     const DataOptions& options, const std::string& where);

// Builds sequences from the samples in `order` (indices into samples): one
// per sample, or packed into sequences of at most seq_len tokens.
std::vector<TrainSequence> make_sequences(const std::vector<TrainSample>& samples, const std::vector<size_t>& order,
                                          int64_t seq_len, bool packing);

}  // namespace officina
