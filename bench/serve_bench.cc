// Serving throughput with many adapters: 8 greedy requests spread over 4
// LoRA adapters, run one at a time and then all at once through the
// continuous-batching scheduler, on the 134M bench model (dim 768, 12
// layers, ffn 2048, vocab 32000) with 2 threads. Aggregate decode tok/s is
// generated tokens over wall time. Also checks the texts are the same both
// ways. Prints a table and writes JSON to argv[1].
//   serve_bench [OUT.json] [--threads N] [--tokens N] [--type Q8_0|Q4_0|F32] [--quick]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_machine.h"
#include "bench_model.h"
#include "model/gguf_export.h"
#include "model/random_model.h"
#include "serve/scheduler.h"
#include "train/adapter_export.h"
#include "train/lora_params.h"

using namespace officina;

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "serve_bench: %s\n", message.c_str());
  std::exit(1);
}

using Clock = std::chrono::steady_clock;

struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::string> texts;
  std::vector<int64_t> tokens;
  std::vector<Clock::time_point> first, last;  // each request's first and last token
};

struct Run {
  double seconds = 0;
  double decode_seconds = 0;  // time while some request was decoding (after its first token)
  int64_t generated = 0;
  int64_t max_batch_rows = 0;
  std::vector<std::string> texts;
};

