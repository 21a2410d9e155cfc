#include "formats/safetensors_file.h"

#include <cstring>

#include <gtest/gtest.h>

#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

constexpr const char* kName = "weights.safetensors";

std::vector<std::byte> pattern(size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
  return out;
}

// u64 length + header text + data.
std::vector<std::byte> file_bytes(std::string_view header, size_t data_bytes = 0) {
  std::vector<std::byte> out(8);
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.resize(out.size() + data_bytes, std::byte{1});
  return out;
}

void expect_error(std::span<const std::byte> bytes, std::string_view problem) {
  auto f = SafetensorsFile::parse(bytes, kName);
  ASSERT_FALSE(f) << "parsed, expected an error about: " << problem;
  const std::string& m = f.error().message;
  EXPECT_EQ(m.rfind(kName, 0), 0u) << m;
  EXPECT_NE(m.find(problem), std::string::npos) << "'" << problem << "' not in: " << m;
}

TEST(Safetensors, ConformanceCheckpoint) {
  auto f = SafetensorsFile::open(test::conformance_path("models/tiny-gqa-hf/model.safetensors"));
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->metadata().at("format"), "pt");
  auto embed = f->view("model.embed_tokens.weight");
  ASSERT_TRUE(embed) << embed.error().message;
  EXPECT_EQ(embed->dtype, DType::F16);
  EXPECT_EQ(shape_string(*embed), "[32000, 96]");
  auto k = f->view("model.layers.1.self_attn.k_proj.weight");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->dtype, DType::F32);
  EXPECT_EQ(shape_string(*k), "[32, 96]");
  auto missing = f->view("lm_head.bias");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("tensor 'lm_head.bias' missing"), std::string::npos);
}

TEST(Safetensors, WriteReadRoundTrip) {
  test::TempDir dir;
  auto a = pattern(2 * 3 * 4, 1), b = pattern(5 * 2, 2), c = pattern(4 * 2, 3), s = pattern(4, 4);
  std::vector<SafetensorsWriteTensor> tensors = {
      {"z.lora_B.weight", DType::F32, {2, 3}, a},
      {"m.half", DType::F16, {5}, b},
      {"a.bf16", DType::BF16, {2, 2}, c},
      {"scalar", DType::F32, {}, s},
      {"empty", DType::F32, {0, 4}, {}},
  };
  std::string path = dir.path("adapter_model.safetensors");
  ASSERT_TRUE(write_safetensors(path, tensors, {{"format", "pt"}, {"note", "\"quoted\" è"}}));

  auto raw = MappedFile::open(path);
  ASSERT_TRUE(raw);
  uint64_t header_size = 0;
  std::memcpy(&header_size, raw->data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  std::string header(reinterpret_cast<const char*>(raw->data()) + 8, header_size);
  EXPECT_EQ(header.rfind("{\"__metadata__\":{", 0), 0u) << header;

  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->metadata().at("note"), "\"quoted\" è");
  ASSERT_EQ(f->tensors().size(), 5u);
  // F32 first (largest element), then 2-byte types, each group by name.
  std::vector<std::string> order;
  for (const auto& t : f->tensors())
    if (t.begin != t.end) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"scalar", "z.lora_B.weight", "a.bf16", "m.half"}));
  for (const auto& t : tensors) {
    auto v = f->view(t.name);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->dtype, t.dtype);
    EXPECT_EQ(v->ndim, static_cast<int>(t.shape.size()));
    ASSERT_EQ(f->find(t.name)->bytes.size(), t.bytes.size());
    if (!t.bytes.empty()) {
      EXPECT_EQ(std::memcmp(v->data, t.bytes.data(), t.bytes.size()), 0) << t.name;
    }
  }
  EXPECT_EQ(f->view("scalar")->elements(), 1);

  // Writing what was read gives the same bytes.
  std::vector<SafetensorsWriteTensor> again;
  for (const auto& t : f->tensors()) again.push_back({t.name, *t.dtype, t.shape, t.bytes});
  std::map<std::string, std::string> meta(f->metadata().begin(), f->metadata().end());
  auto bytes = safetensors_bytes(again, meta);
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), raw->size());
  EXPECT_EQ(std::memcmp(bytes->data(), raw->data(), raw->size()), 0);
}

