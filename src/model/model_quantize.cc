#include "model/model_quantize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include "base/thread_pool.h"
#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "model/gguf_export.h"
#include "tensor/quantize.h"

namespace officina {

namespace {

struct SchemeInfo {
  QuantScheme scheme;
  std::string_view name;
  uint32_t file_type;
};

constexpr std::array<SchemeInfo, 6> kSchemes{{
    {QuantScheme::F16, "F16", 1},
    {QuantScheme::BF16, "BF16", 32},
    {QuantScheme::Q8_0, "Q8_0", 7},
    {QuantScheme::Q4_0, "Q4_0", 2},
    {QuantScheme::Q4_K, "Q4_K", 14},
    {QuantScheme::Q4_K_M, "Q4_K_M", 15},
}};

const SchemeInfo& info(QuantScheme scheme) {
  for (const SchemeInfo& s : kSchemes)
    if (s.scheme == scheme) return s;
  return kSchemes[0];
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

// "blk.12.ffn_down.weight" -> 12 and "ffn_down.weight"; -1 for other names.
int64_t layer_of(std::string_view name, std::string_view* rest) {
  constexpr std::string_view kPrefix = "blk.";
  if (!name.starts_with(kPrefix)) return -1;
  name.remove_prefix(kPrefix.size());
  int64_t layer = -1;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || ptr == name.data() + name.size() || *ptr != '.') return -1;
  *rest = std::string_view(ptr + 1, static_cast<size_t>(name.data() + name.size() - ptr - 1));
  return layer;
}

// llama.cpp's choice of the layers that get more bits in its *_M mixes: the
// first and the last eighth, where errors hurt most, and every third layer
// in between — about half of them.
bool layer_gets_more_bits(int64_t layer, int64_t n_layers) {
  const int64_t eighth = n_layers / 8;
  return layer < eighth || layer >= 7 * n_layers / 8 || (layer - eighth) % 3 == 2;
}

bool is_float_type(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Converts `t` to `type` row by row on the pool.
std::vector<std::byte> convert_tensor(const TensorView& t, DType type, ThreadPool& pool) {
  const size_t out_row = dtype_row_bytes(type, t.cols());
  std::vector<std::byte> out(out_row * static_cast<size_t>(t.rows()));
  pool.parallel_for(t.rows(), [&](int64_t begin, int64_t end, int) {
    std::vector<float> row(static_cast<size_t>(t.cols()));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(t.dtype, t.row(r), row.data(), t.cols());
      quantize_row(type, row.data(), out.data() + static_cast<size_t>(r) * out_row, t.cols());
    }
  });
  return out;
}

// The tensors to write and the metadata to start from, per source kind.
struct Source {
  std::vector<GgufNamedTensor> tensors;
  GgufMetadata metadata;
};

Result<Source> gguf_source(const Model& model, uint32_t file_type) {
  Source s;
  if (const GgufFile* g = model.gguf()) {
    // Every key and tensor of the file, in its order, so keys officina does
    // not read itself survive too.
    s.metadata = g->metadata();
    for (const GgufTensorInfo& t : g->tensors()) s.tensors.push_back({t.name, t.view, t.view.ndim >= 2});
    return s;
  }
  s.metadata = llama_gguf_metadata(model.config(), model.name(), file_type);
  OFFICINA_TRY(GgufMetadata tokenizer, tokenizer_gguf_metadata(model));
  s.metadata.insert(s.metadata.end(), tokenizer.begin(), tokenizer.end());
  s.tensors = llama_gguf_tensors(model.config(), model.weights());
  return s;
}

}  // namespace

Result<QuantScheme> quant_scheme_from_name(std::string_view name) {
  for (const SchemeInfo& s : kSchemes)
    if (equal_ignoring_case(s.name, name)) return s.scheme;
  return fail("unknown quantization type '{}' (choose F16, BF16, Q8_0, Q4_0, Q4_K or Q4_K_M)", name);
}

std::string_view quant_scheme_name(QuantScheme scheme) { return info(scheme).name; }

uint32_t quant_scheme_file_type(QuantScheme scheme) { return info(scheme).file_type; }

std::string_view gguf_file_type_name(uint32_t file_type) {
  switch (file_type) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K_S";
    case 12: return "Q3_K_M";
    case 13: return "Q3_K_L";
    case 14: return "Q4_K_S";
    case 15: return "Q4_K_M";
    case 16: return "Q5_K_S";
    case 17: return "Q5_K_M";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return "";
  }
}

