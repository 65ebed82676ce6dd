//===- Npy.cpp - reading and writing .npy files ---------------------------===//

#include "Npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

using namespace weft::run;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct FileCloser {
  void operator()(std::FILE *file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

/// The descr numpy writes for each dtype; bf16 is written as raw words.
const char *getDescr(weftDType dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F64:
    return "<f8";
  case WEFT_DTYPE_F32:
    return "<f4";
  case WEFT_DTYPE_F16:
    return "<f2";
  case WEFT_DTYPE_BF16:
    return "<u2";
  case WEFT_DTYPE_I64:
    return "<i8";
  case WEFT_DTYPE_I32:
    return "<i4";
  case WEFT_DTYPE_I16:
    return "<i2";
  case WEFT_DTYPE_I8:
    return "|i1";
  case WEFT_DTYPE_U8:
    return "|u1";
  case WEFT_DTYPE_I1:
    return "|b1";
  case WEFT_DTYPE_I4:
    return nullptr;
  }
  return nullptr;
}

/// The dtype of a descr, or an error.
std::optional<weftDType> parseDescr(const std::string &descr,
                                    weftDType expected, std::string &error) {
  for (weftDType dtype : {WEFT_DTYPE_F64, WEFT_DTYPE_F32, WEFT_DTYPE_F16,
                          WEFT_DTYPE_I64, WEFT_DTYPE_I32, WEFT_DTYPE_I16,
                          WEFT_DTYPE_I8, WEFT_DTYPE_U8, WEFT_DTYPE_I1})
    if (descr == getDescr(dtype))
      return dtype;
  bool rawWords = descr == "<u2" || descr == "|V2" || descr == "<V2";
  if (rawWords && expected == WEFT_DTYPE_BF16)
    return WEFT_DTYPE_BF16;
  if (rawWords)
    error = "unsupported dtype '" + descr +
            "' (2-byte words are read only for bf16 inputs)";
  else if (descr.size() > 1 && descr[0] == '>')
    error = "big-endian data ('" + descr + "') is not supported";
  else
    error = "unsupported dtype '" + descr + "'";
  return std::nullopt;
}

/// Parses the Python dict literal of a .npy header, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape, std::string &error) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!consume('{'))
      return fail("expected '{'", error);
    while (!consume('}')) {
      std::string key;
      if (!parseString(key) || !consume(':'))
        return fail("expected 'key':", error);
      if (key == "descr" && parseString(descr)) {
        haveDescr = true;
      } else if (key == "fortran_order" && parseBool(fortranOrder)) {
        haveOrder = true;
      } else if (key == "shape" && parseShape(shape)) {
        haveShape = true;
      } else {
        return fail("unexpected key or value for '" + key + "'", error);
      }
      if (!consume(',') && !peekIs('}'))
        return fail("expected ',' or '}'", error);
    }
    skipSpaces();
    if (pos != text.size())
      return fail("unexpected text after the dict", error);
    if (!haveDescr || !haveOrder || !haveShape)
      return fail("missing 'descr', 'fortran_order' or 'shape'", error);
    return true;
  }

private:
  bool fail(const std::string &message, std::string &error) {
    error = "invalid header: " + message;
    return false;
  }

  void skipSpaces() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n'))
      ++pos;
  }

  bool peekIs(char c) {
    skipSpaces();
    return pos < text.size() && text[pos] == c;
  }

  bool consume(char c) {
    if (!peekIs(c))
      return false;
    ++pos;
    return true;
  }

  bool parseString(std::string &out) {
    skipSpaces();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == std::string_view::npos)
      return false;
    out = std::string(text.substr(pos, end - pos));
    pos = end + 1;
    return true;
  }

  bool parseBool(bool &out) {
    skipSpaces();
    for (auto [word, value] : {std::pair{"True", true}, {"False", false}}) {
      if (text.substr(pos, std::strlen(word)) == word) {
        pos += std::strlen(word);
        out = value;
        return true;
      }
    }
    return false;
  }

  bool parseShape(std::vector<int64_t> &shape) {
    if (!consume('('))
      return false;
    while (!consume(')')) {
      skipSpaces();
      int64_t dim = 0;
      size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (__builtin_mul_overflow(dim, 10, &dim) ||
            __builtin_add_overflow(dim, text[pos] - '0', &dim))
          return false;
        ++pos;
      }
      if (pos == start)
        return false;
      shape.push_back(dim);
      if (!consume(',') && !peekIs(')'))
        return false;
    }
    return true;
  }

  std::string_view text;
  size_t pos = 0;
};

} // namespace

