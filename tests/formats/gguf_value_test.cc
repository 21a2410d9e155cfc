#include "formats/gguf_value.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace officina {
namespace {

TEST(GgufValue, TypeNames) {
  EXPECT_EQ(gguf_type_name(GgufType::UINT8), "UINT8");
  EXPECT_EQ(gguf_type_name(GgufType::STRING), "STRING");
  EXPECT_EQ(gguf_type_name(GgufType::ARRAY), "ARRAY");
  EXPECT_EQ(gguf_type_name(GgufType::FLOAT64), "FLOAT64");
  EXPECT_EQ(gguf_type_name(static_cast<GgufType>(77)), "UNKNOWN");
  EXPECT_TRUE(gguf_type_valid(12));
  EXPECT_FALSE(gguf_type_valid(13));
}

TEST(GgufValue, AsIntConvertsBetweenWidths) {
  EXPECT_EQ(GgufValue::u8(200).as_int("k").value(), 200);
  EXPECT_EQ(GgufValue::i8(-5).as_int("k").value(), -5);
  EXPECT_EQ(GgufValue::u16(65535).as_int("k").value(), 65535);
  EXPECT_EQ(GgufValue::i16(-32768).as_int("k").value(), -32768);
  EXPECT_EQ(GgufValue::u32(4000000000u).as_int("k").value(), 4000000000);
  EXPECT_EQ(GgufValue::i32(-7).as_int("k").value(), -7);
  EXPECT_EQ(GgufValue::u64(uint64_t{1} << 62).as_int("k").value(), int64_t{1} << 62);
  EXPECT_EQ(GgufValue::i64(std::numeric_limits<int64_t>::min()).as_int("k").value(),
            std::numeric_limits<int64_t>::min());
}

TEST(GgufValue, AsIntRefusesWhatDoesNotFit) {
  auto r = GgufValue::u64(std::numeric_limits<uint64_t>::max()).as_int("big");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'big'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("does not fit"), std::string::npos) << r.error().message;
}

TEST(GgufValue, AsIntNamesKeyAndType) {
  auto r = GgufValue::string("llama").as_int("general.architecture");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "'general.architecture' is a STRING, expected an integer");
  auto f = GgufValue::f32(1.5f).as_int("x");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "'x' is a FLOAT32, expected an integer");
  auto b = GgufValue::boolean(true).as_int("flag");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "'flag' is a BOOL, expected an integer");
  auto a = GgufValue::array(GgufType::INT32, {}).as_int("arr");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "'arr' is an ARRAY of INT32, expected an integer");
}

TEST(GgufValue, AsFloatAcceptsFloatsAndIntegers) {
  EXPECT_DOUBLE_EQ(GgufValue::f32(1e-6f).as_float("k").value(), double{1e-6f});
  EXPECT_DOUBLE_EQ(GgufValue::f64(0.1).as_float("k").value(), 0.1);
  EXPECT_DOUBLE_EQ(GgufValue::u32(10000).as_float("k").value(), 10000.0);
  EXPECT_DOUBLE_EQ(GgufValue::i64(-3).as_float("k").value(), -3.0);
  auto s = GgufValue::string("1.0").as_float("rope");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "'rope' is a STRING, expected a number");
}

TEST(GgufValue, OtherAccessors) {
  EXPECT_TRUE(GgufValue::boolean(true).as_bool("k").value());
  EXPECT_EQ(GgufValue::string("x").as_string("k").value(), "x");
  auto arr = GgufValue::array(GgufType::UINT8, {GgufValue::u8(1), GgufValue::u8(2)});
  const GgufArray* a = arr.as_array("k").value();
  ASSERT_EQ(a->items.size(), 2u);
  EXPECT_EQ(a->element_type, GgufType::UINT8);
  EXPECT_EQ(GgufValue::u32(1).as_bool("b").error().message, "'b' is a UINT32, expected a BOOL");
  EXPECT_EQ(GgufValue::u32(1).as_string("s").error().message, "'s' is a UINT32, expected a STRING");
  EXPECT_EQ(GgufValue::string("").as_array("a").error().message, "'a' is a STRING, expected an ARRAY");
  // A mismatched declared type never reads as the alternative it holds.
  GgufValue odd{GgufType::UINT32, std::string("x")};
  EXPECT_FALSE(odd.as_int("k"));
  EXPECT_FALSE(odd.as_string("k"));
}

TEST(GgufValue, EqualityComparesTypeAndBits) {
  EXPECT_EQ(GgufValue::u32(5), GgufValue::u32(5));
  EXPECT_NE(GgufValue::u32(5), GgufValue::u64(5));
  EXPECT_NE(GgufValue::u32(5), GgufValue::u32(6));
  EXPECT_EQ(GgufValue::f32(std::nanf("")), GgufValue::f32(std::nanf("")));
  EXPECT_NE(GgufValue::f64(0.0), GgufValue::f64(-0.0));
  EXPECT_EQ(GgufValue::string("a"), GgufValue::string("a"));
  auto nested = [](int v) {
    return GgufValue::array(GgufType::ARRAY, {GgufValue::array(GgufType::INT32, {GgufValue::i32(v)})});
  };
  EXPECT_EQ(nested(1), nested(1));
  EXPECT_NE(nested(1), nested(2));
  EXPECT_NE(GgufValue::array(GgufType::INT32, {}), GgufValue::array(GgufType::UINT32, {}));
}

TEST(GgufValue, CheckFindsInconsistentValues) {
  EXPECT_TRUE(gguf_value_check(GgufValue::u32(7), "k"));
  GgufValue wide{GgufType::UINT8, uint64_t{300}};
  auto r = gguf_value_check(wide, "k");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "'k' value 300 does not fit in UINT8");
  GgufValue negative{GgufType::INT8, int64_t{-129}};
  EXPECT_FALSE(gguf_value_check(negative, "k"));
  GgufValue mixed = GgufValue::array(GgufType::INT32, {GgufValue::i32(1), GgufValue::u32(2)});
  auto m = gguf_value_check(mixed, "arr");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "'arr' is an ARRAY of INT32 but item 1 is UINT32");
  GgufValue wrong_kind{GgufType::STRING, uint64_t{1}};
  EXPECT_FALSE(gguf_value_check(wrong_kind, "k"));
  GgufValue deep = GgufValue::u8(0);
  for (int i = 0; i <= kGgufMaxArrayDepth; ++i) {
    GgufType inner = deep.type;
    deep = GgufValue::array(inner, {deep});
  }
  auto d = gguf_value_check(deep, "deep");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("deeper"), std::string::npos) << d.error().message;
}

TEST(GgufValue, QuoteNameKeepsMessagesOnOneShortLine) {
  EXPECT_EQ(quote_name("blk.0.attn_q.weight"), "'blk.0.attn_q.weight'");
  EXPECT_EQ(quote_name("a\nb'c\\"), "'a\\x0ab\\x27c\\x5c'");
  EXPECT_EQ(quote_name("\xc3\xa8"), "'\\xc3\\xa8'");
  std::string long_name(1000, 'x');
  EXPECT_EQ(quote_name(long_name), "'" + std::string(120, 'x') + "' (shortened, 1000 bytes)");
}

}  // namespace
}  // namespace officina