TEST(Safetensors, WriterRefusesBadTensors) {
  auto data = pattern(16, 0);
  auto check = [&](SafetensorsWriteTensor t, std::string_view problem) {
    auto r = safetensors_bytes(std::span(&t, 1));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(problem), std::string::npos) << r.error().message;
  };
  check({"q", DType::Q8_0, {4}, data}, "cannot be stored in safetensors");
  check({"w", DType::F32, {2, 3}, data}, "needs 24");
  check({"w", DType::F32, {-1}, data}, "bad shape");
  check({"__metadata__", DType::F32, {4}, data}, "invalid tensor name");
  std::vector<SafetensorsWriteTensor> twice = {{"w", DType::F32, {4}, data}, {"w", DType::F32, {4}, data}};
  EXPECT_FALSE(safetensors_bytes(twice));
  test::TempDir dir;
  auto r = write_safetensors(dir.path("x.safetensors"), twice);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("x.safetensors"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Safetensors, OtherDtypesAreListedButHaveNoView) {
  auto bytes = file_bytes(
      R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"d":{"dtype":"F64","shape":[],"data_offsets":[16,24]},)"
      R"("u":{"dtype":"U8","shape":[3],"data_offsets":[24,27]},"big":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[28,32]}})",
      32);
  auto f = SafetensorsFile::parse(bytes, kName);
  ASSERT_TRUE(f) << f.error().message;
  const SafetensorsTensor* ids = f->find("ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype_name, "I64");
  EXPECT_FALSE(ids->dtype.has_value());
  EXPECT_EQ(ids->bytes.size(), 16u);
  auto v = f->view("ids");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, std::string(kName) +
                                   ": tensor 'ids' has dtype I64, which officina cannot use as a tensor (F32, F16, "
                                   "BF16 only)");
  EXPECT_FALSE(f->view("u"));
  auto big = f->view("big");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("5 dimensions"), std::string::npos);
}

TEST(Safetensors, HeaderLength) {
  auto tiny = file_bytes("");
  expect_error(std::span(tiny).first(5), "too short");
  std::vector<std::byte> beyond = file_bytes("{}");
  uint64_t n = 1000;
  std::memcpy(beyond.data(), &n, 8);
  expect_error(beyond, "header length 1000 is beyond the end of the file (size 10)");
  n = uint64_t{1} << 40;
  std::memcpy(beyond.data(), &n, 8);
  expect_error(beyond, "exceeds the limit");
}

TEST(Safetensors, MalformedHeaders) {
  expect_error(file_bytes("not json"), "header is not valid JSON");
  expect_error(file_bytes("{\"a\":"), "header is not valid JSON");
  expect_error(file_bytes("[1,2]"), "header must be a JSON object");
  expect_error(file_bytes(R"({"__metadata__":{"k":1}})"), "'__metadata__' value of 'k' must be a string");
  expect_error(file_bytes(R"({"__metadata__":[]})"), "'__metadata__' must be an object");
  expect_error(file_bytes(R"({"w":1})"), "tensor 'w': expected a JSON object");
  expect_error(file_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "field 'dtype' missing");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4), "field 'shape' missing");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative integers");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), "non-negative integers");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4), "'data_offsets' must be");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4), "end before they begin");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
               "names tensor 'w' twice");
}

TEST(Safetensors, UnknownDtype) {
  expect_error(file_bytes(R"({"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4),
               "tensor 'w': unknown dtype 'Q7'");
}

TEST(Safetensors, OffsetsOutOfRange) {
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
               "tensor 'w': data_offsets [0, 8) beyond the end of the data (4 bytes)");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}})", 4),
               "'data_offsets' must be");
}

TEST(Safetensors, SizeShapeMismatch) {
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16),
               "tensor 'w': data_offsets [0, 12) hold 12 bytes but F32 [2, 2] needs 16");
  expect_error(file_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
               "too many elements");
}

TEST(Safetensors, Overlaps) {
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
               "tensor 'b': data_offsets [4, 8) overlap tensor 'a' [0, 8)");
}

TEST(Safetensors, EveryTruncationFailsCleanly) {
  auto data = pattern(24, 9);
  std::vector<SafetensorsWriteTensor> tensors = {{"w", DType::F32, {2, 3}, data}};
  auto bytes = safetensors_bytes(tensors, {{"format", "pt"}}).value();
  ASSERT_TRUE(SafetensorsFile::parse(bytes, kName));
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    auto f = SafetensorsFile::parse(prefix, kName);
    ASSERT_FALSE(f) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(f.error().message.rfind(kName, 0), 0u) << f.error().message;
  }
}

TEST(Safetensors, OpenNamesPath) {
  auto f = SafetensorsFile::open("/nonexistent/x.safetensors");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("/nonexistent/x.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace officina