bool weft::run::readNpy(const std::string &path, weftDType expected,
                        weftTensor &tensor, std::string &error) {
  tensor = nullptr;
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  std::fseek(file.get(), 0, SEEK_END);
  long fileSize = std::ftell(file.get());
  std::fseek(file.get(), 0, SEEK_SET);

  unsigned char preamble[12];
  if (std::fread(preamble, 1, 8, file.get()) != 8 ||
      std::memcmp(preamble, kMagic, kMagicSize) != 0) {
    error = "not a .npy file";
    return false;
  }
  int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3 || minor != 0) {
    error = "unsupported .npy format version " + std::to_string(major) + "." +
            std::to_string(minor);
    return false;
  }
  // Version 1.0 has a 2-byte header length, 2.0 and 3.0 (UTF-8) 4 bytes.
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (std::fread(preamble + 8, 1, lengthBytes, file.get()) != lengthBytes) {
    error = "truncated header";
    return false;
  }
  size_t headerSize = 0;
  for (size_t i = lengthBytes; i-- > 0;)
    headerSize = (headerSize << 8) | preamble[8 + i];
  long dataOffset = 8 + lengthBytes + headerSize;
  if (dataOffset > fileSize) {
    error = "truncated header";
    return false;
  }
  std::string header(headerSize, '\0');
  if (std::fread(header.data(), 1, headerSize, file.get()) != headerSize) {
    error = "truncated header";
    return false;
  }

  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  if (!HeaderParser(header).parse(descr, fortranOrder, shape, error))
    return false;
  std::optional<weftDType> dtype = parseDescr(descr, expected, error);
  if (!dtype)
    return false;
  if (fortranOrder) {
    error = "fortran-order arrays are not supported (save a C-order array)";
    return false;
  }

  weftTensor result = nullptr;
  weftStatus status =
      weftTensorCreate(*dtype, shape.data(), shape.size(), nullptr, &result);
  if (status) {
    error = weftStatusGetMessage(status);
    weftStatusRelease(status);
    return false;
  }
  size_t byteSize = weftTensorGetByteSize(result);
  long available = fileSize - dataOffset;
  if (static_cast<unsigned long>(available) != byteSize) {
    error = (static_cast<unsigned long>(available) < byteSize
                 ? "truncated data: "
                 : "unexpected data after the array: ") +
            std::string("expected ") + std::to_string(byteSize) +
            " bytes, file has " + std::to_string(available);
    weftTensorRelease(result);
    return false;
  }
  if (std::fread(weftTensorGetData(result), 1, byteSize, file.get()) !=
      byteSize) {
    error = std::string("cannot read: ") + std::strerror(errno);
    weftTensorRelease(result);
    return false;
  }
  tensor = result;
  return true;
}

bool weft::run::writeNpy(const std::string &path, weftTensor tensor,
                         std::string &error) {
  const char *descr = getDescr(weftTensorGetDType(tensor));
  if (!descr) {
    error = "cannot write i4 data";
    return false;
  }
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': (";
  size_t rank = weftTensorGetRank(tensor);
  const int64_t *shape = weftTensorGetShape(tensor);
  for (size_t i = 0; i < rank; ++i) {
    header += std::to_string(shape[i]);
    header += rank == 1 ? "," : i + 1 < rank ? ", " : "";
  }
  header += "), }";
  // Version 1.0 stores the header length in 2 bytes; 2.0 in 4.
  size_t preambleSize = header.size() + 1 + 64 > 0xFFFF ? 12 : 10;
  // numpy pads with spaces and a newline so the data starts 64-byte aligned.
  size_t unpadded = preambleSize + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  std::string preamble(kMagic, kMagicSize);
  preamble += static_cast<char>(preambleSize == 12 ? 2 : 1);
  preamble += '\0';
  for (size_t i = 0; i < preambleSize - 8; ++i)
    preamble += static_cast<char>((header.size() >> (8 * i)) & 0xFF);

  File file(std::fopen(path.c_str(), "wb"));
  size_t byteSize = weftTensorGetByteSize(tensor);
  if (!file ||
      std::fwrite(preamble.data(), 1, preamble.size(), file.get()) !=
          preamble.size() ||
      std::fwrite(header.data(), 1, header.size(), file.get()) !=
          header.size() ||
      (byteSize && std::fwrite(weftTensorGetData(tensor), 1, byteSize,
                               file.get()) != byteSize) ||
      std::fflush(file.get()) != 0) {
    error = std::string("cannot write: ") + std::strerror(errno);
    return false;
  }
  return true;
}
