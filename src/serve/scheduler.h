// Continuous batching for the server. One engine thread owns the
// Transformer and a KV cache of `parallel` slots. Every step it admits
// waiting requests into free slots, then runs ONE forward pass holding a
// decode row for every running sequence plus prompt rows of the sequences
// still prefilling (at most `step_tokens` rows in all, so a long prompt is
// prefilled in chunks while the others keep decoding). Rows of one batch may
// use different LoRA adapters (an adapter index per row, never a split).
// Prefix reuse: a slot remembers the tokens whose keys/values it holds; a new
// request goes to the free slot sharing the longest prefix with its prompt
// (same adapter), or has that prefix copied from any slot, and skips its
// prefill. Each sequence is decoded by its own SequenceDecoder, so a greedy
// request gives the same tokens alone or in a batch (the int8 matmul paths
// are batch-invariant bit for bit).
// Events are delivered on the engine thread; callbacks must not block.
// Thread-safety: submit(), embed(), stats() and the destructor may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "generate/sequence_decoder.h"
#include "model/kv_cache.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "model/transformer.h"

namespace officina {

struct SchedulerOptions {
  int64_t parallel = 4;       // sequences decoded together (KV-cache slots)
  int64_t context = 4096;     // positions per slot
  int threads = 0;            // engine threads (0: all cores)
  int64_t max_queue = 64;     // waiting requests beyond which submit() refuses
  int64_t step_tokens = 128;  // rows per forward pass (decode rows + prefill chunk)
  bool prefix_reuse = true;
};

struct SequenceEvent {
  enum class Kind { Text, Done, Failed };
  Kind kind = Kind::Text;
  std::string text;  // Text: the piece completed by this token (may be empty)
  int32_t token = -1;
  std::optional<TokenLogprob> logprob;
  std::vector<TokenLogprob> top;
  // Done:
  std::string finish;  // "stop", "length", "cancelled", "timeout"
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  // Failed:
  std::string error;
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  DecodeOptions decode;
  // Keeps whatever decode points to (grammar, token filter) alive.
  std::shared_ptr<const void> keep_alive;
  std::shared_ptr<const LoraAdapter> adapter;  // null: the base model
  std::string adapter_key;                     // identity of the adapter for prefix reuse ("" = base)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::shared_ptr<std::atomic<bool>> cancel;   // set by the caller to stop (client gone)
  std::function<void(const SequenceEvent&)> on_event;  // called on the engine thread
};

struct SchedulerStats {
  int64_t queued = 0;
  int64_t active = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;     // prefilled (not reused)
  int64_t reused_tokens = 0;     // prompt tokens taken from the cache
  int64_t generated_tokens = 0;
  int64_t max_batch_rows = 0;
};

class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> create(const Model& model, const SchedulerOptions& options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. Fails with "queue full" when max_queue requests wait,
  // or at once on a prompt that cannot fit the context. All other outcomes
  // arrive as events (exactly one Done or Failed per request).
  Result<void> submit(SequenceRequest request);
  // Mean of the final-normed hidden states over the tokens, L2-normalised
  // (runs on the engine thread between steps; blocks the caller).
  Result<std::vector<float>> embed(std::vector<int32_t> tokens, std::shared_ptr<const LoraAdapter> adapter = nullptr);

  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return options_; }
  const Model& model() const { return model_; }

 private:
  struct Sequence;
  struct EmbedJob;
  Scheduler(const Model& model, const SchedulerOptions& options, KvCache cache);
  void run();
  void admit();
  void step();
  void run_embed(EmbedJob& job);
  void finish(Sequence& seq, const std::string& reason);
  void fail_sequence(Sequence& seq, const std::string& message);
  int64_t choose_slot(const SequenceRequest& request, int64_t& reuse, int64_t& copy_from);

  const Model& model_;
  SchedulerOptions options_;
  ThreadPool pool_;
  Transformer transformer_;
  KvCache cache_;
  std::vector<float> logits_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SequenceRequest> queue_;
  std::deque<std::shared_ptr<EmbedJob>> embed_jobs_;
  bool stopping_ = false;
  SchedulerStats stats_;

  // Engine-thread state.
  std::vector<std::unique_ptr<Sequence>> running_;
  std::vector<std::vector<int32_t>> slot_tokens_;  // tokens whose K/V each slot holds
  std::vector<std::string> slot_adapter_;
  std::vector<int64_t> slot_used_;                 // step of last use (least recently used goes first)
  std::vector<bool> slot_busy_;
  std::thread thread_;
};

}  // namespace officina
