#include "train/finetune.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <span>

#include "base/json_util.h"
#include "base/random.h"
#include "model/model_chat_template.h"
#include "tensor/gemm.h"
#include "train/adamw.h"
#include "train/adapter_export.h"
#include "train/data_parallel.h"
#include "train/full_params.h"
#include "train/train_checkpoint.h"
#include "train/train_data.h"

namespace officina {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Result<LrSchedule> parse_lr_schedule(std::string_view name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "linear") return LrSchedule::Linear;
  if (name == "cosine") return LrSchedule::Cosine;
  return fail("--lr-schedule '{}': expected constant, linear or cosine", name);
}

double scheduled_lr(LrSchedule schedule, double base, int64_t step, int64_t total, int64_t warmup) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (schedule == LrSchedule::Constant || total <= warmup) return base;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (schedule == LrSchedule::Linear) return base * std::max(0.0, 1.0 - progress);
  return base * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

namespace {

Result<void> check_options(const FinetuneOptions& o) {
  if (o.model.empty()) return fail("finetune: --model is required");
  if (o.data.empty()) return fail("finetune: --data is required");
  if (o.out.empty()) return fail("finetune: --out is required");
  if (o.full && (o.dropout > 0 || !o.init_adapter.empty()))
    return fail("finetune --full trains every weight: --dropout and --init-adapter are LoRA options");
  if (o.rank < 1 || o.rank > 4096) return fail("--rank must be between 1 and 4096");
  if (!(o.alpha > 0)) return fail("--alpha must be positive");
  if (o.dropout < 0 || o.dropout >= 1) return fail("--dropout must be in [0, 1)");
  if (o.batch_size < 1 || o.grad_accum < 1) return fail("--batch-size and --grad-accum must be at least 1");
  if (o.seq_len < 2) return fail("--seq-len must be at least 2");
  if (o.epochs < 1 && o.steps < 1) return fail("give --epochs E or --steps S (at least 1)");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) return fail("--lr must be a positive number");
  if (o.weight_decay < 0 || o.clip < 0 || o.warmup < 0) return fail("--weight-decay, --clip and --warmup must be >= 0");
  if (o.val_split < 0 || o.val_split >= 1) return fail("--val-split must be in [0, 1)");
  if (!std::any_of(o.targets.begin(), o.targets.end(), [](bool b) { return b; }))
    return fail("--targets: choose at least one of q,k,v,o,gate,up,down");
  return {};
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (!shuffle) return order;
  Rng rng(mix_seed(seed ^ mix_seed(static_cast<uint64_t>(epoch) + 0x5eed)));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
  return order;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
};

// Sequence i is evaluated on rank i mod N; the sums are added over the ranks.
Result<EvalResult> evaluate(LoraTrainer& trainer, const std::vector<TrainSequence>& sequences, DataParallel& dp) {
  std::array<double, 3> sums{};  // loss, targets, correct
  Result<void> local = [&]() -> Result<void> {
    for (size_t i = static_cast<size_t>(dp.rank()); i < sequences.size(); i += static_cast<size_t>(dp.size())) {
      OFFICINA_TRY(SequenceLoss r, trainer.evaluate(sequences[i]));
      sums[0] += r.loss_sum;
      sums[1] += static_cast<double>(r.targets);
      sums[2] += static_cast<double>(r.correct);
    }
    return {};
  }();
  OFFICINA_CHECK(dp.agree(std::move(local)));
  dp.allreduce_sum(std::span<double>(sums));
  if (sums[1] == 0) return EvalResult{};
  return EvalResult{sums[0] / sums[1], sums[2] / sums[1]};
}

// One run's state, built alike on every rank by setup(); train() then runs
// the steps. Rank 0 alone holds the metrics file.
struct Run {
  const FinetuneOptions& o;
  DataParallel& dp;
  std::unique_ptr<Model> model;
  std::optional<ModelChatTemplate> tmpl;
  std::optional<FullParams> full;
  LoraParams params;
  DataOptions data_options;
  DataStats stats;
  std::vector<TrainSample> samples;
  std::vector<TrainSequence> val_sequences;
  std::vector<ParamTensor> tensors;
  std::vector<std::span<float>> grads;  // the tensors' gradients, for the allreduce
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<LoraTrainer> trainer;
  Json identity;
  std::vector<TrainSequence> epoch_sequences;
  int64_t per_step = 0, total = 0;
  TrainPosition pos;
  std::FILE* metrics = nullptr;

