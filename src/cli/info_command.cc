// officina info MODEL: architecture, parameter count, tensor types, tokenizer.
#include <map>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/model.h"

namespace officina::cli {

namespace {
void run_info(const std::string& path) {
  auto loaded = Model::load(path);
  if (!loaded) return report(loaded.error());
  const Model& m = **loaded;
  const ModelConfig& c = m.config();
  std::map<std::string_view, int64_t> types;  // dtype -> parameters stored in it
  auto count = [&](const TensorView& t) { types[dtype_name(t.dtype)] += t.elements(); };
  const ModelWeights& w = m.weights();
  count(w.token_embd);
  if (!c.tied_embeddings) count(w.output);
  for (const auto& l : w.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) count(*t);

  fmt::print("model:          {} ({})\n", m.name(), m.source() == ModelSource::Gguf ? "GGUF" : "Hugging Face");
  fmt::print("architecture:   {}\n", c.architecture);
  fmt::print("parameters:     {} ({:.1f} M)\n", c.parameter_count(), c.parameter_count() / 1e6);
  fmt::print("dim:            {}\n", c.dim);
  fmt::print("layers:         {}\n", c.n_layers);
  fmt::print("heads:          {} (kv heads {}, head_dim {}{})\n", c.n_heads, c.n_kv_heads, c.head_dim,
             c.n_kv_heads == 1 ? ", MQA" : c.n_kv_heads < c.n_heads ? ", GQA" : "");
  fmt::print("ffn:            {}\n", c.ffn_dim);
  fmt::print("vocab:          {}\n", c.vocab_size);
  fmt::print("context:        {}\n", c.context_length);
  fmt::print("rope theta:     {}\n", c.rope_theta);
  fmt::print("rms eps:        {:.6g}\n", c.rms_eps);
  fmt::print("sliding window: {}\n", c.sliding_window > 0 ? std::to_string(c.sliding_window) : "none");
  fmt::print("embeddings:     {}\n", c.tied_embeddings ? "tied" : "untied");
  std::string type_list;
  for (auto [name, n] : types) type_list += fmt::format("{}{} ({:.1f} M)", type_list.empty() ? "" : ", ", name, n / 1e6);
  fmt::print("matrix types:   {}\n", type_list);
  const Tokenizer& t = m.tokenizer();
  fmt::print("tokenizer:      {} ({} tokens, bos {}, eos {})\n",
             t.kind() == TokenizerKind::SentencePieceBpe ? "SentencePiece BPE" : "byte-level BPE", t.vocab_size(),
             t.bos_id(), t.eos_id());
}
}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model's architecture, parameter count, tensor types and tokenizer");
  auto path = std::make_shared<std::string>();
  cmd->add_option("model", *path, "a .gguf file or a Hugging Face directory")->required();
  cmd->callback([path] { run_info(*path); });
}

}  // namespace officina::cli
