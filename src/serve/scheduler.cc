#include "serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>


namespace officina {

struct Scheduler::Sequence {
  SequenceRequest request;
  std::unique_ptr<SequenceDecoder> decoder;
  int64_t slot = 0;
  int64_t prefilled = 0;  // prompt positions whose K/V are in the slot
  int64_t reused = 0;
  int32_t next_token = -1;  // the token to run next while decoding
  bool decoding = false;
  bool done = false;
};

struct Scheduler::EmbedJob {
  std::vector<int32_t> tokens;
  std::shared_ptr<const LoraAdapter> adapter;
  std::promise<Result<std::vector<float>>> result;
};

Result<std::unique_ptr<Scheduler>> Scheduler::create(const Model& model, const SchedulerOptions& options) {
  if (options.parallel < 1 || options.parallel > 1024) return fail("--parallel must be in [1, 1024], got {}", options.parallel);
  if (options.context < 8) return fail("--ctx must be at least 8, got {}", options.context);
  if (options.step_tokens < 1) return fail("step tokens must be at least 1");
  // One more slot than sequences: the embeddings' scratch slot.
  KvCache cache;
  OFFICINA_TRY(cache, KvCache::create(model.config(), options.parallel + 1, options.context, default_kv_precision(model)));
  return std::unique_ptr<Scheduler>(new Scheduler(model, options, std::move(cache)));
}

Scheduler::Scheduler(const Model& model, const SchedulerOptions& options, KvCache cache)
    : model_(model),
      options_(options),
      pool_(options.threads),
      transformer_(model, pool_),
      cache_(std::move(cache)),
      slot_tokens_(static_cast<size_t>(options.parallel)),
      slot_adapter_(static_cast<size_t>(options.parallel)),
      slot_used_(static_cast<size_t>(options.parallel), 0),
      slot_busy_(static_cast<size_t>(options.parallel), false) {
  thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  SequenceEvent event;
  event.kind = SequenceEvent::Kind::Failed;
  event.error = "the server is shutting down";
  for (auto& seq : running_)
    if (!seq->done && seq->request.on_event) seq->request.on_event(event);
  for (auto& request : queue_)
    if (request.on_event) request.on_event(event);
  for (auto& job : embed_jobs_) job->result.set_value(fail("the server is shutting down"));
}

Result<void> Scheduler::submit(SequenceRequest request) {
  if (request.prompt.empty()) return fail("the prompt has no tokens");
  if (static_cast<int64_t>(request.prompt.size()) >= options_.context)
    return fail("context full: the prompt has {} tokens but a sequence holds at most {}", request.prompt.size(),
                options_.context);
  for (int32_t t : request.prompt)
    if (t < 0 || t >= model_.config().vocab_size) return fail("token id {} is outside the vocabulary", t);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return fail("the server is shutting down");
    if (static_cast<int64_t>(queue_.size()) >= options_.max_queue)
      return fail("queue full: {} requests are waiting", queue_.size());
    queue_.push_back(std::move(request));
    stats_.queued = static_cast<int64_t>(queue_.size());
  }
  wake_.notify_all();
  return {};
}

Result<std::vector<float>> Scheduler::embed(std::vector<int32_t> tokens, std::shared_ptr<const LoraAdapter> adapter) {
  if (tokens.empty()) return fail("the input has no tokens");
  if (static_cast<int64_t>(tokens.size()) > options_.context)
    return fail("context full: the input has {} tokens but a sequence holds at most {}", tokens.size(), options_.context);
  auto job = std::make_shared<EmbedJob>();
  job->tokens = std::move(tokens);
  job->adapter = std::move(adapter);
  auto future = job->result.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return fail("the server is shutting down");
    embed_jobs_.push_back(job);
  }
  wake_.notify_all();
  return future.get();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Scheduler::run() {
  while (true) {
    std::shared_ptr<EmbedJob> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        return stopping_ || !embed_jobs_.empty() || !running_.empty() ||
               (!queue_.empty() && static_cast<int64_t>(running_.size()) < options_.parallel);
      });
      if (stopping_) return;
      if (!embed_jobs_.empty()) {
        job = embed_jobs_.front();
        embed_jobs_.pop_front();
      }
    }
    if (job) run_embed(*job);
    admit();
    if (!running_.empty()) step();
  }
}