  Run(const FinetuneOptions& options, DataParallel& parallel) : o(options), dp(parallel) {}
  ~Run() {
    if (metrics) std::fclose(metrics);
  }
  std::vector<TrainSequence> sequences_of(int64_t epoch) const {
    return make_sequences(samples, epoch_order(samples.size(), o.seed, epoch, o.shuffle), data_options.seq_len, o.packing);
  }
  Result<void> setup();
  Result<void> load_data();
  Result<FinetuneReport> train();
};

Result<void> Run::load_data() {
  const ModelConfig& config = model->config();
  data_options.seq_len = std::min<int64_t>(o.seq_len, config.context_length);
  data_options.chat_template = &tmpl->tmpl;
  data_options.render = chat_render_options(*model);
  OFFICINA_TRY(samples, load_train_jsonl(o.data, model->tokenizer(), data_options, &stats));
  std::vector<TrainSample> val_samples;
  if (!o.val_data.empty()) {
    OFFICINA_TRY(val_samples, load_train_jsonl(o.val_data, model->tokenizer(), data_options, nullptr));
  } else if (o.val_split > 0) {
    auto order = epoch_order(samples.size(), o.seed ^ 0x7a1, 0, true);
    size_t n_val = std::max<size_t>(1, static_cast<size_t>(std::round(o.val_split * static_cast<double>(samples.size()))));
    if (n_val == 0 || n_val >= samples.size())
      return fail("--val-split {}: {} samples leave no validation or no training data", o.val_split, samples.size());
    std::vector<TrainSample> train;
    std::vector<bool> is_val(samples.size(), false);
    for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = true;
    for (size_t i = 0; i < samples.size(); ++i) (is_val[i] ? val_samples : train).push_back(std::move(samples[i]));
    samples = std::move(train);
  }
  if (!val_samples.empty()) {
    std::vector<size_t> all(val_samples.size());
    std::iota(all.begin(), all.end(), size_t{0});
    val_sequences = make_sequences(val_samples, all, data_options.seq_len, o.packing);
  }
  return {};
}

Result<void> Run::setup() {
  OFFICINA_CHECK(check_options(o));
  // Without --threads, the ranks on one machine share its cores.
  const int threads = o.threads > 0 ? o.threads : std::max(1, ThreadPool::default_threads() / std::max(1, dp.local_size()));
  set_gemm_threads(threads);
  OFFICINA_TRY(model, Model::load(o.model));
  const ModelConfig& config = model->config();
  OFFICINA_TRY(tmpl, model_chat_template(*model, "", o.chat_template_file));

  // Parameters: every weight (--full), or a fresh adapter or the one to continue from.
  if (o.full) {
    OFFICINA_TRY(FullParams f, FullParams::from_model(*model));
    full.emplace(std::move(f));
  } else if (!o.init_adapter.empty()) {
    OFFICINA_TRY(LoraAdapter init, LoraAdapter::load(o.init_adapter, config));
    params = LoraParams::from_adapter(init, config, static_cast<double>(init.scale()) * static_cast<double>(init.rank()));
  } else {
    LoraInit init;
    init.rank = o.rank;
    init.alpha = o.alpha;
    init.targets = o.targets;
    init.seed = o.seed;
    OFFICINA_TRY(params, LoraParams::init(config, init));
  }
  OFFICINA_CHECK(load_data());

  AdamWConfig adam;
  adam.weight_decay = o.weight_decay;
  tensors = full ? full->param_tensors() : lora_param_tensors(params);
  for (const ParamTensor& t : tensors) grads.push_back(t.grad);
  optimizer = std::make_unique<AdamW>(tensors, adam);
  pool = std::make_unique<ThreadPool>(threads);
  trainer = full ? std::make_unique<LoraTrainer>(config, full->weights(), &full->grads(), pool.get())
                 : std::make_unique<LoraTrainer>(*model, &params, pool.get());
  // What a checkpoint must agree on to be resumed by this run (not the
  // number of ranks: the global batch does not depend on it).
  identity = {{"mode", full ? "full" : "lora"}};
  if (full) {
    identity["parameters"] = full->parameter_count();
  } else {
    identity["rank"] = params.rank();
    identity["pairs"] = params.pairs().size();
  }
  identity["seed"] = o.seed;
  identity["batch_size"] = o.batch_size;
  identity["grad_accum"] = o.grad_accum;
  identity["seq_len"] = o.seq_len;

  // Sequences per epoch and the total number of steps.
  per_step = o.batch_size * o.grad_accum;
  epoch_sequences = sequences_of(0);
  const int64_t steps_per_epoch = (static_cast<int64_t>(epoch_sequences.size()) + per_step - 1) / per_step;
  total = o.steps > 0 ? o.steps : steps_per_epoch * o.epochs;

  if (dp.is_root()) {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) return fail("{}: cannot create the output directory ({})", o.out, ec.message());
  }
  // Every rank reads the checkpoint (rank 0 wrote it at the end of a run,
  // so nobody is writing it now).
  if (o.resume) {
    OFFICINA_TRY(pos, load_train_checkpoint(o.out, tensors, *optimizer, identity));
    if (pos.epoch != 0) epoch_sequences = sequences_of(pos.epoch);
  }
  if (dp.is_root() && !o.metrics_file.empty()) {
    metrics = std::fopen(o.metrics_file.c_str(), o.resume ? "a" : "w");
    if (!metrics) return fail("{}: cannot open the metrics file", o.metrics_file);
  }
  return {};
}

