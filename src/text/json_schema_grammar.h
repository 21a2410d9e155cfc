// JSON Schema → GBNF, so generation can be held to a schema (OpenAI
// `response_format: json_schema`), and the any-JSON grammars for
// `response_format: json_object`.
//
// What the generated grammar allows (a subset of what the schema accepts,
// chosen so that a small model cannot wander off):
//  - Objects: the declared `properties` in the schema's order; required ones
//    always, optional ones may be left out. Without `additionalProperties`
//    (or with `false`) no other property is written: this is still valid
//    for a schema that would accept more. With `additionalProperties: true`
//    or a schema, extra properties may follow the declared ones; their names
//    avoid the declared names and use no backslash escapes, so a duplicate
//    key can never sneak in.
//  - Arrays: `items` (any value when absent), `minItems`, `maxItems`.
//  - Strings: `minLength`, `maxLength` (in characters; an escape is one),
//    JSON escapes (\uXXXX only for non-surrogates: a lone surrogate is not
//    valid JSON text for most parsers; characters outside the BMP are
//    written as themselves).
//  - Numbers: at most 16 integer and 16 fraction digits and a two-digit
//    exponent; integers are written without fraction or exponent.
//  - `enum`, `const` (the values as compact JSON), `type` (one or a list),
//    `anyOf`, `oneOf` (as alternatives: oneOf's "exactly one" is not
//    enforced, so overlapping oneOf branches may yield a value matching
//    two), `$ref` to "#" or "#/<pointer>" (e.g. "#/$defs/node"), recursion
//    included, `true` / `{}` (any value).
//  - Whitespace: at most one space between tokens, none required, so
//    generation cannot loop on whitespace.
// Refused with an error naming the schema path: keywords that would change
// which values are valid but are not implemented (pattern, minimum,
// maximum, multipleOf, allOf, not, if/then/else, prefixItems, uniqueItems,
// patternProperties, propertyNames, min/maxProperties, dependent*,
// unevaluated*, contains), `false` schemas, non-local `$ref`, schemas nested
// deeper than JsonSchemaLimits::max_depth, and grammars beyond its limits.
// Ignored: annotations (title, description, default, examples, format,
// $schema, $id, $comment, readOnly, writeOnly, deprecated, content*) and
// unknown keywords, as JSON Schema itself treats them.
//
// Failure: "WHERE: /properties/age: keyword 'minimum' is not supported ...".
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "text/grammar.h"

namespace officina {

struct JsonSchemaLimits {
  int max_depth = 64;           // nested schemas
  size_t max_rules = 20000;     // rules in the generated grammar
  uint32_t max_items = 10000;   // the largest minItems/maxItems/maxLength honoured
};

// The schema as JSON text (property order is kept) or as parsed JSON (use
// nlohmann::ordered_json so the order survives parsing).
Result<std::string> json_schema_to_gbnf(std::string_view schema_text, std::string_view where = "schema",
                                        const JsonSchemaLimits& limits = {});
Result<std::string> json_schema_json_to_gbnf(const nlohmann::ordered_json& schema, std::string_view where = "schema",
                                        const JsonSchemaLimits& limits = {});
// Converts and parses in one step.
Result<Grammar> json_schema_grammar(std::string_view schema_text, std::string_view where = "schema",
                                    const JsonSchemaLimits& limits = {});

// Any JSON value, and any JSON object (root must be an object), with the
// same whitespace and number bounds as the schema grammars.
std::string json_value_gbnf();
std::string json_object_gbnf();

}  // namespace officina
