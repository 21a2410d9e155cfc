// Corrupt GGUF input: every case must give one clear error naming the file
// and the problem, never a crash or a huge allocation.
#include <gtest/gtest.h>

#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "gguf_bytes.h"
#include "test_util.h"

namespace officina {
namespace {

using test::GgufBytes;

constexpr const char* kName = "broken.gguf";

// Parses and expects an error mentioning the file name and `problem`.
void expect_error(std::span<const std::byte> bytes, std::string_view problem) {
  auto f = GgufFile::parse(bytes, kName);
  ASSERT_FALSE(f) << "parsed, expected an error about: " << problem;
  const std::string& m = f.error().message;
  EXPECT_EQ(m.rfind(kName, 0), 0u) << m;
  EXPECT_NE(m.find(problem), std::string::npos) << "'" << problem << "' not in: " << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

// A small valid file: every value type, two tensors whose sizes are
// multiples of the alignment (so no prefix can be valid).
std::vector<std::byte> small_valid_file() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("a.u8", GgufValue::u8(1));
  w.set("a.i16", GgufValue::i16(-2));
  w.set("a.f64", GgufValue::f64(0.5));
  w.set("a.bool", GgufValue::boolean(false));
  w.set("a.nested", GgufValue::array(GgufType::ARRAY, {GgufValue::array(GgufType::STRING, {GgufValue::string("s")})}));
  static const std::vector<std::byte> data(64 + 32, std::byte{0x3c});
  EXPECT_TRUE(w.add_tensor("x", DType::F32, std::vector<int64_t>{2, 8}, std::span(data).first(64)));
  EXPECT_TRUE(w.add_tensor("y", DType::F16, std::vector<int64_t>{16}, std::span(data).first(32)));
  return w.to_bytes().value();
}

TEST(GgufBadInput, SmallValidFileParses) {
  auto bytes = small_valid_file();
  auto f = GgufFile::parse(bytes, kName);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->tensors().size(), 2u);
}

TEST(GgufBadInput, EveryTruncationFails) {
  auto bytes = small_valid_file();
  for (size_t n = 0; n < bytes.size(); ++n) {
    // A fresh copy of exactly n bytes, so reading past it trips ASan.
    std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    auto f = GgufFile::parse(prefix, kName);
    ASSERT_FALSE(f) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(f.error().message.rfind(kName, 0), 0u) << f.error().message;
  }
}

TEST(GgufBadInput, TruncationErrorsSayWhere) {
  auto bytes = small_valid_file();
  expect_error(std::span(bytes).first(10), "file ends while reading the tensor count");
  expect_error(std::span(bytes).first(30), "header at byte 16: metadata count 6 is impossible: only 6 bytes follow");
  expect_error(std::span(bytes).first(bytes.size() - 1), "tensor 'y': data [352, 384) beyond end of file (size 383)");
  auto named = GgufBytes().header(0, 1).str("general.name").u32(8).str("tiny-model");
  expect_error(named.bytes().first(59),
               "metadata 'general.name' at byte 48: a STRING value has length 10, more than the 3 bytes left");
  expect_error(named.bytes().first(50), "metadata 'general.name' at byte 48: file ends while reading the length of");
}

TEST(GgufBadInput, WrongMagic) {
  expect_error(GgufBytes().raw("GGML").u32(3).u64(0).u64(0).bytes(), "bad magic");
  expect_error(GgufBytes().raw("GG").bytes(), "bad magic");
  expect_error(GgufBytes().bytes(), "bad magic");
}

TEST(GgufBadInput, Versions) {
  expect_error(GgufBytes().header(0, 0, 1).bytes(), "GGUF version 1 is not supported");
  expect_error(GgufBytes().header(0, 0, 99).bytes(), "unsupported GGUF version 99");
  expect_error(GgufBytes().header(0, 0, 0x03000000).bytes(), "big-endian");
  EXPECT_TRUE(GgufFile::parse(GgufBytes().header(0, 0, 2).bytes(), kName));
}

TEST(GgufBadInput, ImpossibleCounts) {
  expect_error(GgufBytes().header(0, uint64_t{1} << 62).bytes(), "metadata count");
  expect_error(GgufBytes().header(~uint64_t{0}, 0).bytes(), "tensor count");
}

TEST(GgufBadInput, HugeMetadataArrayFailsWithoutAllocating) {
  // 2^60 UINT8 items would need an exabyte; the check must come first.
  auto bytes = GgufBytes().header(0, 1).str("big.array").u32(9).u32(0).u64(uint64_t{1} << 60).zeros(16);
  expect_error(bytes.bytes(), "metadata 'big.array' at byte 45: array of 1152921504606846976 UINT8 items");
  auto strings = GgufBytes().header(0, 1).str("strings").u32(9).u32(8).u64(3).u64(1).raw("a").zeros(8);
  expect_error(strings.bytes(), "metadata 'strings'");
}

TEST(GgufBadInput, HugeStringLength) {
  auto key = GgufBytes().header(0, 1).u64(~uint64_t{0}).raw("k").zeros(16);
  expect_error(key.bytes(), "the key has length 18446744073709551615");
  auto value = GgufBytes().header(0, 1).str("general.name").u32(8).u64(uint64_t{1} << 40).raw("abc");
  expect_error(value.bytes(), "metadata 'general.name' at byte 48: a STRING value has length 1099511627776");
}

TEST(GgufBadInput, BadValueTypes) {
  expect_error(GgufBytes().header(0, 1).str("k").u32(13).u32(0).bytes(), "metadata 'k' at byte 33: unknown value type 13");
  expect_error(GgufBytes().header(0, 1).str("k").u32(9).u32(99).u64(0).bytes(), "array of unknown value type 99");
  expect_error(GgufBytes().header(0, 1).str("k").u32(7).u8(2).zeros(8).bytes(), "BOOL value is 2");
}

TEST(GgufBadInput, DeeplyNestedArrays) {
  GgufBytes b;
  b.header(0, 1).str("deep");
  b.u32(9);
  for (int i = 0; i < 100; ++i) b.u32(9).u64(1);
  b.zeros(64);
  expect_error(b.bytes(), "arrays nested deeper than 8 levels");
}

TEST(GgufBadInput, DuplicateKeys) {
  auto b = GgufBytes().header(0, 2).kv_u32("llama.block_count", 2).kv_u32("llama.block_count", 3);
  expect_error(b.bytes(), "metadata 'llama.block_count' at byte 57: duplicate key");
}

TEST(GgufBadInput, HostileNamesAreEscaped) {
  auto b = GgufBytes().header(0, 2).kv_u32("evil\nkey", 1).kv_u32("evil\nkey", 2);
  expect_error(b.bytes(), "metadata 'evil\\x0akey' at byte 48: duplicate key");
}

TEST(GgufBadInput, Alignment) {
  expect_error(GgufBytes().header(0, 1).kv_u32("general.alignment", 12).bytes(),
               "'general.alignment' is 12, expected a power of two");
  expect_error(GgufBytes().header(0, 1).kv_u32("general.alignment", 0).bytes(), "expected a power of two");
  expect_error(GgufBytes().header(0, 1).str("general.alignment").u32(8).str("32").bytes(),
               "'general.alignment' is a STRING, expected an integer");
}

// One tensor info followed by padded data of `data_bytes`.
GgufBytes one_tensor(std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data_bytes = 64) {
  GgufBytes b;
  b.header(1, 0).tensor("w", std::move(dims), type, offset).pad().zeros(data_bytes);
  return b;
}

TEST(GgufBadInput, TensorShapes) {
  EXPECT_TRUE(GgufFile::parse(one_tensor({16}, 0, 0).bytes(), kName));
  expect_error(one_tensor({}, 0, 0).bytes(), "tensor 'w' at byte 33: 0 dimensions, expected 1 to 4");
  expect_error(one_tensor({1, 1, 1, 1, 1}, 0, 0).bytes(), "5 dimensions, expected 1 to 4");
  expect_error(one_tensor({16, 0}, 0, 0).bytes(), "tensor 'w' at byte 45: dimension 1 is 0");
  expect_error(one_tensor({uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0).bytes(), "element count overflows");
  expect_error(one_tensor({uint64_t{1} << 63}, 0, 0).bytes(), "element count overflows");
  expect_error(one_tensor({16}, 8, 0).bytes(), "innermost dimension 16 is not a multiple of the Q8_0 block size 32");
}

TEST(GgufBadInput, TensorTypes) {
  expect_error(one_tensor({16}, 99, 0).bytes(), "tensor 'w' at byte 45: unknown tensor type 99");
  expect_error(one_tensor({32}, 13, 0).bytes(), "Q5_K (ggml type 13) is not supported");
}

TEST(GgufBadInput, TensorDataRange) {
  // 16 F32 values need 64 bytes; only 32 follow the data section start.
  expect_error(one_tensor({16}, 0, 0, 32).bytes(), "tensor 'w': data [64, 128) beyond end of file (size 96)");
  expect_error(one_tensor({16}, 0, 64).bytes(), "tensor 'w': data [128, 192) beyond end of file");
  expect_error(one_tensor({16}, 0, ~uint64_t{0} - 31).bytes(), "beyond end of file");
  expect_error(one_tensor({16}, 0, 4).bytes(), "data offset 4 is not a multiple of the alignment 32");
  expect_error(one_tensor({uint64_t{1} << 61}, 0, 0).bytes(), "beyond end of file");
}

TEST(GgufBadInput, DuplicateTensorNames) {
  GgufBytes b;
  b.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().zeros(64);
  expect_error(b.bytes(), "tensor 'w' at byte 57: duplicate tensor name");
}

TEST(GgufBadInput, OpenNamesThePath) {
  test::TempDir dir;
  std::string path = dir.path("junk.gguf");
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("GGUF\x01", f);
  std::fclose(f);
  auto g = GgufFile::open(path);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message.rfind(path, 0), 0u) << g.error().message;
}

}  // namespace
}  // namespace officina
