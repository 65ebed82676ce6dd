//===- Json.cpp - a small JSON parser -------------------------------------===//

#include "Json.h"

#include "Status.h"

#include <charconv>
#include <unordered_set>

using namespace weft::runtime;

const JsonValue *JsonValue::find(std::string_view key) const {
  for (const Member &member : members)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

const char *JsonValue::getKindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "boolean";
  case Kind::Integer:
    return "integer";
  case Kind::Number:
    return "number";
  case Kind::String:
    return "string";
  case Kind::Array:
    return "array";
  case Kind::Object:
    return "object";
  }
  return "unknown";
}

namespace weft::runtime {

/// Recursive descent over the text; the first error stops the parse.
class JsonParser {
public:
  explicit JsonParser(std::string_view text) : text(text) {}

  bool parseDocument(JsonValue &result) {
    skipWhitespace();
    if (!parseValue(result, /*depth=*/0))
      return false;
    skipWhitespace();
    if (pos != text.size())
      return fail("unexpected data after the top-level value");
    return true;
  }

  const std::string &getError() const { return error; }

private:
  // Deep enough for any manifest or header, shallow enough that hostile
  // input cannot exhaust the stack.
  static constexpr int kMaxDepth = 128;

  bool fail(std::string_view message) {
    if (error.empty())
      error = concat("offset ", pos, ": ", message);
    return false;
  }

  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return atEnd() ? '\0' : text[pos]; }

  void skipWhitespace() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool consumeKeyword(std::string_view keyword) {
    if (text.substr(pos, keyword.size()) != keyword)
      return false;
    pos += keyword.size();
    return true;
  }

  bool parseValue(JsonValue &value, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting too deep");
    if (atEnd())
      return fail("expected a value, got end of input");
    char c = peek();
    if (c == '{')
      return parseObject(value, depth);
    if (c == '[')
      return parseArray(value, depth);
    if (c == '"') {
      value.kind = JsonValue::Kind::String;
      return parseString(value.stringValue);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(value);
    if (consumeKeyword("true") || consumeKeyword("false")) {
      value.kind = JsonValue::Kind::Bool;
      value.boolValue = c == 't';
      return true;
    }
    if (consumeKeyword("null")) {
      value.kind = JsonValue::Kind::Null;
      return true;
    }
    return fail("expected a value");
  }

  bool parseObject(JsonValue &value, int depth) {
    value.kind = JsonValue::Kind::Object;
    ++pos; // '{'
    // Headers may hold thousands of tensors: keep the duplicate check linear.
    std::unordered_set<std::string> keys;
    skipWhitespace();
    if (peek() == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipWhitespace();
      if (peek() != '"')
        return fail("expected a string key");
      size_t keyPos = pos;
      std::string key;
      if (!parseString(key))
        return false;
      if (!keys.insert(key).second) {
        pos = keyPos;
        return fail(concat("duplicate key ", quoted(key)));
      }
      skipWhitespace();
      if (peek() != ':')
        return fail("expected ':'");
      ++pos;
      skipWhitespace();
      JsonValue member;
      if (!parseValue(member, depth + 1))
        return false;
      value.members.emplace_back(std::move(key), std::move(member));
      skipWhitespace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == '}') {
        ++pos;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &value, int depth) {
    value.kind = JsonValue::Kind::Array;
    ++pos; // '['
    skipWhitespace();
    if (peek() == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipWhitespace();
      JsonValue element;
      if (!parseValue(element, depth + 1))
        return false;
      value.elements.push_back(std::move(element));
      skipWhitespace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (peek() == ']') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool parseHex4(uint32_t &cp) {
    if (text.size() - pos < 4)
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else {
        --pos;
        return fail("invalid hex digit in \\u escape");
      }
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // '"'
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      char c = text[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        out += c;
        ++pos;
        continue;
      }
      ++pos;
      if (atEnd())
        return fail("unterminated string");
      char escape = text[pos++];
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("unpaired low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (!consumeKeyword("\\u") || !parseHex4(low) || low < 0xDC00 ||
              low > 0xDFFF)
            return fail("unpaired high surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        return fail("invalid escape in string");
      }
    }
  }

  bool parseDigits() {
    size_t start = pos;
    while (!atEnd() && text[pos] >= '0' && text[pos] <= '9')
      ++pos;
    return pos > start;
  }

  bool parseNumber(JsonValue &value) {
    size_t start = pos;
    if (peek() == '-')
      ++pos;
    if (peek() == '0') {
      ++pos;
    } else if (!parseDigits()) {
      return fail("expected digits");
    }
    bool isInteger = true;
    if (peek() == '.') {
      ++pos;
      isInteger = false;
      if (!parseDigits())
        return fail("expected digits after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos;
      isInteger = false;
      if (peek() == '+' || peek() == '-')
        ++pos;
      if (!parseDigits())
        return fail("expected digits in the exponent");
    }
    const char *first = text.data() + start;
    const char *last = text.data() + pos;
    if (isInteger) {
      int64_t integer;
      auto [end, ec] = std::from_chars(first, last, integer);
      if (ec == std::errc() && end == last) {
        value.kind = JsonValue::Kind::Integer;
        value.intValue = integer;
        return true;
      }
      // Out of int64 range: keep it as a double, callers that need an
      // integer reject it.
    }
    double number;
    auto [end, ec] = std::from_chars(first, last, number);
    if (ec != std::errc() || end != last) {
      pos = start;
      return fail("number out of range");
    }
    value.kind = JsonValue::Kind::Number;
    value.numberValue = number;
    return true;
  }

  std::string_view text;
  size_t pos = 0;
  std::string error;
};

} // namespace weft::runtime

bool weft::runtime::parseJson(std::string_view text, JsonValue &result,
                              std::string &error) {
  JsonParser parser(text);
  JsonValue value;
  if (!parser.parseDocument(value)) {
    error = parser.getError();
    return false;
  }
  result = std::move(value);
  return true;
}