int64_t Scheduler::choose_slot(const SequenceRequest& request, int64_t& reuse, int64_t& copy_from) {
  auto common = [&](int64_t slot) -> int64_t {
    if (slot_adapter_[slot] != request.adapter_key) return 0;
    const auto& have = slot_tokens_[slot];
    const int64_t limit = std::min<int64_t>({static_cast<int64_t>(have.size()), cache_.length(slot),
                                             static_cast<int64_t>(request.prompt.size()) - 1});
    int64_t n = 0;
    while (n < limit && have[n] == request.prompt[n]) ++n;
    return n;
  };
  int64_t best_free = -1, best_free_common = -1, lru = -1;
  for (int64_t s = 0; s < options_.parallel; ++s) {
    if (slot_busy_[s]) continue;
    const int64_t c = options_.prefix_reuse ? common(s) : 0;
    // The longest shared prefix; among equals the least recently used slot,
    // so an unrelated request does not overwrite a useful prefix.
    if (c > best_free_common || (c == best_free_common && slot_used_[s] < slot_used_[best_free]))
      best_free = s, best_free_common = c;
    if (lru < 0 || slot_used_[s] < slot_used_[lru]) lru = s;
  }
  reuse = std::max<int64_t>(best_free_common, 0);
  copy_from = -1;
  if (!options_.prefix_reuse) return lru;
  // A longer prefix held by another slot (running or not) is copied into the
  // least recently used free slot.
  int64_t best_other = -1, best_other_common = reuse;
  for (int64_t s = 0; s < options_.parallel; ++s) {
    if (s == best_free) continue;
    const int64_t c = common(s);
    if (c > best_other_common) best_other = s, best_other_common = c;
  }
  if (best_other >= 0 && best_other_common >= reuse + 16) {
    const int64_t target = (lru != best_other) ? lru : best_free;
    copy_from = best_other;
    reuse = best_other_common;
    return target;
  }
  return best_free;
}

void Scheduler::admit() {
  while (static_cast<int64_t>(running_.size()) < options_.parallel) {
    SequenceRequest request;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
      request = std::move(queue_.front());
      queue_.pop_front();
      stats_.queued = static_cast<int64_t>(queue_.size());
    }
    auto seq = std::make_unique<Sequence>();
    seq->request = std::move(request);
    auto decoder = SequenceDecoder::create(model_.tokenizer(), seq->request.prompt, seq->request.decode);
    if (!decoder) {
      fail_sequence(*seq, decoder.error().message);
      continue;
    }
    seq->decoder = std::move(*decoder);
    int64_t reuse = 0, copy_from = -1;
    seq->slot = choose_slot(seq->request, reuse, copy_from);
    if (copy_from >= 0) {
      cache_.copy_prefix(copy_from, seq->slot, reuse);
      slot_tokens_[seq->slot].assign(slot_tokens_[copy_from].begin(), slot_tokens_[copy_from].begin() + reuse);
    }
    cache_.set_length(seq->slot, reuse);
    // The slot's tokens are the prompt from now on: the cache length bounds
    // which of them hold K/V, so a later request can share the prefix with
    // this one while it is still running.
    slot_tokens_[seq->slot] = seq->request.prompt;
    slot_adapter_[seq->slot] = seq->request.adapter_key;
    slot_busy_[seq->slot] = true;
    seq->prefilled = reuse;
    seq->reused = reuse;
    {
      std::lock_guard lock(mutex_);
      stats_.reused_tokens += reuse;
    }
    running_.push_back(std::move(seq));
  }
}

void Scheduler::finish(Sequence& seq, const std::string& reason) {
  seq.done = true;
  SequenceEvent event;
  event.kind = SequenceEvent::Kind::Done;
  event.finish = reason;
  event.prompt_tokens = static_cast<int64_t>(seq.request.prompt.size());
  event.completion_tokens = static_cast<int64_t>(seq.decoder->generated().size());
  event.cached_tokens = seq.reused;
  if (seq.request.on_event) seq.request.on_event(event);
}

void Scheduler::fail_sequence(Sequence& seq, const std::string& message) {
  seq.done = true;
  SequenceEvent event;
  event.kind = SequenceEvent::Kind::Failed;
  event.error = message;
  if (seq.request.on_event) seq.request.on_event(event);
}

