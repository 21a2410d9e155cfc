// officina bench -m MODEL [-p 128] [-n 64] [-t THREADS] [-r REPS] [--json FILE]:
// prompt-processing and generation speed, printed as llama-bench's table.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "generate/speed_bench.h"
#include "model/model_quantize.h"

namespace officina::cli {

namespace {
struct BenchArgs {
  std::string model, json;
  SpeedBenchOptions options;
  int threads = 0;
};

Result<void> write_text(const std::string& path, const std::string& text) {
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

void run_bench(const BenchArgs& a) {
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  ThreadPool pool(a.threads);
  Transformer transformer(model, pool);
  auto tests = run_speed_bench(transformer, a.options);
  if (!tests) return report(tests.error());
  SpeedBenchSetup setup{model.name(), model_weight_bytes(model), model.config().parameter_count(),
                        model_type_label(model), pool.size()};
  fmt::print("{}", speed_bench_table(setup, *tests));
  if (!a.json.empty()) {
    if (auto ok = write_text(a.json, speed_bench_json(setup, *tests).dump(2) + "\n"); !ok) return report(ok.error());
  }
}
}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prompt-processing and generation speed (like llama-bench)");
  auto a = std::make_shared<BenchArgs>();
  SpeedBenchOptions& o = a->options;
  cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("-p,--n-prompt", o.n_prompt, "prompt tokens per pp test (0: none)")->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", o.n_gen, "generated tokens per tg test (0: none)")->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("-r,--repetitions", o.repetitions, "timed runs per test, after one warm-up")->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", o.seed, "seed of the random prompt")->capture_default_str();
  cmd->add_option("--json", a->json, "also write the results as JSON to this file");
  cmd->callback([a] { run_bench(*a); });
}

}  // namespace officina::cli
