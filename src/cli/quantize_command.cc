// officina quantize IN OUT TYPE [-t THREADS]: a model (GGUF or Hugging Face
// directory) to a GGUF file in F16, BF16, Q8_0, Q4_0, Q4_K or Q4_K_M.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/model_quantize.h"

namespace officina::cli {

namespace {
struct QuantizeArgs {
  std::string in, out, type;
  int threads = 0;
};

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

void run_quantize(const QuantizeArgs& a) {
  // The type first: a typo should not wait for a large model to load.
  auto scheme = quant_scheme_from_name(a.type);
  if (!scheme) return report(scheme.error());
  auto model = Model::load(a.in);
  if (!model) return report(model.error());
  QuantizeOptions options;
  options.scheme = *scheme;
  options.threads = a.threads;
  if (isatty(STDERR_FILENO)) {
    options.on_tensor = [](size_t index, size_t total, const std::string& name) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", index + 1, total, name.c_str());
      if (index + 1 == total) std::fputc('\n', stderr);
    };
  }
  auto result = quantize_model(**model, options, a.out);
  if (!result) return report(result.error());
  for (const QuantizeFallback& f : result->fallbacks)
    fmt::print("{}: {} columns are not a multiple of the {} block size {}; stored as {}\n", f.tensor, f.cols,
               dtype_name(f.wanted), dtype_block_size(f.wanted), dtype_name(f.used));
  fmt::print("wrote {} ({}, general.file_type {})\n", a.out, quant_scheme_name(*scheme),
             quant_scheme_file_type(*scheme));
  for (const auto& [type, count] : result->tensors)
    fmt::print("  {:<6} {:>5} tensor{}\n", dtype_name(type), count, count == 1 ? "" : "s");
  const double ratio = result->bytes_after > 0 ? static_cast<double>(result->bytes_before) / result->bytes_after : 0;
  fmt::print("  tensor data {} -> {} ({:.2f}x smaller), file {}\n", mib(result->bytes_before), mib(result->bytes_after),
             ratio, mib(result->file_bytes));
}
}  // namespace

void add_quantize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Write a model with quantized weights (F16, BF16, Q8_0, Q4_0, Q4_K, Q4_K_M)");
  auto a = std::make_shared<QuantizeArgs>();
  cmd->add_option("model", a->in, "a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("out", a->out, "the .gguf file to write")->required();
  cmd->add_option("type", a->type, "F16, BF16, Q8_0, Q4_0, Q4_K or Q4_K_M")->required();
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->callback([a] { run_quantize(*a); });
}

}  // namespace officina::cli