void Scheduler::step() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& seq : running_) {
    if (seq->request.cancel && seq->request.cancel->load()) {
      seq->decoder->finish();
      finish(*seq, "cancelled");
    } else if (now >= seq->request.deadline) {
      seq->decoder->finish();
      finish(*seq, "timeout");
    }
  }
  // Rows: every decoding sequence's next token, then prompt chunks.
  std::vector<BatchRow> rows;
  std::vector<Sequence*> wants;  // the sequence of each row with want_logits, in order
  std::vector<const LoraAdapter*> adapters;
  std::map<const LoraAdapter*, int32_t> adapter_index;
  auto index_of = [&](const std::shared_ptr<const LoraAdapter>& a) -> int32_t {
    if (!a) return -1;
    auto [it, inserted] = adapter_index.try_emplace(a.get(), static_cast<int32_t>(adapters.size()));
    if (inserted) adapters.push_back(a.get());
    return it->second;
  };
  for (auto& seq : running_) {
    if (seq->done || !seq->decoding) continue;
    const int32_t pos = static_cast<int32_t>(seq->request.prompt.size() + seq->decoder->generated().size() - 1);
    rows.push_back({seq->next_token, static_cast<int32_t>(seq->slot), pos, index_of(seq->request.adapter), true});
    wants.push_back(seq.get());
  }
  const int64_t decode_rows = static_cast<int64_t>(rows.size());
  int64_t budget = std::max<int64_t>(options_.step_tokens - decode_rows, 16);
  for (auto& seq : running_) {
    if (seq->done || seq->decoding || budget <= 0) continue;
    const auto& prompt = seq->request.prompt;
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(prompt.size()), seq->prefilled + budget);
    const int32_t adapter = index_of(seq->request.adapter);
    for (int64_t i = seq->prefilled; i < end; ++i) {
      const bool last = i + 1 == static_cast<int64_t>(prompt.size());
      rows.push_back({prompt[i], static_cast<int32_t>(seq->slot), static_cast<int32_t>(i), adapter, last});
      if (last) wants.push_back(seq.get());
    }
    budget -= end - seq->prefilled;
    seq->prefilled = end;
  }
  if (!rows.empty()) {
    transformer_.set_adapters(adapters);
    auto ok = transformer_.forward(rows, cache_, logits_);
    if (!ok) {
      for (auto& seq : running_)
        if (!seq->done) fail_sequence(*seq, ok.error().message);
    } else {
      const int64_t vocab = model_.config().vocab_size;
      int64_t generated = 0;
      for (size_t i = 0; i < wants.size(); ++i) {
        Sequence& seq = *wants[i];
        auto result = seq.decoder->step(std::span<const float>(logits_.data() + static_cast<int64_t>(i) * vocab,
                                                               static_cast<size_t>(vocab)));
        if (!result) {
          fail_sequence(seq, result.error().message);
          continue;
        }
        seq.decoding = true;
        if (result->token >= 0) {
          ++generated;
          SequenceEvent event;
          event.text = std::move(result->text);
          event.token = result->token;
          event.logprob = result->logprob;
          event.top = std::move(result->top);
          if (seq.request.on_event) seq.request.on_event(event);
        } else if (!result->text.empty()) {
          SequenceEvent event;
          event.text = std::move(result->text);
          if (seq.request.on_event) seq.request.on_event(event);
        }
        seq.next_token = result->token;
        if (result->finished) {
          finish(seq, std::string(finish_reason_name(result->finish)));
        } else if (static_cast<int64_t>(seq.request.prompt.size() + seq.decoder->generated().size()) >=
                   options_.context) {
          // The next token would not fit in the slot.
          seq.decoder->finish();
          finish(seq, "length");
        }
      }
      std::lock_guard lock(mutex_);
      ++stats_.steps;
      stats_.generated_tokens += generated;
      stats_.prompt_tokens += static_cast<int64_t>(rows.size()) - decode_rows;
      stats_.max_batch_rows = std::max<int64_t>(stats_.max_batch_rows, static_cast<int64_t>(rows.size()));
    }
  }
  // Release the slots of finished sequences; what their slot holds stays
  // available for prefix reuse.
  for (auto& seq : running_) {
    if (!seq->done) continue;
    const int64_t s = seq->slot;
    std::vector<int32_t>& tokens = slot_tokens_[s];
    tokens = seq->request.prompt;
    auto gen = seq->decoder->generated();
    tokens.insert(tokens.end(), gen.begin(), gen.end());
    tokens.resize(static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(tokens.size()), cache_.length(s))));
    slot_busy_[s] = false;
    std::lock_guard lock(mutex_);
    slot_used_[s] = stats_.steps;
  }
  std::erase_if(running_, [](const std::unique_ptr<Sequence>& seq) { return seq->done; });
  std::lock_guard lock(mutex_);
  stats_.active = static_cast<int64_t>(running_.size());
}

void Scheduler::run_embed(EmbedJob& job) {
  const int64_t slot = options_.parallel;  // the scratch slot
  const int64_t dim = model_.config().dim;
  std::vector<float> sum(static_cast<size_t>(dim), 0.0f);
  std::vector<float> hidden;
  std::vector<BatchRow> rows;
  std::vector<const LoraAdapter*> adapters;
  if (job.adapter) adapters.push_back(job.adapter.get());
  transformer_.set_adapters(adapters);
  cache_.clear(slot);
  const int64_t n = static_cast<int64_t>(job.tokens.size());
  for (int64_t start = 0; start < n; start += options_.step_tokens) {
    const int64_t end = std::min(n, start + options_.step_tokens);
    rows.clear();
    for (int64_t i = start; i < end; ++i)
      rows.push_back({job.tokens[i], static_cast<int32_t>(slot), static_cast<int32_t>(i), job.adapter ? 0 : -1, true});
    auto ok = transformer_.forward_hidden(rows, cache_, hidden);
    if (!ok) {
      job.result.set_value(std::unexpected(ok.error()));
      return;
    }
    for (int64_t r = 0; r < end - start; ++r)
      for (int64_t d = 0; d < dim; ++d) sum[d] += hidden[r * dim + d];
  }
  double norm = 0;
  for (float v : sum) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (float& v : sum) v = static_cast<float>(v / norm);
  job.result.set_value(std::move(sum));
}

}  // namespace officina
