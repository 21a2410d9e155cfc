// officina logits -m MODEL (-p TEXT | --tokens 1,2,3) [--top K] [--no-bos] [--lora PATH[:SCALE]]...
// Prints {"tokens": [...], "top": [[[id, logit], ...] per position],
//         "last_logits": [every logit at the last position]}.
#include <algorithm>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/transformer.h"

namespace officina::cli {

namespace {
struct LogitsArgs {
  std::string model, prompt, tokens;
  std::vector<std::string> lora;
  int top = 10;
  bool no_bos = false;
  int threads = 0;
};

void run_logits(const LogitsArgs& a) {
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  std::vector<int32_t> ids;
  if (!a.tokens.empty()) {
    auto parsed = parse_token_list(a.tokens);
    if (!parsed) return report(parsed.error());
    ids = std::move(*parsed);
  } else {
    ids = model.tokenizer().encode(a.prompt, !a.no_bos && model.tokenizer().add_bos_default());
  }
  if (ids.empty()) return report(Error{"logits: no tokens to run (empty prompt with --no-bos?)"});
  ThreadPool pool(a.threads);
  auto cache = KvCache::create(model.config(), 1, static_cast<int64_t>(ids.size()), default_kv_precision(model));
  if (!cache) return report(cache.error());
  auto adapter = load_lora_options(a.lora, model.config());
  if (!adapter) return report(adapter.error());
  Transformer transformer(model, pool);
  if (*adapter) transformer.set_adapters({&**adapter});
  const int32_t adapter_index = *adapter ? 0 : -1;
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < ids.size(); ++i) rows.push_back({ids[i], 0, static_cast<int32_t>(i), adapter_index, true});
  std::vector<float> logits;
  if (auto ok = transformer.forward(rows, *cache, logits); !ok) return report(ok.error());

  const int64_t vocab = model.config().vocab_size;
  const int top = std::clamp<int>(a.top, 0, static_cast<int>(vocab));
  std::string out = "{\"tokens\": [";
  for (size_t i = 0; i < ids.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? ", " : "", ids[i]);
  out += "], \"top\": [";
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* row = &logits[i * vocab];
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top, order.end(),
                      [&](int32_t x, int32_t y) { return row[x] > row[y] || (row[x] == row[y] && x < y); });
    out += i ? ", [" : "[";
    for (int k = 0; k < top; ++k) fmt::format_to(std::back_inserter(out), "{}[{}, {}]", k ? ", " : "", order[k], row[order[k]]);
    out += "]";
  }
  out += "], \"last_logits\": [";
  const float* last = &logits[(ids.size() - 1) * vocab];
  for (int64_t v = 0; v < vocab; ++v) fmt::format_to(std::back_inserter(out), "{}{}", v ? ", " : "", last[v]);
  out += "]}\n";
  fmt::print("{}", out);
}
}  // namespace

void add_logits_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "Print the logits of a prompt as JSON (top-K per position, all at the last)");
  auto a = std::make_shared<LogitsArgs>();
  cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  auto* p = cmd->add_option("-p,--prompt", a->prompt, "the text (BOS added unless --no-bos)");
  auto* t = cmd->add_option("--tokens", a->tokens, "token ids used exactly as given, e.g. 1,15043,3186");
  p->excludes(t);
  cmd->add_option("--lora", a->lora, "apply a LoRA adapter: PEFT dir or GGUF, PATH[:SCALE] (repeatable)");
  cmd->add_option("--top", a->top, "how many best logits per position")->capture_default_str();
  cmd->add_flag("--no-bos", a->no_bos, "do not add the BOS token");
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->callback([a] {
    if (a->prompt.empty() && a->tokens.empty()) return report(Error{"logits: give -p TEXT or --tokens IDS"});
    run_logits(*a);
  });
}

}  // namespace officina::cli
