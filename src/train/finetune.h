// The fine-tuning run behind `officina finetune`: data → shuffled, packed
// sequences → steps of batch_size × grad_accum sequences (loss = mean over
// every trained token of the step) → clipping → AdamW with a learning-rate
// schedule; evaluation, metrics (one JSON line per step), checkpoints every
// N steps that `resume` continues from exactly, and the adapter written at
// the end as PEFT (adapter_config.json + adapter_model.safetensors) and GGUF
// LoRA (adapter.gguf). With `full`, every weight of an F32 model is trained
// instead (FullParams; weight decay on matrices only, never on the RMSNorm
// weights) and the model is written as OUT/model.gguf (F32, the source's
// metadata and tokenizer); checkpoints then hold every weight and its AdamW
// moments. Nothing half-written is ever left in `out`: files are
// written under temporary names and renamed into place.
// Data parallel (`parallel`, see data_parallel.h): a step's batch_size ×
// grad_accum sequences are the global batch whatever the number of ranks;
// sequence j of the step is trained on rank j mod N, the gradients and loss
// sums are added over the ranks, and each is scaled by 1 / (trained tokens
// of the whole step), so N ranks make the updates one process makes, up to
// the order of float sums. Data order and dropout masks depend only on the
// seed, step and j, never on N, so a checkpoint may be resumed with another
// number of ranks. Only rank 0 writes the metrics, progress, checkpoints and
// the result; every rank reads the data, the model and the checkpoint.
// Thread-safety: one run at a time per process.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "model/lora_adapter.h"

namespace officina {

class DataParallel;

enum class LrSchedule { Constant, Linear, Cosine };
Result<LrSchedule> parse_lr_schedule(std::string_view name);
// The learning rate at `step` (0-based) of `total`: linear warmup from 0 over
// `warmup` steps, then constant, linear decay to 0, or cosine decay to 0.
double scheduled_lr(LrSchedule schedule, double base, int64_t step, int64_t total, int64_t warmup);

struct FinetuneOptions {
  std::string model, data, out;
  std::string val_data;      // empty: none (or val_split)
  double val_split = 0.0;    // fraction of the training samples held out (seeded)
  std::string init_adapter;  // continue from this adapter
  std::string chat_template_file;
  int64_t rank = 16;
  double alpha = 32;
  double dropout = 0.0;
  std::array<bool, kLoraTargets> targets{true, true, true, true, true, true, true};
  bool full = false;  // every weight (F32 models only); rank/alpha/targets unused, no dropout
  int64_t epochs = 1;
  int64_t steps = 0;  // > 0: this many optimizer steps (epochs repeat as needed)
  int64_t batch_size = 4;
  int64_t grad_accum = 1;
  int64_t seq_len = 512;
  double lr = 2e-4;
  double weight_decay = 0.0;
  LrSchedule schedule = LrSchedule::Constant;
  int64_t warmup = 0;
  double clip = 1.0;  // 0: no clipping
  uint64_t seed = 0;
  bool shuffle = true;
  bool packing = true;
  int64_t save_every = 0;
  int64_t eval_every = 0;
  bool resume = false;
  std::string metrics_file;
  int threads = 0;  // <= 0: this machine's cores shared among its ranks
  DataParallel* parallel = nullptr;  // null: one process
  bool progress = true;       // a progress line on stderr
  int64_t stop_after = 0;     // > 0: stop (with a checkpoint) after this step, for tests of --resume
};

struct FinetuneReport {
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;
  std::optional<double> eval_loss, eval_accuracy;
  double tokens_per_second = 0;  // of all ranks together
  int world_size = 1;
  int64_t train_samples = 0, truncated = 0, dropped = 0;
};

// Fails with a clear message on bad options, data (FILE:LINE), adapters that
// do not fit the model, a non-F32 model with `full`, or I/O errors; `out`
// then holds no partial adapter or model. Under MPI every rank returns the
// same outcome (an error of one rank, "rank R: ...", reaches all of them).
Result<FinetuneReport> run_finetune(const FinetuneOptions& options);

}  // namespace officina
