// The dequantizers on real llama.cpp output: the conformance models
// small-256-{Q8_0,Q4_0,Q4_K_M}.gguf were quantized by llama.cpp from one F32
// network, so every Q4_0 / Q4_K / Q6_K tensor must dequantize to within its
// quantization error of the same tensor in the Q8_0 file. A layout slip
// (nibble order, scale packing, qh bit positions) gives errors of order 1.
// Our quantizers, run on the Q8_0 values, must do about as well as llama.cpp.
// The folder comes from OFFICINA_CONFORMANCE_DIR; the test skips without it.
//
// The tensor layer does not depend on formats/, so this test reads the GGUF
// header itself (tensor names, types, shapes, offsets; values are skipped).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quantize.h"
#include "tensor_test_util.h"
#include "test_util.h"

namespace officina {
namespace {

struct GgufTensor {
  DType type;
  int64_t cols;
  int64_t rows;
  const std::byte* data;
};

class MiniGguf {
 public:
  explicit MiniGguf(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    bytes_.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes_.data()), static_cast<std::streamsize>(bytes_.size()));
    if (bytes_.size() < 24 || std::memcmp(bytes_.data(), "GGUF", 4) != 0) return;
    pos_ = 8;
    const uint64_t tensors = read<uint64_t>();
    const uint64_t kvs = read<uint64_t>();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < kvs; ++i) {
      const std::string key = read_string();
      const uint32_t type = read<uint32_t>();
      if (key == "general.alignment" && type == 4) {
        alignment = read<uint32_t>();
      } else {
        skip_value(type);
      }
    }
    struct Info {
      std::string name;
      uint32_t type;
      int64_t cols, rows;
      uint64_t offset;
    };
    std::vector<Info> infos;
    for (uint64_t i = 0; i < tensors; ++i) {
      Info info{read_string(), 0, 1, 1, 0};
      const uint32_t dims = read<uint32_t>();
      for (uint32_t d = 0; d < dims; ++d) {
        const auto n = static_cast<int64_t>(read<uint64_t>());
        if (d == 0) info.cols = n; else info.rows *= n;
      }
      info.type = read<uint32_t>();
      info.offset = read<uint64_t>();
      infos.push_back(info);
    }
    const size_t data_start = (pos_ + alignment - 1) / alignment * alignment;
    for (const auto& info : infos) {
      auto type = dtype_from_ggml(info.type);
      if (!type) return;
      tensors_[info.name] = {*type, info.cols, info.rows, bytes_.data() + data_start + info.offset};
    }
    ok_ = true;
  }

  bool ok() const { return ok_; }
  const std::map<std::string, GgufTensor>& tensors() const { return tensors_; }

  std::vector<float> dequantize(const GgufTensor& t) const {
    std::vector<float> out(static_cast<size_t>(t.rows * t.cols));
    for (int64_t r = 0; r < t.rows; ++r)
      dequantize_row(t.type, t.data + r * dtype_row_bytes(t.type, t.cols), out.data() + r * t.cols, t.cols);
    return out;
  }

 private:
  template <class T>
  T read() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string read_string() {
    const auto n = read<uint64_t>();
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip_value(uint32_t type) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      pos_ += read<uint64_t>();
    } else if (type == 9) {
      const uint32_t element = read<uint32_t>();
      const uint64_t count = read<uint64_t>();
      for (uint64_t i = 0; i < count; ++i) skip_value(element);
    } else {
      pos_ += sizes[type];
    }
  }

  std::vector<std::byte> bytes_;
  size_t pos_ = 0;
  bool ok_ = false;
  std::map<std::string, GgufTensor> tensors_;
};

std::vector<float> requantized(DType type, const std::vector<float>& x, int64_t cols) {
  std::vector<std::byte> q(dtype_row_bytes(type, cols));
  std::vector<float> out(x.size());
  for (size_t off = 0; off < x.size(); off += static_cast<size_t>(cols)) {
    quantize_row(type, x.data() + off, q.data(), cols);
    dequantize_row(type, q.data(), out.data() + off, cols);
  }
  return out;
}

void check_against_q8_0(const std::string& file) {
  const std::string dir = test::conformance_path("models");
  if (!std::filesystem::exists(dir + "/" + file)) GTEST_SKIP() << "no conformance data at " << dir;
  const MiniGguf reference(dir + "/small-256-Q8_0.gguf");
  const MiniGguf quantized(dir + "/" + file);
  ASSERT_TRUE(reference.ok() && quantized.ok());
  // Bounds on the relative RMS difference from the Q8_0 tensor. Measured:
  // Q4_0 0.085-0.087, Q4_K 0.071-0.072, Q6_K 0.0186 (Q8_0's own error is
  // ~0.005); norms are F32 in every file and must be identical.
  const std::map<DType, double> bounds = {
      {DType::F32, 0.0}, {DType::Q4_0, 0.095}, {DType::Q4_K, 0.08}, {DType::Q6_K, 0.021}};
  int checked = 0;
  for (const auto& [name, t] : quantized.tensors()) {
    SCOPED_TRACE(name + " " + std::string(dtype_name(t.type)));
    const auto it = reference.tensors().find(name);
    ASSERT_NE(it, reference.tensors().end());
    ASSERT_EQ(it->second.cols, t.cols);
    ASSERT_EQ(it->second.rows, t.rows);
    const auto want = reference.dequantize(it->second);
    const auto got = quantized.dequantize(t);
    const double theirs = test::relative_rms(got.data(), want.data(), static_cast<int64_t>(want.size()));
    ASSERT_TRUE(bounds.contains(t.type));
    EXPECT_LE(theirs, bounds.at(t.type));
    ++checked;
    if (t.type == DType::F32) continue;
    // Our quantizer on the same values (the first rows, to keep the test
    // fast): at most 5 % worse than llama.cpp's (measured: 1-11 % better,
    // up to 0.3 % worse on a few Q4_0 tensors).
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(want.size()), 256 * t.cols);
    const std::vector<float> head(want.begin(), want.begin() + n);
    const auto ours = requantized(t.type, head, t.cols);
    const double our_error = test::relative_rms(ours.data(), head.data(), n);
    EXPECT_LT(our_error, 1.05 * theirs) << "llama.cpp " << theirs << ", officina " << our_error;
  }
  EXPECT_EQ(checked, 21);
}

TEST(GgufBlocks, Q4_0ModelMatchesQ8_0Model) { check_against_q8_0("small-256-Q4_0.gguf"); }
TEST(GgufBlocks, Q4_K_MModelMatchesQ8_0Model) { check_against_q8_0("small-256-Q4_K_M.gguf"); }

}  // namespace
}  // namespace officina
