// Benchmark of LoRA training (plain main, not a test), the setup of the
// fine-tuning issue: a random-weight Llama of 134M parameters (dim 768, 12
// layers, 12 heads, ffn 2048, vocab 32000), sequences of 256 tokens, batch
// 4, rank 16 on all seven projections, AdamW, 2 threads; F32 and Q4_0 bases.
// Each configuration runs in its own child process so its peak RSS
// (getrusage) is its own. Prints a table and writes JSON to argv[1].
//   train_bench [OUT.json] [--steps N] [--threads N] [--quick]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_machine.h"
#include "bench_model.h"
#include "model/gguf_export.h"
#include "model/random_model.h"
#include "tensor/gemm.h"
#include "train/adamw.h"
#include "train/lora_trainer.h"

namespace {

using namespace officina;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

struct Result1 {
  double tokens_per_s = 0, peak_rss_mb = 0, loss_first = 0, loss_last = 0;
};

Result1 run_one(const std::string& path, int steps, int threads, int64_t seq, int64_t batch) {
  set_gemm_threads(threads);
  auto model = Model::load(path);
  if (!model) die(model.error().message);
  LoraInit init;
  init.rank = 16;
  init.alpha = 32;
  auto params = LoraParams::init((*model)->config(), init);
  if (!params) die(params.error().message);
  ThreadPool pool(threads);
  LoraTrainer trainer(**model, &*params, &pool);
  if (std::getenv("TRAIN_BENCH_RECOMPUTE")) trainer.set_memory_budget(0);
  AdamW optimizer(*params, AdamWConfig{});
  std::vector<TrainSequence> sequences;
  for (int64_t b = 0; b < batch; ++b) {
    TrainSequence s;
    for (int64_t t = 0; t < seq; ++t) s.tokens.push_back(static_cast<int32_t>(1 + (t * 7919 + b * 104729) % 31999));
    for (int64_t t = 0; t < seq; ++t) s.targets.push_back(t + 1 < seq ? s.tokens[t + 1] : -1);
    sequences.push_back(std::move(s));
  }
  Result1 r;
  double timed = 0;
  for (int step = 0; step <= steps; ++step) {  // step 0 warms up
    auto t0 = std::chrono::steady_clock::now();
    params->zero_grad();
    double loss = 0;
    int64_t n = batch * (seq - 1);
    for (const auto& s : sequences) {
      auto l = trainer.accumulate(s, 1.0f / static_cast<float>(n));
      if (!l) die(l.error().message);
      loss += l->loss_sum;
    }
    clip_grad_norm(*params, 1.0);
    optimizer.step(*params, 1e-4);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step == 0) r.loss_first = loss / static_cast<double>(n);
    r.loss_last = loss / static_cast<double>(n);
    if (step > 0) timed += dt;
  }
  r.tokens_per_s = static_cast<double>(steps * batch * seq) / timed;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  r.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "train-bench.json";
  int steps = 3, threads = 2;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--steps" && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--quick") quick = true;
    else out_path = a;
  }
  const ModelConfig c = bench::bench_model_config(quick);
  const int64_t seq = quick ? 64 : 256, batch = quick ? 2 : 4;

  auto metadata = bench::bench_tokenizer_metadata();
  if (!metadata) die(metadata.error().message);
  auto random = make_random_model(c, 1);
  if (!random) die(random.error().message);
  const std::string dir = (std::filesystem::temp_directory_path() / ("officina-train-bench-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  struct Config {
    std::string name;
    DType type;
  };
  std::vector<Config> configs = {{"F32", DType::F32}, {"Q4_0", DType::Q4_0}};
  std::vector<std::pair<Config, Result1>> results;
  for (const auto& cfg : configs) {
    const std::string path = dir + "/model-" + cfg.name + ".gguf";
    GgufExportOptions options;
    options.matrix_type = cfg.type;
    if (auto ok = write_llama_gguf((*random)->config, (*random)->weights, *metadata, options, path); !ok) die(ok.error().message);
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      Result1 r = run_one(path, steps, threads, seq, batch);
      if (write(fds[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    Result1 r;
    if (read(fds[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) die("child failed for " + cfg.name);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    results.emplace_back(cfg, r);
    std::filesystem::remove(path);
  }
  std::filesystem::remove_all(dir);

  std::printf("LoRA training, rank 16 on q,k,v,o,gate,up,down; %lld x %lld tokens per step; %d threads; %s\n",
              static_cast<long long>(batch), static_cast<long long>(seq), threads, officina::bench::cpu_model().c_str());
  std::printf("| base | tokens/s | peak RSS MiB | loss first -> last |\n| --- | --- | --- | --- |\n");
  nlohmann::json json;
  json["machine"] = {{"cpu", officina::bench::cpu_model()}, {"load_average", officina::bench::load_average()}};
  json["setup"] = {{"dim", c.dim}, {"layers", c.n_layers}, {"heads", c.n_heads}, {"ffn", c.ffn_dim}, {"vocab", c.vocab_size},
                   {"seq_len", seq}, {"batch", batch}, {"rank", 16}, {"threads", threads}, {"steps", steps}};
  for (const auto& [cfg, r] : results) {
    std::printf("| %s | %.1f | %.0f | %.4f -> %.4f |\n", cfg.name.c_str(), r.tokens_per_s, r.peak_rss_mb, r.loss_first,
                r.loss_last);
    json["results"].push_back({{"base", cfg.name}, {"tokens_per_s", r.tokens_per_s}, {"peak_rss_mib", r.peak_rss_mb},
                               {"loss_first", r.loss_first}, {"loss_last", r.loss_last}});
  }
  std::ofstream(out_path) << json.dump(2) << "\n";
  return 0;
}
