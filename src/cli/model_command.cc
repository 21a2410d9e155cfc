// officina model init --dim D --layers L --heads H --kv-heads K --ffn F
//   [--head-dim X] [--rope-theta T] [--tied] --vocab-from MODEL --seed S --out PATH.gguf
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/gguf_export.h"
#include "model/random_model.h"
#include "train/adapter_export.h"
#include "train/lora_params.h"

namespace officina::cli {

namespace {
struct InitArgs {
  ModelConfig config;
  std::string vocab_from, out, type = "F32";
  uint64_t seed = 0;
  double std = 0.02;
};

void run_init(InitArgs a) {
  auto vocab = Model::load(a.vocab_from);
  if (!vocab) return report(vocab.error());
  auto tokenizer_meta = tokenizer_gguf_metadata(**vocab);
  if (!tokenizer_meta) return report(tokenizer_meta.error());
  ModelConfig& c = a.config;
  c.vocab_size = (*vocab)->config().vocab_size;
  if (c.n_kv_heads == 0) c.n_kv_heads = c.n_heads;
  if (c.head_dim == 0 && c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
  auto type = dtype_from_name(a.type);
  if (!type) return report(type.error());
  auto model = make_random_model(c, a.seed, a.std);
  if (!model) return report(model.error());
  GgufExportOptions options;
  options.name = fmt::format("random-{}x{}", c.dim, c.n_layers);
  options.matrix_type = *type;
  if (auto ok = write_llama_gguf(c, (*model)->weights, *tokenizer_meta, options, a.out); !ok) return report(ok.error());
  fmt::print(stderr, "wrote {} ({:.1f} M parameters, {})\n", a.out, c.parameter_count() / 1e6, dtype_name(*type));
}
struct LoraInitArgs {
  std::string model, out, targets = "q,k,v,o,gate,up,down";
  LoraInit init;
  double b_std = 0.02;
  bool gguf = false;
};

void run_lora_init(const LoraInitArgs& a) {
  auto model = Model::load(a.model);
  if (!model) return report(model.error());
  LoraInit init = a.init;
  auto targets = parse_targets(a.targets);
  if (!targets) return report(targets.error());
  init.targets = *targets;
  auto params = LoraParams::random((*model)->config(), init, a.b_std);
  if (!params) return report(params.error());
  AdapterInfo info;
  info.base_model = a.model;
  auto ok = a.gguf ? write_gguf_adapter(*params, info, a.out) : write_peft_adapter(*params, info, a.out);
  if (!ok) return report(ok.error());
  fmt::print(stderr, "wrote {} (rank {}, {} parameters)\n", a.out, params->rank(), params->parameter_count());
}
}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Create models");
  model->require_subcommand(1);
  auto* init = model->add_subcommand("init", "Write a random-weight Llama model (tests, benchmarks, training from scratch)");
  auto a = std::make_shared<InitArgs>();
  ModelConfig& c = a->config;
  c.context_length = 2048;
  init->add_option("--dim", c.dim, "embedding width")->required();
  init->add_option("--layers", c.n_layers, "transformer blocks")->required();
  init->add_option("--heads", c.n_heads, "attention heads")->required();
  init->add_option("--kv-heads", c.n_kv_heads, "key/value heads (default: heads)");
  init->add_option("--ffn", c.ffn_dim, "SwiGLU hidden width")->required();
  init->add_option("--head-dim", c.head_dim, "per-head width (default: dim / heads)");
  init->add_option("--rope-theta", c.rope_theta, "RoPE base")->capture_default_str();
  init->add_option("--rms-eps", c.rms_eps, "RMSNorm epsilon")->capture_default_str();
  init->add_option("--ctx", c.context_length, "context length")->capture_default_str();
  init->add_option("--sliding-window", c.sliding_window, "sliding-window attention size (0: none)");
  init->add_flag("--tied", c.tied_embeddings, "share the token embedding with the output head");
  init->add_option("--vocab-from", a->vocab_from, "take the tokenizer from this model")->required();
  init->add_option("--seed", a->seed, "random seed")->capture_default_str();
  init->add_option("--std", a->std, "standard deviation of the weights")->capture_default_str();
  init->add_option("--type", a->type, "matrix type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K")->capture_default_str();
  init->add_option("-o,--out", a->out, "output .gguf")->required();
  init->callback([a] { run_init(*a); });

  auto* lora = model->add_subcommand("lora-init", "Write a random LoRA adapter for a model (tests, serving benchmarks)");
  auto l = std::make_shared<LoraInitArgs>();
  lora->add_option("-m,--model", l->model, "the base model")->required();
  lora->add_option("--rank", l->init.rank, "LoRA rank")->capture_default_str();
  lora->add_option("--alpha", l->init.alpha, "LoRA alpha")->capture_default_str();
  lora->add_option("--targets", l->targets, "projections, comma-separated")->capture_default_str();
  lora->add_option("--seed", l->init.seed, "random seed")->capture_default_str();
  lora->add_option("--b-std", l->b_std, "standard deviation of B (0: PEFT's zero init)")->capture_default_str();
  lora->add_flag("--gguf", l->gguf, "write a GGUF LoRA file instead of a PEFT directory");
  lora->add_option("-o,--out", l->out, "output directory (PEFT) or .gguf")->required();
  lora->callback([l] { run_lora_init(*l); });
}

}  // namespace officina::cli
