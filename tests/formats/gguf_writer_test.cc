#include "formats/gguf_writer.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "base/mapped_file.h"
#include "formats/gguf_file.h"
#include "test_util.h"

namespace officina {
namespace {

std::vector<std::byte> iota_bytes(size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 31 + seed * 7) & 0xff);
  return out;
}

// One value of each of the 13 types, nested arrays included.
void set_every_type(GgufWriter& w) {
  w.set("t.uint8", GgufValue::u8(255));
  w.set("t.int8", GgufValue::i8(-128));
  w.set("t.uint16", GgufValue::u16(65535));
  w.set("t.int16", GgufValue::i16(-32768));
  w.set("t.uint32", GgufValue::u32(4294967295u));
  w.set("t.int32", GgufValue::i32(std::numeric_limits<int32_t>::min()));
  w.set("t.float32", GgufValue::f32(-1.25e-7f));
  w.set("t.bool", GgufValue::boolean(true));
  w.set("t.string", GgufValue::string("ciao, mondo — \xc3\xa8"));
  w.set("t.uint64", GgufValue::u64(std::numeric_limits<uint64_t>::max()));
  w.set("t.int64", GgufValue::i64(std::numeric_limits<int64_t>::min()));
  w.set("t.float64", GgufValue::f64(std::nextafter(1.0, 2.0)));
  w.set("t.array.strings", GgufValue::array(GgufType::STRING, {GgufValue::string(""), GgufValue::string("b")}));
  w.set("t.array.empty", GgufValue::array(GgufType::FLOAT64, {}));
  w.set("t.array.nested",
        GgufValue::array(GgufType::ARRAY, {GgufValue::array(GgufType::INT16, {GgufValue::i16(1), GgufValue::i16(-2)}),
                                           GgufValue::array(GgufType::STRING, {GgufValue::string("x")}),
                                           GgufValue::array(GgufType::BOOL, {})}));
  w.set("t.float32.nan", GgufValue::f32(std::nanf("")));
}

TEST(GgufWriter, RoundTripIsBitExact) {
  test::TempDir dir;
  auto q8 = iota_bytes(2 * 34 * 2, 1);    // Q8_0 [2, 64]: 2 blocks per row
  auto f32 = iota_bytes(3 * 5 * 4, 2);    // F32 [3, 5]: 60 bytes, padded
  auto f16 = iota_bytes(7 * 2, 3);        // F16 [7]
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  set_every_type(w);
  ASSERT_TRUE(w.add_tensor("b.q8", DType::Q8_0, std::vector<int64_t>{2, 64}, q8));
  ASSERT_TRUE(w.add_tensor_owned("a.f32", DType::F32, std::vector<int64_t>{3, 5}, f32));
  ASSERT_TRUE(w.add_tensor("c.f16", DType::F16, std::vector<int64_t>{7}, f16));
  std::string first = dir.path("first.gguf");
  ASSERT_TRUE(w.write(first));

  auto f = GgufFile::open(first);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->metadata().size(), w.metadata().size());
  for (size_t i = 0; i < w.metadata().size(); ++i) {
    EXPECT_EQ(f->metadata()[i].first, w.metadata()[i].first);
    EXPECT_EQ(f->metadata()[i].second, w.metadata()[i].second) << w.metadata()[i].first;
  }
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "b.q8");  // insertion order, not sorted
  EXPECT_EQ(f->tensors()[1].name, "a.f32");
  EXPECT_EQ(shape_string(f->tensors()[0].view), "[2, 64]");
  EXPECT_EQ(shape_string(f->tensors()[1].view), "[3, 5]");
  const TensorView& a = f->find_tensor("a.f32")->view;
  ASSERT_EQ(a.bytes(), f32.size());
  EXPECT_EQ(std::memcmp(a.data, f32.data(), f32.size()), 0);
  EXPECT_EQ(std::memcmp(f->find_tensor("b.q8")->view.data, q8.data(), q8.size()), 0);
  EXPECT_EQ(std::memcmp(f->find_tensor("c.f16")->view.data, f16.data(), f16.size()), 0);
  for (const auto& t : f->tensors()) EXPECT_EQ(reinterpret_cast<uintptr_t>(t.view.data) % 32, 0u) << t.name;

  // Copy everything into a fresh writer and write again: identical bytes.
  GgufWriter again;
  again.copy_metadata(*f);
  for (const auto& t : f->tensors()) ASSERT_TRUE(again.add_tensor(t.name, t.view));
  std::string second = dir.path("second.gguf");
  ASSERT_TRUE(again.write(second));
  auto one = MappedFile::open(first), two = MappedFile::open(second);
  ASSERT_TRUE(one && two);
  ASSERT_EQ(one->size(), two->size());
  EXPECT_EQ(std::memcmp(one->data(), two->data(), one->size()), 0);
}

