// JSON Schema → grammar: each supported keyword accepts the values it
// should and refuses the others; unsupported keywords and bad schemas give
// errors naming the schema path.
#include "text/json_schema_grammar.h"

#include <gtest/gtest.h>

#include "text/grammar_matcher.h"
#include "text/json_schema_validator.h"

namespace officina {
namespace {

Grammar schema_grammar(std::string_view schema) {
  auto g = json_schema_grammar(schema, "s.json");
  EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().message);
  if (!g) return *Grammar::parse("root ::= \"\\x00\"");
  return std::move(*g);
}

bool matches(const Grammar& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

std::string schema_error(std::string_view schema) {
  auto g = json_schema_to_gbnf(schema, "s.json");
  EXPECT_FALSE(g.has_value()) << *g;
  return g ? "" : g.error().message;
}

TEST(JsonSchemaGrammar, Primitives) {
  Grammar s = schema_grammar(R"({"type": "string"})");
  EXPECT_TRUE(matches(s, R"("hi \"there\" \u00e8 \n")"));
  EXPECT_TRUE(matches(s, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\""));
  EXPECT_FALSE(matches(s, R"("\ud800")"));  // lone surrogate escapes are refused
  EXPECT_FALSE(matches(s, "\"a\nb\""));     // raw control characters are not JSON
  EXPECT_FALSE(matches(s, R"("\q")"));
  Grammar i = schema_grammar(R"({"type": "integer"})");
  EXPECT_TRUE(matches(i, "-42"));
  EXPECT_TRUE(matches(i, "0"));
  EXPECT_FALSE(matches(i, "01"));
  EXPECT_FALSE(matches(i, "1.5"));
  EXPECT_FALSE(matches(i, "12345678901234567"));  // more than 16 digits
  Grammar n = schema_grammar(R"({"type": "number"})");
  EXPECT_TRUE(matches(n, "-0.25e+10"));
  EXPECT_TRUE(matches(n, "3"));
  EXPECT_FALSE(matches(n, "3."));
  EXPECT_FALSE(matches(n, ".5"));
  Grammar b = schema_grammar(R"({"type": ["boolean", "null"]})");
  EXPECT_TRUE(matches(b, "true"));
  EXPECT_TRUE(matches(b, "null"));
  EXPECT_FALSE(matches(b, "1"));
}

TEST(JsonSchemaGrammar, ObjectPropertiesInOrderWithOptionalOnes) {
  Grammar g = schema_grammar(R"({"type": "object", "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
      "required": ["age"]})");
  EXPECT_TRUE(matches(g, R"({"name":"Ada","age":36,"tags":["x"]})"));
  EXPECT_TRUE(matches(g, R"({ "age": 36 })"));
  EXPECT_TRUE(matches(g, R"({"age":36,"tags":[]})"));
  EXPECT_FALSE(matches(g, R"({"name":"Ada"})"));              // age is required
  EXPECT_FALSE(matches(g, R"({"age":36,"name":"Ada"})"));     // schema order
  EXPECT_FALSE(matches(g, R"({"age":36,"other":1})"));        // no additionalProperties
  EXPECT_FALSE(matches(g, R"({"age":36,})"));
  EXPECT_FALSE(matches(g, R"({  "age":36})"));                // at most one space
}

TEST(JsonSchemaGrammar, AllOptionalAndEmptyObjects) {
  Grammar g = schema_grammar(R"({"properties": {"a": {"type": "null"}, "b": {"type": "null"}}})");
  for (const char* ok : {"{}", "{ }", R"({"a":null})", R"({"b":null})", R"({"a":null,"b":null})"})
    EXPECT_TRUE(matches(g, ok)) << ok;
  EXPECT_FALSE(matches(g, R"({,"b":null})"));
  EXPECT_FALSE(matches(g, R"({"b":null,"a":null})"));
  Grammar empty = schema_grammar(R"({"type": "object", "additionalProperties": false})");
  EXPECT_TRUE(matches(empty, "{}"));
  EXPECT_FALSE(matches(empty, R"({"a":1})"));
}

TEST(JsonSchemaGrammar, AdditionalPropertiesAvoidDeclaredNames) {
  Grammar g = schema_grammar(R"({"type": "object", "properties": {"id": {"type": "integer"}},
      "additionalProperties": {"type": "boolean"}})");
  EXPECT_TRUE(matches(g, R"({"id":1,"x":true,"i":false,"idx":true})"));
  EXPECT_TRUE(matches(g, R"({"other":true})"));
  EXPECT_FALSE(matches(g, R"({"id":1,"id":true})"));  // a duplicate of a declared name
  EXPECT_FALSE(matches(g, R"({"x":1})"));
  Grammar odd = schema_grammar(R"({"properties": {"a\"b": {"type": "null"}, "\u00e8": {"type": "null"}},
      "additionalProperties": true})");
  EXPECT_TRUE(matches(odd, R"({"a\"b":null,"ab":1})"));
  EXPECT_FALSE(matches(odd, R"({"a"b":1})"));
  EXPECT_FALSE(matches(odd, "{\"\xC3\xA8\":null,\"\xC3\xA8\":1}"));
  EXPECT_TRUE(matches(odd, "{\"\xC3\xA8x\":1}"));
  Grammar any = schema_grammar(R"({"type": "object", "additionalProperties": true})");
  EXPECT_TRUE(matches(any, R"({"a":[1,{"b":null}],"c":"d"})"));
}

