//===- ParamArchive.cpp - safetensors parameter archives ------------------===//

#include "weft/Support/ParamArchive.h"

#include "weft/Dialect/Weft/IR/ShapeUtils.h"

#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::weft;

// Headers larger than this are rejected as corrupt rather than parsed (as in
// python/weft/safetensors.py).
static constexpr uint64_t kMaxHeaderBytes = 100 * 1024 * 1024;

int64_t ArchiveTensor::getNumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

unsigned weft::getDtypeSize(StringRef dtype) {
  return llvm::StringSwitch<unsigned>(dtype)
      .Cases({"F64", "I64"}, 8)
      .Cases({"F32", "I32"}, 4)
      .Cases({"F16", "BF16", "I16"}, 2)
      .Cases({"I8", "U8", "BOOL"}, 1)
      .Default(0);
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

ParamArchive::~ParamArchive() = default;

/// Parses and validates one header entry against a data section of
/// `dataSize` bytes starting at `data`.
static llvm::Expected<ArchiveTensor>
parseEntry(StringRef name, const llvm::json::Value &value, StringRef data) {
  auto fail = [&](const Twine &message) {
    return llvm::createStringError("tensor '" + name + "': " + message);
  };
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return fail("entry is not an object");
  ArchiveTensor tensor;
  std::optional<StringRef> dtype = entry->getString("dtype");
  if (!dtype || getDtypeSize(*dtype) == 0)
    return fail("unsupported dtype " +
                (dtype ? "'" + *dtype + "'" : Twine("(none)")));
  tensor.dtype = dtype->str();
  const llvm::json::Array *shape = entry->getArray("shape");
  if (!shape)
    return fail("no shape");
  for (const llvm::json::Value &dim : *shape) {
    std::optional<int64_t> extent = dim.getAsInteger();
    if (!extent || *extent < 0)
      return fail("invalid shape");
    tensor.shape.push_back(*extent);
  }
  const llvm::json::Array *offsets = entry->getArray("data_offsets");
  std::optional<int64_t> begin, end;
  if (offsets && offsets->size() == 2) {
    begin = (*offsets)[0].getAsInteger();
    end = (*offsets)[1].getAsInteger();
  }
  if (!begin || !end || *begin < 0 || *begin > *end ||
      static_cast<uint64_t>(*end) > data.size())
    return fail("data_offsets out of bounds (data section is " +
                Twine(data.size()) + " bytes)");
  uint64_t expected =
      static_cast<uint64_t>(tensor.getNumElements()) * getDtypeSize(*dtype);
  if (static_cast<uint64_t>(*end - *begin) != expected)
    return fail(Twine(*end - *begin) + " bytes for " + *dtype +
                formatShape(tensor.shape) + " (expected " + Twine(expected) +
                ")");
  tensor.data = data.substr(*begin, *end - *begin);
  return tensor;
}

llvm::Expected<ParamArchive> ParamArchive::read(StringRef path) {
  auto fail = [&](const Twine &message) {
    return llvm::createStringError(path + ": " + message);
  };
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 8)
    return fail("file too short for a safetensors header");
  uint64_t length = llvm::support::endian::read64le(bytes.data());
  if (length == 0 || length > kMaxHeaderBytes || length > bytes.size() - 8)
    return fail("invalid header length " + Twine(length));
  llvm::Expected<llvm::json::Value> header =
      llvm::json::parse(bytes.substr(8, length));
  if (!header)
    return fail("header is not valid JSON: " +
                llvm::toString(header.takeError()));
  const llvm::json::Object *entries = header->getAsObject();
  if (!entries)
    return fail("header is not a JSON object");

  ParamArchive archive;
  archive.path = path.str();
  StringRef data = bytes.substr(8 + length);
  for (const auto &[key, value] : *entries) {
    if (key == "__metadata__") {
      const llvm::json::Object *metadata = value.getAsObject();
      if (!metadata && value.kind() != llvm::json::Value::Null)
        return fail("__metadata__ is not an object");
      for (const auto &[metaKey, metaValue] :
           metadata ? *metadata : llvm::json::Object())
        if (std::optional<StringRef> text = metaValue.getAsString())
          archive.metadata[metaKey.str()] = text->str();
        else
          return fail("__metadata__ value '" + metaKey.str() +
                      "' is not a string");
      continue;
    }
    llvm::Expected<ArchiveTensor> tensor = parseEntry(key, value, data);
    if (!tensor)
      return fail(llvm::toString(tensor.takeError()));
    archive.tensors[key.str()] = std::move(*tensor);
  }

  // Tensors may not share bytes.
  std::vector<std::pair<const char *, StringRef>> spans;
  for (const auto &entry : archive.tensors)
    spans.push_back({entry.second.data.begin(), entry.first()});
  llvm::sort(spans);
  for (size_t i = 1; i < spans.size(); ++i) {
    const ArchiveTensor &previous = archive.tensors.at(spans[i - 1].second);
    if (spans[i].first < previous.data.end())
      return fail("tensors '" + spans[i - 1].second + "' and '" +
                  spans[i].second + "' overlap");
  }
  archive.buffer = std::move(*buffer);
  return archive;
}

