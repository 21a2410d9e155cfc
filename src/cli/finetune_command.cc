// officina finetune --model M --data TRAIN.jsonl --out DIR [options]
//   (also as `mpirun -np N officina finetune ...`: data parallel, rank 0 reports)
// officina merge-lora BASE ADAPTER OUT.gguf [--type T]
#include <cstdio>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "train/adapter_export.h"
#include "train/data_parallel.h"
#include "train/finetune.h"

namespace officina::cli {

namespace {

struct FinetuneArgs {
  FinetuneOptions options;
  std::string targets = "q,k,v,o,gate,up,down";
  std::string schedule = "constant";
  bool no_shuffle = false, no_packing = false, quiet = false;
  std::vector<CLI::Option*> lora_only;  // refused with --full
};

void train(FinetuneArgs& a, const DataParallel& dp);

void run(FinetuneArgs& a) {
  // MPI (when started by mpirun) lives as long as this command.
  auto dp = DataParallel::start();
  if (!dp) return report(dp.error());
  a.options.parallel = dp->get();
  train(a, **dp);
}

// Every rank gets the same outcome; rank 0 alone says it.
void train(FinetuneArgs& a, const DataParallel& dp) {
  auto say = [&](const Error& e) {
    if (dp.is_root()) {
      report(e);
    } else {
      exit_code() = 1;
    }
  };
  if (a.options.full) {
    for (const CLI::Option* opt : a.lora_only) {
      if (opt->count() > 0)
        return say(Error{fmt::format("finetune --full trains every weight of the model: {} is a LoRA option, "
                                     "leave it out",
                                     opt->get_name())});
    }
  }
  auto targets = parse_targets(a.targets);
  if (!targets) return say(targets.error());
  a.options.targets = *targets;
  auto schedule = parse_lr_schedule(a.schedule);
  if (!schedule) return say(schedule.error());
  a.options.schedule = *schedule;
  a.options.shuffle = !a.no_shuffle;
  a.options.packing = !a.no_packing;
  a.options.progress = !a.quiet;
  auto result = run_finetune(a.options);
  if (!result) return say(result.error());
  if (!dp.is_root()) return;
  std::string eval;
  if (result->eval_loss) eval = fmt::format(", eval loss {:.4f}, eval accuracy {:.3f}", *result->eval_loss, *result->eval_accuracy);
  const std::string ranks = result->world_size > 1 ? fmt::format(" on {} ranks", result->world_size) : "";
  std::fprintf(stderr, "finetune: %lld steps, loss %.4f -> %.4f%s, %.0f tokens/s%s; %lld samples (%lld truncated to "
                       "--seq-len, %lld dropped with nothing to train)\n",
               static_cast<long long>(result->steps), result->first_loss, result->last_loss, eval.c_str(),
               result->tokens_per_second, ranks.c_str(), static_cast<long long>(result->train_samples),
               static_cast<long long>(result->truncated), static_cast<long long>(result->dropped));
  if (a.options.stop_after == 0 && a.options.full)
    std::fprintf(stderr, "finetune: model written to %s/model.gguf\n", a.options.out.c_str());
  else if (a.options.stop_after == 0)
    std::fprintf(stderr, "finetune: adapter written to %s (adapter_config.json, adapter_model.safetensors, adapter.gguf)\n",
                 a.options.out.c_str());
}

}  // namespace

void add_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("finetune", "Train a LoRA adapter (QLoRA on quantized models) on your own data");
  auto a = std::make_shared<FinetuneArgs>();
  FinetuneOptions& o = a->options;
  cmd->add_option("-m,--model", o.model, "base model: a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("--data", o.data, "training JSONL (messages, prompt/completion, text or input_ids/labels)")->required();
  cmd->add_option("--out", o.out, "output directory for the adapter and checkpoints")->required();
  cmd->add_option("--val", o.val_data, "validation JSONL");
  cmd->add_option("--val-split", o.val_split, "hold out this fraction of the training samples for validation");
  a->lora_only.push_back(cmd->add_option("--init-adapter", o.init_adapter, "continue training this adapter (PEFT dir or GGUF)"));
  cmd->add_option("--chat-template", o.chat_template_file, "render chat samples with this template file");
  a->lora_only.push_back(cmd->add_option("--rank", o.rank, "LoRA rank")->capture_default_str());
  a->lora_only.push_back(cmd->add_option("--alpha", o.alpha, "LoRA alpha (scale = alpha / rank)")->capture_default_str());
  a->lora_only.push_back(cmd->add_option("--dropout", o.dropout, "dropout on the LoRA input")->capture_default_str());
  a->lora_only.push_back(
      cmd->add_option("--targets", a->targets, "projections to adapt: q,k,v,o,gate,up,down or all")->capture_default_str());
  cmd->add_flag("--full", o.full, "train every weight of an F32 model (writes OUT/model.gguf)");
  cmd->add_option("--epochs", o.epochs, "passes over the data")->capture_default_str();
  cmd->add_option("--steps", o.steps, "optimizer steps (overrides --epochs)");
  cmd->add_option("--batch-size", o.batch_size, "sequences per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", o.grad_accum, "micro-batches per optimizer step")->capture_default_str();
  cmd->add_option("--seq-len", o.seq_len, "tokens per sequence (longer samples are cut)")->capture_default_str();
  cmd->add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd->add_option("--optimizer", [](const std::vector<std::string>& v) { return v.size() == 1 && v[0] == "adamw"; },
                  "adamw (the only one)");
  cmd->add_option("--lr-schedule", a->schedule, "constant, linear or cosine")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "linear warmup steps")->capture_default_str();
  cmd->add_option("--clip", o.clip, "global gradient-norm clip (0: none)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  cmd->add_flag("--no-shuffle", a->no_shuffle, "keep the file order");
  cmd->add_flag("--no-packing", a->no_packing, "one sample per sequence");
  cmd->add_option("--save-every", o.save_every, "write a checkpoint every N steps");
  cmd->add_option("--eval-every", o.eval_every, "evaluate on the validation data every N steps");
  cmd->add_flag("--resume", o.resume, "continue from the checkpoint in --out");
  cmd->add_option("--metrics", o.metrics_file, "one JSON line per step");
  cmd->add_option("-t,--threads", o.threads, "threads per process (default: the cores, shared among the MPI ranks on this machine)");
  cmd->add_option("--stop-after", o.stop_after, "stop with a checkpoint after this step (to test --resume)");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress line");
  cmd->callback([a] { run(*a); });

  auto* merge = app.add_subcommand("merge-lora", "Fold a LoRA adapter into its base model and write a GGUF file");
  struct MergeArgs {
    std::string base, adapter, out, type;
  };
  auto m = std::make_shared<MergeArgs>();
  merge->add_option("BASE", m->base, "base model (.gguf or Hugging Face directory)")->required();
  merge->add_option("ADAPTER", m->adapter, "adapter (PEFT directory or GGUF LoRA), PATH[:SCALE]")->required();
  merge->add_option("OUT", m->out, "output .gguf")->required();
  merge->add_option("--type", m->type, "matrix type of the output (default: the base's)");
  merge->callback([m] {
    auto base = Model::load(m->base);
    if (!base) return report(base.error());
    auto spec = LoraAdapter::parse_spec(m->adapter);
    if (!spec) return report(spec.error());
    auto adapter = LoraAdapter::load(spec->first, (*base)->config(), spec->second);
    if (!adapter) return report(adapter.error());
    std::optional<DType> type;
    if (!m->type.empty()) {
      auto t = dtype_from_name(m->type);
      if (!t) return report(t.error());
      type = *t;
    }
    if (auto ok = merge_lora(**base, *adapter, m->out, type); !ok) return report(ok.error());
    std::fprintf(stderr, "merge-lora: %s + %s -> %s\n", m->base.c_str(), m->adapter.c_str(), m->out.c_str());
  });
}

}  // namespace officina::cli