TEST(JsonSchemaGrammar, ArraysWithBounds) {
  Grammar g = schema_grammar(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})");
  EXPECT_TRUE(matches(g, "[1]"));
  EXPECT_TRUE(matches(g, "[1, 2, 3]"));
  EXPECT_FALSE(matches(g, "[]"));
  EXPECT_FALSE(matches(g, "[1,2,3,4]"));
  EXPECT_FALSE(matches(g, "[1,]"));
  Grammar none = schema_grammar(R"({"type": "array", "maxItems": 0})");
  EXPECT_TRUE(matches(none, "[]"));
  EXPECT_FALSE(matches(none, "[1]"));
}

TEST(JsonSchemaGrammar, StringLengthsCountCharacters) {
  Grammar g = schema_grammar(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  EXPECT_TRUE(matches(g, R"("ab")"));
  EXPECT_TRUE(matches(g, "\"\xC3\xA8\xC3\xA8\xC3\xA8\""));
  EXPECT_TRUE(matches(g, R"("\n\t")"));
  EXPECT_FALSE(matches(g, R"("a")"));
  EXPECT_FALSE(matches(g, R"("abcd")"));
}

TEST(JsonSchemaGrammar, EnumConstAnyOfOneOf) {
  Grammar e = schema_grammar(R"({"enum": ["red", 1, null, {"a": [true]}]})");
  EXPECT_TRUE(matches(e, R"("red")"));
  EXPECT_TRUE(matches(e, "1"));
  EXPECT_TRUE(matches(e, R"({"a":[true]})"));
  EXPECT_FALSE(matches(e, R"("blue")"));
  Grammar typed = schema_grammar(R"({"type": "string", "enum": ["red", 1]})");
  EXPECT_FALSE(matches(typed, "1"));
  Grammar c = schema_grammar(R"({"const": "x\"y"})");
  EXPECT_TRUE(matches(c, R"("x\"y")"));
  Grammar a = schema_grammar(R"({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]})");
  EXPECT_TRUE(matches(a, "5"));
  EXPECT_TRUE(matches(a, R"(["q"])"));
  EXPECT_FALSE(matches(a, "true"));
  Grammar o = schema_grammar(R"({"oneOf": [{"type": "null"}, {"type": "boolean"}]})");
  EXPECT_TRUE(matches(o, "false"));
}

TEST(JsonSchemaGrammar, RefsAndRecursion) {
  Grammar g = schema_grammar(R"({"$defs": {"node": {"type": "object", "properties": {
      "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
      "$ref": "#/$defs/node"})");
  EXPECT_TRUE(matches(g, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
  EXPECT_FALSE(matches(g, R"({"v":1,"kids":[{}]})"));
  Grammar root = schema_grammar(R"({"type": "array", "items": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}})");
  EXPECT_TRUE(matches(root, "[null,[[],[null]]]"));
  Grammar defs = schema_grammar(R"({"definitions": {"x": {"type": "boolean"}}, "properties": {"a": {"$ref": "#/definitions/x"}}, "required": ["a"]})");
  EXPECT_TRUE(matches(defs, R"({"a":true})"));
}

TEST(JsonSchemaGrammar, AnyJson) {
  auto value = Grammar::parse(json_value_gbnf(), "v");
  ASSERT_TRUE(value) << value.error().message;
  for (const char* ok : {"1", "\"s\"", "[]", R"({"a":[1,2,{"b":null}],"c":true})", "-1.5e3"})
    EXPECT_TRUE(matches(*value, ok)) << ok;
  EXPECT_FALSE(matches(*value, "{a:1}"));
  auto object = Grammar::parse(json_object_gbnf(), "o");
  ASSERT_TRUE(object) << object.error().message;
  EXPECT_TRUE(matches(*object, R"({"a":{"b":[]}})"));
  EXPECT_FALSE(matches(*object, "[1]"));
}

TEST(JsonSchemaGrammar, ErrorsNameThePath) {
  EXPECT_EQ(schema_error(R"({"properties": {"a": {"type": "string", "pattern": "^x$"}}})"),
            "s.json: /properties/a: keyword 'pattern' is not supported (it would change which values are valid)");
  EXPECT_EQ(schema_error(R"({"type": "integer", "minimum": 3})"),
            "s.json: /: keyword 'minimum' is not supported (it would change which values are valid)");
  EXPECT_EQ(schema_error(R"({"type": "strin"})"), "s.json: /: unknown type 'strin'");
  EXPECT_EQ(schema_error(R"({"$ref": "#/$defs/missing"})"), "s.json: /: cannot resolve '$ref' \"#/$defs/missing\"");
  EXPECT_EQ(schema_error(R"({"$ref": "http://x/y.json"})"),
            "s.json: /: only local '$ref' (\"#/...\") is supported, got 'http://x/y.json'");
  EXPECT_EQ(schema_error(R"({"properties": {"a": false}})"), "s.json: /properties/a: schema 'false' accepts no value");
  EXPECT_EQ(schema_error(R"({"properties": {}, "required": ["x"]})"),
            "s.json: /: required property 'x' is not in 'properties'");
  EXPECT_EQ(schema_error(R"({"type": "array", "maxItems": 100000})"),
            "s.json: /: 'maxItems' of 100000 is above the limit of 10000");
  EXPECT_EQ(schema_error(R"({"type": "array", "minItems": -1})"), "s.json: /: 'minItems' must be a non-negative integer");
  EXPECT_NE(schema_error(R"({"type": )").find("s.json: invalid JSON"), std::string::npos);
  EXPECT_NE(schema_error(R"([1, 2])").find("must be an object or a boolean"), std::string::npos);
  EXPECT_NE(schema_error(R"({"allOf": [{}]})").find("'allOf' is not supported"), std::string::npos);
}

TEST(JsonSchemaGrammar, HostileSchemasGetErrors) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"type": "array", "items": )";
  deep += "{}";
  for (int i = 0; i < 200; ++i) deep += "}";
  EXPECT_NE(schema_error(deep).find("nested deeper than 64"), std::string::npos);
  const std::string deep_value = R"({"enum": [)" + std::string(100000, '[') + std::string(100000, ']') + "]}";
  EXPECT_NE(schema_error(deep_value).find("'enum'/'const' value is nested deeper than 64"), std::string::npos);
  // A $ref cycle that never consumes input is caught by the grammar's
  // left-recursion check, not by looping.
  auto loop = json_schema_grammar(R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}}, "$ref": "#/$defs/a"})", "s.json");
  EXPECT_TRUE(loop.has_value()) << "a tail-position cycle is harmless: " << (loop ? "" : loop.error().message);
  auto left = json_schema_grammar(R"({"$defs": {"a": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "anyOf": [{"$ref": "#"}, {"type": "null"}]})", "s.json");
  EXPECT_TRUE(left.has_value() || left.error().message.find("left recursion") != std::string::npos);
}

TEST(JsonSchemaGrammar, ValidatorAgreesOnHandPickedValues) {
  nlohmann::json schema = nlohmann::json::parse(R"({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false})");
  test::SchemaValidator v(schema);
  EXPECT_EQ(v.check(nlohmann::json::parse(R"({"a": 1})")), "");
  EXPECT_NE(v.check(nlohmann::json::parse(R"({"a": 1.5})")), "");
  EXPECT_NE(v.check(nlohmann::json::parse(R"({})")), "");
}

}  // namespace
}  // namespace officina