const ArchiveTensor *ParamArchive::lookup(StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

std::vector<StringRef> ParamArchive::getNames() const {
  std::vector<StringRef> names;
  for (const auto &entry : tensors)
    names.push_back(entry.first());
  llvm::sort(names);
  return names;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void ParamArchiveBuilder::add(StringRef name, StringRef dtype,
                              ArrayRef<int64_t> shape, std::string bytes) {
  ownedBytes.push_back(std::move(bytes));
  tensors[name] = ArchiveTensor{dtype.str(), SmallVector<int64_t>(shape),
                                ownedBytes.back()};
}

void ParamArchiveBuilder::addView(StringRef name, const ArchiveTensor &tensor) {
  tensors[name] = tensor;
}

const ArchiveTensor *ParamArchiveBuilder::lookup(StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

llvm::Error ParamArchiveBuilder::write(StringRef path) const {
  std::vector<StringRef> names;
  for (const auto &entry : tensors)
    names.push_back(entry.first());
  llvm::sort(names);

  llvm::json::Object header;
  uint64_t offset = 0;
  for (StringRef name : names) {
    const ArchiveTensor &tensor = tensors.at(name);
    llvm::json::Array shape;
    for (int64_t dim : tensor.shape)
      shape.push_back(dim);
    uint64_t end = offset + tensor.data.size();
    header[name] =
        llvm::json::Object{{"dtype", tensor.dtype},
                           {"shape", std::move(shape)},
                           {"data_offsets", llvm::json::Array{offset, end}}};
    offset = end;
  }
  if (!metadata.empty()) {
    llvm::json::Object meta;
    for (const auto &entry : metadata)
      meta[entry.first()] = entry.second;
    header["__metadata__"] = std::move(meta);
  }
  std::string text =
      llvm::formatv("{0}", llvm::json::Value(std::move(header))).str();
  // Pad with spaces so that the data section starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  // Written beside `path` and renamed over it, so that `path` may be the
  // (memory-mapped) archive the views come from.
  auto fail = [&](const Twine &message) {
    return llvm::createStringError(path + ": cannot write: " + message);
  };
  int fd;
  SmallString<256> temporary;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temporary))
    return fail(ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    char length[8];
    llvm::support::endian::write64le(length, text.size());
    os.write(length, 8);
    os << text;
    for (StringRef name : names)
      os << tensors.at(name).data;
    os.close();
    if (os.has_error()) {
      llvm::sys::fs::remove(temporary);
      return fail(os.error().message());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path)) {
    llvm::sys::fs::remove(temporary);
    return fail(ec.message());
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Binding and element conversion
//===----------------------------------------------------------------------===//

FailureOr<std::string> weft::getLogicalDtype(Type type) {
  if (type.isF64())
    return std::string("f64");
  if (type.isF32())
    return std::string("f32");
  if (type.isF16())
    return std::string("f16");
  if (type.isBF16())
    return std::string("bf16");
  if (auto integer = dyn_cast<IntegerType>(type)) {
    switch (integer.getWidth()) {
    case 1:
    case 4:
    case 8:
    case 16:
    case 32:
    case 64:
      return "i" + std::to_string(integer.getWidth());
    default:
      break;
    }
  }
  return failure();
}

/// True when an archive tensor of safetensors `archiveDtype` can bind a
/// parameter of logical `dtype`.
static bool isStorableAs(StringRef dtype, StringRef archiveDtype) {
  if (dtype == "i4" || dtype == "i8")
    return archiveDtype == "I8" || archiveDtype == "U8";
  if (dtype == "i1")
    return archiveDtype == "BOOL";
  return dtype.upper() == archiveDtype;
}

std::string weft::getBindingMismatch(const ArchiveTensor &tensor,
                                     StringRef dtype, ArrayRef<int64_t> shape) {
  // i4 is stored packed: two values per byte along the last dim, an odd last
  // dim padded to whole bytes.
  SmallVector<int64_t> expected(shape);
  if (dtype == "i4" && !expected.empty())
    expected.back() = (expected.back() + 1) / 2;
  if (isStorableAs(dtype, tensor.dtype) &&
      ArrayRef<int64_t>(tensor.shape) == ArrayRef<int64_t>(expected))
    return "";
  std::string message = "is " + tensor.dtype + formatShape(tensor.shape) +
                        ", expected " + dtype.str() + formatShape(shape);
  if (dtype == "i4")
    message += " (stored as U8/I8" + formatShape(expected) + ")";
  return message;
}

static const llvm::fltSemantics *getSemantics(StringRef dtype) {
  if (dtype == "F16")
    return &llvm::APFloat::IEEEhalf();
  if (dtype == "BF16")
    return &llvm::APFloat::BFloat();
  if (dtype == "F32")
    return &llvm::APFloat::IEEEsingle();
  return nullptr;
}

/// The f32 value of IEEE half bits `h` (exact; APFloat per element is too
/// slow for whole checkpoints).
static float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  if (exponent == 0x1F) // inf / nan
    return llvm::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) { // zero / subnormal: mantissa * 2^-24
    float value = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -value : value;
  }
  return llvm::bit_cast<float>(sign | ((exponent + 112) << 23) |
                               (mantissa << 13));
}

llvm::Expected<std::vector<float>>
weft::decodeFloats(const ArchiveTensor &tensor) {
  std::vector<float> values(tensor.getNumElements());
  const char *bytes = tensor.data.data();
  if (tensor.dtype == "F32") {
    for (size_t i = 0; i < values.size(); ++i)
      values[i] =
          llvm::bit_cast<float>(llvm::support::endian::read32le(bytes + 4 * i));
    return values;
  }
  if (tensor.dtype == "BF16") {
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = llvm::bit_cast<float>(
          uint32_t(llvm::support::endian::read16le(bytes + 2 * i)) << 16);
    return values;
  }
  if (tensor.dtype == "F16") {
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = halfToFloat(llvm::support::endian::read16le(bytes + 2 * i));
    return values;
  }
  return llvm::createStringError("expected F32, F16 or BF16 values, got " +
                                 tensor.dtype);
}

/// `value` rounded to nearest even in `semantics`, as its bit pattern.
static uint64_t roundToBits(float value, const llvm::fltSemantics &semantics) {
  llvm::APFloat rounded(value);
  bool losesInfo;
  rounded.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return rounded.bitcastToAPInt().getZExtValue();
}

std::string weft::encodeFloats(ArrayRef<float> values, StringRef dtype) {
  unsigned size = getDtypeSize(dtype);
  const llvm::fltSemantics *semantics = getSemantics(dtype);
  assert(semantics && "expected F32, F16 or BF16");
  std::string bytes(values.size() * size, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    if (size == 4)
      llvm::support::endian::write32le(&bytes[4 * i],
                                       llvm::bit_cast<uint32_t>(values[i]));
    else
      llvm::support::endian::write16le(&bytes[2 * i],
                                       roundToBits(values[i], *semantics));
  }
  return bytes;
}

float weft::roundToDtype(float value, StringRef dtype) {
  const llvm::fltSemantics *semantics = getSemantics(dtype);
  assert(semantics && "expected F32, F16 or BF16");
  llvm::APFloat rounded(value);
  bool losesInfo;
  rounded.convert(*semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return rounded.convertToFloat();
}

StringRef weft::getFloatDtype(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  return "";
}