Run run(Scheduler& scheduler, const std::vector<std::vector<int32_t>>& prompts,
        const std::vector<std::shared_ptr<const LoraAdapter>>& adapters, int64_t tokens, bool together) {
  Waiter w;
  w.texts.resize(prompts.size());
  w.tokens.resize(prompts.size());
  w.first.assign(prompts.size(), Clock::time_point::max());
  w.last.assign(prompts.size(), Clock::time_point::min());
  auto submit = [&](size_t i) {
    SequenceRequest r;
    r.prompt = prompts[i];
    r.decode.max_tokens = tokens;
    r.decode.sampling.temperature = 0;
    r.decode.stop_at_end_of_generation = false;
    r.adapter = adapters[i % adapters.size()];
    r.adapter_key = "a" + std::to_string(i % adapters.size());
    r.on_event = [&w, i](const SequenceEvent& e) {
      std::lock_guard lock(w.mutex);
      if (e.kind == SequenceEvent::Kind::Text) {
        w.texts[i] += e.text;
        if (e.token >= 0) {
          w.first[i] = std::min(w.first[i], Clock::now());
          w.last[i] = Clock::now();
        }
      } else {
        if (e.kind == SequenceEvent::Kind::Failed) die(e.error);
        w.tokens[i] = e.completion_tokens;
        ++w.done;
        w.cv.notify_all();
      }
    };
    if (auto ok = scheduler.submit(std::move(r)); !ok) die(ok.error().message);
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) {
    submit(i);
    if (!together) {
      std::unique_lock lock(w.mutex);
      w.cv.wait(lock, [&] { return w.done == static_cast<int>(i) + 1; });
    }
  }
  {
    std::unique_lock lock(w.mutex);
    w.cv.wait(lock, [&] { return w.done == static_cast<int>(prompts.size()); });
  }
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Decode time: the union of the requests' [first token, last token] spans.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;
  for (size_t i = 0; i < prompts.size(); ++i) spans.emplace_back(w.first[i], w.last[i]);
  std::sort(spans.begin(), spans.end());
  Clock::time_point end = Clock::time_point::min();
  for (const auto& [a, b] : spans) {
    const Clock::time_point from = std::max(a, end);
    if (b > from) r.decode_seconds += std::chrono::duration<double>(b - from).count();
    end = std::max(end, b);
  }
  for (int64_t n : w.tokens) r.generated += n;
  r.texts = w.texts;
  r.max_batch_rows = scheduler.stats().max_batch_rows;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "serve-bench.json", type_name = "Q8_0";
  int threads = 2;
  int64_t tokens = 64;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--tokens" && i + 1 < argc) tokens = std::atoll(argv[++i]);
    else if (a == "--type" && i + 1 < argc) type_name = argv[++i];
    else if (a == "--quick") quick = true;
    else out_path = a;
  }
  auto type = dtype_from_name(type_name);
  if (!type) die(type.error().message);
  const ModelConfig c = bench::bench_model_config(quick);
  auto metadata = bench::bench_tokenizer_metadata();
  if (!metadata) die(metadata.error().message);
  auto random = make_random_model(c, 1);
  if (!random) die(random.error().message);
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("officina-serve-bench-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.gguf";
  GgufExportOptions options;
  options.matrix_type = *type;
  if (auto ok = write_llama_gguf((*random)->config, (*random)->weights, *metadata, options, path); !ok) die(ok.error().message);
  random->reset();
  auto model = Model::load(path);
  if (!model) die(model.error().message);
  std::vector<std::shared_ptr<const LoraAdapter>> adapters;
  for (int i = 0; i < 4; ++i) {
    LoraInit init;
    init.rank = 16;
    init.seed = 10 + static_cast<uint64_t>(i);
    init.targets = {true, true, true, true, false, false, false};
    auto params = LoraParams::random((*model)->config(), init, 0.02);
    if (!params) die(params.error().message);
    const std::string adir = dir + "/adapter" + std::to_string(i);
    if (auto ok = write_peft_adapter(*params, AdapterInfo{}, adir); !ok) die(ok.error().message);
    auto adapter = LoraAdapter::load(adir, (*model)->config());
    if (!adapter) die(adapter.error().message);
    adapters.push_back(std::make_shared<const LoraAdapter>(std::move(*adapter)));
  }
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i)
    prompts.push_back((*model)->tokenizer().encode(
        fmt::format("Operator question {}: why did filler F{} on line {} stop during the night shift?", i, i % 3, i % 2 + 1),
        true, false));

  SchedulerOptions so;
  so.parallel = 8;
  so.context = 512;
  so.threads = threads;
  so.prefix_reuse = false;  // both modes prefill every prompt fully
  auto alone_sched = Scheduler::create(**model, so);
  if (!alone_sched) die(alone_sched.error().message);
  run(**alone_sched, prompts, adapters, 4, false);  // warm-up
  Run alone = run(**alone_sched, prompts, adapters, tokens, false);
  alone_sched->reset();
  auto batch_sched = Scheduler::create(**model, so);
  if (!batch_sched) die(batch_sched.error().message);
  run(**batch_sched, prompts, adapters, 4, true);
  Run together = run(**batch_sched, prompts, adapters, tokens, true);
  const bool same = alone.texts == together.texts;
  const double alone_ts = static_cast<double>(alone.generated) / alone.seconds;
  const double together_ts = static_cast<double>(together.generated) / together.seconds;
  // Decode rate: tokens after each request's first, over the decoding time.
  const double n = static_cast<double>(prompts.size());
  const double alone_decode = (static_cast<double>(alone.generated) - n) / alone.decode_seconds;
  const double together_decode = (static_cast<double>(together.generated) - n) / together.decode_seconds;

  std::printf("serve_bench: %s, %s, %d threads, 8 requests x %lld tokens over 4 adapters (rank 16, q/k/v/o)\n",
              quick ? "quick model" : "134M model", type_name.c_str(), threads, static_cast<long long>(tokens));
  std::printf("| mode | seconds | generated | tok/s (wall, with prefill) | decode tok/s | largest batch |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: |\n");
  std::printf("| one at a time | %.2f | %lld | %.1f | %.1f | %lld |\n", alone.seconds,
              static_cast<long long>(alone.generated), alone_ts, alone_decode, static_cast<long long>(alone.max_batch_rows));
  std::printf("| 8 concurrent | %.2f | %lld | %.1f | %.1f | %lld |\n", together.seconds,
              static_cast<long long>(together.generated), together_ts, together_decode,
              static_cast<long long>(together.max_batch_rows));
  std::printf("speed-up %.2fx wall, %.2fx decode; same texts both ways: %s\n", together_ts / alone_ts,
              together_decode / alone_decode, same ? "yes" : "NO");

  nlohmann::json json;
  json["machine"] = {{"cpu", bench::cpu_model()}, {"load_average", bench::load_average()}};
  json["setup"] = {{"dim", c.dim}, {"layers", c.n_layers}, {"ffn", c.ffn_dim}, {"vocab", c.vocab_size},
                   {"type", type_name}, {"threads", threads}, {"requests", 8}, {"adapters", 4},
                   {"tokens_per_request", tokens}};
  json["one_at_a_time"] = {{"seconds", alone.seconds}, {"generated", alone.generated}, {"tok_s", alone_ts},
                           {"decode_seconds", alone.decode_seconds}, {"decode_tok_s", alone_decode}};
  json["concurrent"] = {{"seconds", together.seconds}, {"generated", together.generated}, {"tok_s", together_ts},
                        {"decode_seconds", together.decode_seconds}, {"decode_tok_s", together_decode},
                        {"max_batch_rows", together.max_batch_rows}};
  json["speedup"] = together_ts / alone_ts;
  json["decode_speedup"] = together_decode / alone_decode;
  json["same_texts"] = same;
  FILE* f = std::fopen(out_path.c_str(), "w");
  if (!f) die("cannot write " + out_path);
  std::fputs(json.dump(2).c_str(), f);
  std::fclose(f);
  std::filesystem::remove_all(dir);
  return same ? 0 : 1;
}