DType quant_scheme_type(QuantScheme scheme, std::string_view name, int64_t n_layers, bool tied) {
  switch (scheme) {
    case QuantScheme::F16: return DType::F16;
    case QuantScheme::BF16: return DType::BF16;
    case QuantScheme::Q8_0: return DType::Q8_0;
    case QuantScheme::Q4_0: return DType::Q4_0;
    case QuantScheme::Q4_K: return DType::Q4_K;
    case QuantScheme::Q4_K_M: break;
  }
  // The output head's errors go straight into the logits.
  if (name == "output.weight" || (tied && name == "token_embd.weight")) return DType::Q6_K;
  std::string_view rest;
  const int64_t layer = layer_of(name, &rest);
  if (layer >= 0 && (rest == "attn_v.weight" || rest == "ffn_down.weight") && layer_gets_more_bits(layer, n_layers))
    return DType::Q6_K;
  return DType::Q4_K;
}

DType quant_fallback_type(DType wanted, int64_t cols) {
  if (dtype_row_ok(wanted, cols)) return wanted;
  if (wanted == DType::Q4_K && dtype_row_ok(DType::Q4_0, cols)) return DType::Q4_0;
  if (wanted == DType::Q6_K && dtype_row_ok(DType::Q8_0, cols)) return DType::Q8_0;
  return DType::F16;
}

Result<QuantizeReport> quantize_model(const Model& model, const QuantizeOptions& options, const std::string& out_path) {
  const ModelConfig& c = model.config();
  OFFICINA_TRY(Source source, gguf_source(model, quant_scheme_file_type(options.scheme)));
  GgufWriter writer;
  for (auto& [key, value] : source.metadata) writer.set(key, value);
  writer.set("general.file_type", GgufValue::u32(quant_scheme_file_type(options.scheme)));

  QuantizeReport report;
  ThreadPool pool(options.threads);
  bool any_block_type = false;
  for (size_t i = 0; i < source.tensors.size(); ++i) {
    const GgufNamedTensor& t = source.tensors[i];
    if (options.on_tensor) options.on_tensor(i, source.tensors.size(), t.name);
    DType target = t.view.dtype;
    if (!t.matrix) {
      if (is_float_type(t.view.dtype)) target = DType::F32;
    } else {
      const DType wanted = quant_scheme_type(options.scheme, t.name, c.n_layers, c.tied_embeddings);
      target = quant_fallback_type(wanted, t.view.cols());
      if (target != wanted) report.fallbacks.push_back({t.name, t.view.cols(), wanted, target});
    }
    report.bytes_before += t.view.bytes();
    report.tensors[target] += 1;
    any_block_type = any_block_type || dtype_is_quantized(target);
    if (target == t.view.dtype) {
      // Same type: the bytes as they are (requantizing would only lose).
      OFFICINA_CHECK(writer.add_tensor(t.name, t.view));
      report.bytes_after += t.view.bytes();
      continue;
    }
    std::vector<int64_t> shape(t.view.shape.begin(), t.view.shape.begin() + t.view.ndim);
    std::vector<std::byte> bytes = convert_tensor(t.view, target, pool);
    report.bytes_after += bytes.size();
    OFFICINA_CHECK(writer.add_tensor_owned(t.name, target, shape, std::move(bytes)));
  }
  // llama.cpp refuses block-quantized files without the version of its
  // quantization formats (2 since the 2023 layout change).
  if (any_block_type) writer.set("general.quantization_version", GgufValue::u32(2));
  else writer.remove("general.quantization_version");
  OFFICINA_CHECK(writer.write(out_path));
  std::error_code ec;
  report.file_bytes = std::filesystem::file_size(out_path, ec);
  return report;
}

std::string model_type_label(const Model& model) {
  const ModelWeights& w = model.weights();
  std::set<DType> types{w.token_embd.dtype, w.output.dtype};
  for (const LayerWeights& l : w.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) types.insert(t->dtype);
  if (types.size() == 1) return std::string(dtype_name(*types.begin()));
  if (const GgufFile* g = model.gguf()) {
    auto file_type = g->get_int_or("general.file_type", -1);
    if (file_type && *file_type >= 0) {
      std::string_view name = gguf_file_type_name(static_cast<uint32_t>(*file_type));
      if (!name.empty()) return std::string(name);
    }
  }
  return "mixed";
}

uint64_t model_weight_bytes(const Model& model) {
  const ModelWeights& w = model.weights();
  uint64_t total = w.token_embd.bytes() + w.output_norm.bytes();
  if (!model.config().tied_embeddings) total += w.output.bytes();
  for (const LayerWeights& l : w.layers)
    for (const TensorView* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
      total += t->bytes();
  return total;
}

}  // namespace officina
