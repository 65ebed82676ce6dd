//===- JsonTest.cpp - tests of the runtime's JSON parser ------------------===//

#include "Json.h"

#include "gtest/gtest.h"

#include <limits>

using namespace weft::runtime;

namespace {

JsonValue parseOk(std::string_view text) {
  JsonValue value;
  std::string error;
  EXPECT_TRUE(parseJson(text, value, error)) << text << ": " << error;
  return value;
}

std::string parseError(std::string_view text) {
  JsonValue value;
  std::string error;
  EXPECT_FALSE(parseJson(text, value, error)) << "accepted: " << text;
  return error;
}

TEST(JsonTest, Scalars) {
  EXPECT_TRUE(parseOk("null").isNull());
  EXPECT_TRUE(parseOk(" true ").getBool());
  EXPECT_FALSE(parseOk("false").getBool());
  EXPECT_TRUE(parseOk("false").isBool());

  JsonValue integer = parseOk("-42");
  ASSERT_TRUE(integer.isInteger());
  EXPECT_EQ(integer.getInteger(), -42);
  EXPECT_EQ(parseOk("0").getInteger(), 0);

  JsonValue number = parseOk("2.5e-3");
  ASSERT_EQ(number.getKind(), JsonValue::Kind::Number);
  EXPECT_DOUBLE_EQ(number.getNumber(), 2.5e-3);
  EXPECT_DOUBLE_EQ(parseOk("-0.5").getNumber(), -0.5);
  EXPECT_DOUBLE_EQ(parseOk("1E2").getNumber(), 100.0);
}

TEST(JsonTest, IntegersKeepInt64Range) {
  EXPECT_EQ(parseOk("9223372036854775807").getInteger(),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parseOk("-9223372036854775808").getInteger(),
            std::numeric_limits<int64_t>::min());
  // One past the range is still a number, but no longer an integer.
  JsonValue big = parseOk("9223372036854775808");
  EXPECT_FALSE(big.isInteger());
  EXPECT_TRUE(big.isNumber());
  EXPECT_DOUBLE_EQ(big.getNumber(), 9223372036854775808.0);
  // A fraction or exponent makes a number even when the value is integral.
  EXPECT_FALSE(parseOk("1.0").isInteger());
  EXPECT_FALSE(parseOk("1e0").isInteger());
}

TEST(JsonTest, StringsAndEscapes) {
  EXPECT_EQ(parseOk(R"("plain")").getString(), "plain");
  EXPECT_EQ(parseOk(R"("a\"b\\c\/d\b\f\n\r\t")").getString(),
            "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(parseOk(R"("\u00e9")").getString(), "\xC3\xA9");
  EXPECT_EQ(parseOk(R"("\u20AC")").getString(), "\xE2\x82\xAC");
  // A surrogate pair becomes one 4-byte UTF-8 sequence (U+1F600).
  EXPECT_EQ(parseOk(R"("\ud83d\ude00")").getString(), "\xF0\x9F\x98\x80");
  // Raw UTF-8 passes through.
  EXPECT_EQ(parseOk("\"\xC3\xA9\"").getString(), "\xC3\xA9");
  EXPECT_EQ(parseOk(R"("")").getString(), "");
}

TEST(JsonTest, ArraysAndObjects) {
  JsonValue value = parseOk(R"( {"b": [1, 2.5, "x", null, [], {}],
                                 "a": {"nested": true}} )");
  ASSERT_TRUE(value.isObject());
  // Members keep document order.
  ASSERT_EQ(value.getObject().size(), 2u);
  EXPECT_EQ(value.getObject()[0].first, "b");
  EXPECT_EQ(value.getObject()[1].first, "a");

  const JsonValue *b = value.find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->isArray());
  ASSERT_EQ(b->getArray().size(), 6u);
  EXPECT_EQ(b->getArray()[0].getInteger(), 1);
  EXPECT_DOUBLE_EQ(b->getArray()[1].getNumber(), 2.5);
  EXPECT_EQ(b->getArray()[2].getString(), "x");
  EXPECT_TRUE(b->getArray()[3].isNull());
  EXPECT_TRUE(b->getArray()[4].getArray().empty());
  EXPECT_TRUE(b->getArray()[5].getObject().empty());

  const JsonValue *a = value.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a->find("nested"), nullptr);
  EXPECT_TRUE(a->find("nested")->getBool());
  EXPECT_EQ(value.find("missing"), nullptr);
}

TEST(JsonTest, ErrorsNameTheOffset) {
  EXPECT_EQ(parseError("[1, 2,]"), "offset 6: expected a value");
  EXPECT_EQ(parseError(R"({"a" 1})"), "offset 5: expected ':'");
  EXPECT_EQ(parseError(R"({"a": 1, "a": 2})"), "offset 9: duplicate key 'a'");
}

TEST(JsonTest, RejectsInvalidDocuments) {
  const char *invalid[] = {
      "",
      "   ",
      "{",
      "[1 2]",
      "{\"a\": 1,}",
      "{'a': 1}",
      "{a: 1}",
      "{1: 2}",
      "\"unterminated",
      "\"tab\tinside\"",
      "\"bad \\x escape\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"\\udc00\"",
      "\"\\ud800 lonely\"",
      "\"\\ud800\\u0041\"",
      "01",
      "-",
      "1.",
      ".5",
      "1e",
      "1e+",
      "+1",
      "1e999",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      "{} {}",
      "[] x",
      "/* comment */ {}",
  };
  for (const char *text : invalid)
    EXPECT_FALSE(parseError(text).empty()) << text;
}

TEST(JsonTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  EXPECT_NE(parseError(deep).find("nesting too deep"), std::string::npos);
  // Reasonable nesting is fine.
  std::string ok = std::string(100, '[') + std::string(100, ']');
  parseOk(ok);
}

} // namespace