Result<FinetuneReport> Run::train() {
  FinetuneReport report;
  report.train_samples = stats.samples;
  report.truncated = stats.truncated;
  report.dropped = stats.dropped;
  report.world_size = dp.size();
  const bool progress = o.progress && dp.is_root();
  const auto start = Clock::now();
  int64_t tokens_done = 0;
  for (; pos.step < total; ++pos.step) {
    // The step's sequences, moving to the next epoch when one runs out; every
    // rank walks the whole global batch (to count its tokens) and keeps its
    // shard: sequence j on rank j mod N.
    std::vector<TrainSequence> shard;  // copies: the epoch's list may be rebuilt meanwhile
    std::vector<int64_t> shard_index;  // j of each, for the dropout seed
    int64_t count = 0, targets = 0, tokens = 0;
    while (count < per_step) {
      if (pos.index >= static_cast<int64_t>(epoch_sequences.size())) {
        if (o.steps <= 0 && count > 0) break;  // last, partial step of the run
        ++pos.epoch;
        pos.index = 0;
        epoch_sequences = sequences_of(pos.epoch);
      }
      const TrainSequence& s = epoch_sequences[static_cast<size_t>(pos.index++)];
      for (int32_t t : s.targets) targets += t >= 0;
      tokens += static_cast<int64_t>(s.tokens.size());
      if (count % dp.size() == dp.rank()) {
        shard.push_back(s);
        shard_index.push_back(count);
      }
      ++count;
    }
    const auto t0 = Clock::now();
    for (const ParamTensor& t : tensors) std::fill(t.grad.begin(), t.grad.end(), 0.0f);
    // Each sequence's loss is scaled by 1 / (the step's trained tokens on
    // all ranks), so the summed gradients are those of the step's mean loss.
    std::array<double, 1> loss_sum{};
    Result<void> local = [&]() -> Result<void> {
      const float scale = 1.0f / static_cast<float>(std::max<int64_t>(1, targets));
      for (size_t i = 0; i < shard.size(); ++i) {
        const uint64_t j = static_cast<uint64_t>(shard_index[i]);
        trainer->set_dropout(static_cast<float>(o.dropout), mix_seed(o.seed ^ mix_seed(static_cast<uint64_t>(pos.step) * 1315423911u + j)));
        OFFICINA_TRY(SequenceLoss r, trainer->accumulate(shard[i], scale));
        loss_sum[0] += r.loss_sum;
      }
      return {};
    }();
    OFFICINA_CHECK(dp.agree(std::move(local)));
    dp.allreduce_sum(std::span<const std::span<float>>(grads));
    dp.allreduce_sum(std::span<double>(loss_sum));
    const double loss = loss_sum[0] / static_cast<double>(std::max<int64_t>(1, targets));
    if (!std::isfinite(loss)) return fail("step {}: the loss is not finite ({}); lower --lr", pos.step + 1, loss);
    const double grad_norm = clip_grad_norm(tensors, o.clip);
    const double lr = scheduled_lr(o.schedule, o.lr, pos.step, total, o.warmup);
    optimizer->step(tensors, lr, pool.get());
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    tokens_done += tokens;
    if (pos.step == 0 || report.steps == 0) report.first_loss = loss;
    report.last_loss = loss;
    ++report.steps;

    nlohmann::ordered_json line = {{"step", pos.step + 1},
                                   {"epoch", pos.epoch},
                                   {"loss", loss},
                                   {"lr", lr},
                                   {"grad_norm", grad_norm},
                                   {"tokens", tokens},
                                   {"trained_tokens", targets},
                                   {"tokens_per_s", seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0},
                                   {"world_size", dp.size()}};
    if (o.eval_every > 0 && !val_sequences.empty() && ((pos.step + 1) % o.eval_every == 0 || pos.step + 1 == total)) {
      OFFICINA_TRY(EvalResult e, evaluate(*trainer, val_sequences, dp));
      line["eval_loss"] = e.loss;
      line["eval_accuracy"] = e.accuracy;
      report.eval_loss = e.loss;
      report.eval_accuracy = e.accuracy;
    }
    if (metrics) {
      std::fprintf(metrics, "%s\n", line.dump().c_str());
      std::fflush(metrics);
    }
    if (progress) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double eta = elapsed / static_cast<double>(report.steps) * static_cast<double>(total - pos.step - 1);
      std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s%s  ETA %02d:%02d:%02d ",
                   static_cast<long long>(pos.step + 1), static_cast<long long>(total), loss, lr,
                   elapsed > 0 ? static_cast<double>(tokens_done) / elapsed : 0.0,
                   dp.size() > 1 ? fmt::format(" ({} ranks)", dp.size()).c_str() : "", static_cast<int>(eta / 3600),
                   static_cast<int>(eta / 60) % 60, static_cast<int>(eta) % 60);
      std::fflush(stderr);
    }
    const bool stopping = o.stop_after > 0 && pos.step + 1 == o.stop_after;
    if ((o.save_every > 0 && (pos.step + 1) % o.save_every == 0) || stopping) {
      TrainPosition next = pos;
      ++next.step;
      OFFICINA_CHECK(dp.agree(dp.is_root() ? save_train_checkpoint(o.out, tensors, *optimizer, next, identity)
                                           : Result<void>{}));
    }
    if (stopping) {
      if (progress) std::fputc('\n', stderr);
      return report;
    }
    if (o.steps <= 0 && pos.index >= static_cast<int64_t>(epoch_sequences.size()) && pos.epoch + 1 >= o.epochs &&
        pos.step + 1 < total)
      break;  // packing made this epoch shorter than the estimate
  }
  if (progress) std::fputc('\n', stderr);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  report.tokens_per_second = elapsed > 0 ? static_cast<double>(tokens_done) / elapsed : 0.0;
  if (!val_sequences.empty() && !report.eval_loss) {
    OFFICINA_TRY(EvalResult e, evaluate(*trainer, val_sequences, dp));
    report.eval_loss = e.loss;
    report.eval_accuracy = e.accuracy;
  }
  Result<void> written;
  if (dp.is_root() && full) {
    written = write_full_model(*model, *full, (fs::path(o.out) / "model.gguf").string());
  } else if (dp.is_root()) {
    AdapterInfo info;
    info.base_model = model->name();
    info.dropout = o.dropout;
    written = write_peft_adapter(params, info, o.out);
    if (written) {
      written = write_gguf_adapter(params, info, (fs::path(o.out) / "adapter.gguf").string());
    }
  }
  OFFICINA_CHECK(dp.agree(std::move(written)));
  return report;
}

}  // namespace

Result<FinetuneReport> run_finetune(const FinetuneOptions& o) {
  DataParallel single;
  DataParallel& dp = o.parallel ? *o.parallel : single;
  Run run(o, dp);
  OFFICINA_CHECK(dp.agree(run.setup()));
  // Every rank built or loaded the same values; rank 0's make sure of it.
  for (const ParamTensor& t : run.tensors) dp.broadcast(t.value);
  return run.train();
}

}  // namespace officina
