//===- Json.h - a small JSON parser -----------------------------*- C++ -*-===//
//
// Just enough JSON for manifests and safetensors headers, with no dependency:
// a strict RFC 8259 parser (no comments, no trailing commas, no duplicate
// object keys) into an immutable tree. Integers that fit int64 keep their
// exact value; other numbers are doubles.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_JSON_H
#define WEFT_RUNTIME_LIB_JSON_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::runtime {

class JsonValue {
public:
  enum class Kind { Null, Bool, Integer, Number, String, Array, Object };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;

  Kind getKind() const { return kind; }
  bool isNull() const { return kind == Kind::Null; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isInteger() const { return kind == Kind::Integer; }
  /// Integer or floating-point number.
  bool isNumber() const {
    return kind == Kind::Integer || kind == Kind::Number;
  }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }

  bool getBool() const { return boolValue; }
  int64_t getInteger() const { return intValue; }
  double getNumber() const {
    return kind == Kind::Integer ? static_cast<double>(intValue) : numberValue;
  }
  const std::string &getString() const { return stringValue; }
  const std::vector<JsonValue> &getArray() const { return elements; }
  /// Members in document order.
  const std::vector<Member> &getObject() const { return members; }
  /// The member `key` of an object, or nullptr.
  const JsonValue *find(std::string_view key) const;

  /// "null", "boolean", "integer", "number", "string", "array", "object".
  static const char *getKindName(Kind kind);

private:
  friend class JsonParser;
  Kind kind = Kind::Null;
  bool boolValue = false;
  int64_t intValue = 0;
  double numberValue = 0;
  std::string stringValue;
  std::vector<JsonValue> elements;
  std::vector<Member> members;
};

/// Parses all of `text`. On failure returns false and sets `error` to
/// "offset N: what was expected".
bool parseJson(std::string_view text, JsonValue &result, std::string &error);

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_JSON_H