TEST(GgufWriter, SetReplacesInPlaceAndRemove) {
  GgufWriter w;
  w.set("a", GgufValue::u32(1));
  w.set("b", GgufValue::u32(2));
  w.set("a", GgufValue::string("x"));
  ASSERT_EQ(w.metadata().size(), 2u);
  EXPECT_EQ(w.metadata()[0].first, "a");
  EXPECT_EQ(w.metadata()[0].second, GgufValue::string("x"));
  w.remove("a");
  ASSERT_EQ(w.metadata().size(), 1u);
  EXPECT_EQ(w.metadata()[0].first, "b");
  EXPECT_EQ(w.find("a"), nullptr);
}

TEST(GgufWriter, HonoursAlignment) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(64));
  auto t = iota_bytes(4 * 3, 5);
  ASSERT_TRUE(w.add_tensor("x", DType::F32, std::vector<int64_t>{3}, t));
  ASSERT_TRUE(w.add_tensor("y", DType::F32, std::vector<int64_t>{3}, t));
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes);
  auto f = GgufFile::parse(*bytes, "mem");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_start() % 64, 0u);
  EXPECT_EQ(f->find_tensor("y")->offset, 64u);
  EXPECT_EQ(bytes->size(), f->data_start() + 128);
}

TEST(GgufWriter, RefusesBadAlignment) {
  for (auto bad : {GgufValue::u32(0), GgufValue::u32(48), GgufValue::string("32")}) {
    GgufWriter w;
    w.set("general.alignment", bad);
    auto r = w.to_bytes();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("general.alignment"), std::string::npos) << r.error().message;
  }
}

TEST(GgufWriter, RefusesBadTensors) {
  GgufWriter w;
  auto bytes = iota_bytes(64, 0);
  auto expect_error = [](Result<void> r, std::string_view needle) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  expect_error(w.add_tensor("x", DType::F32, std::vector<int64_t>{4, 4}, std::span(bytes).first(60)), "needs 64");
  expect_error(w.add_tensor("x", DType::F32, std::vector<int64_t>{}, bytes), "dimensions");
  expect_error(w.add_tensor("x", DType::F32, std::vector<int64_t>{1, 1, 1, 1, 16}, bytes), "dimensions");
  expect_error(w.add_tensor("x", DType::F32, std::vector<int64_t>{0, 16}, bytes), "<= 0");
  expect_error(w.add_tensor("x", DType::Q8_0, std::vector<int64_t>{2, 16}, bytes), "block size 32");
  expect_error(w.add_tensor("", DType::F32, std::vector<int64_t>{16}, bytes), "empty tensor name");
  ASSERT_TRUE(w.add_tensor("x", DType::F32, std::vector<int64_t>{16}, bytes));
  expect_error(w.add_tensor("x", DType::F32, std::vector<int64_t>{16}, bytes), "added twice");
  EXPECT_EQ(w.tensor_count(), 1u);
}

TEST(GgufWriter, RefusesInconsistentValues) {
  GgufWriter w;
  w.set("mixed", GgufValue::array(GgufType::UINT32, {GgufValue::u32(1), GgufValue::i32(2)}));
  test::TempDir dir;
  auto r = w.write(dir.path("bad.gguf"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad.gguf"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'mixed'"), std::string::npos) << r.error().message;
  // Nothing is left behind: no file, no temporary.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(GgufWriter, FailedWriteKeepsEarlierFile) {
  test::TempDir dir;
  std::string path = dir.path("model.gguf");
  GgufWriter good;
  good.set("general.name", GgufValue::string("first"));
  ASSERT_TRUE(good.write(path));
  GgufWriter bad;
  bad.set("general.alignment", GgufValue::u32(3));
  ASSERT_FALSE(bad.write(path));
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->get_string("general.name").value(), "first");
}

TEST(GgufWriter, EmptyFileRoundTrips) {
  GgufWriter w;
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 32u);  // 24-byte header padded to the alignment
  auto f = GgufFile::parse(*bytes, "empty");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_TRUE(f->tensors().empty());
}

}  // namespace
}  // namespace officina
