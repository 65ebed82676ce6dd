//===- Safetensors.cpp - memory-mapped safetensors archives ---------------===//

#include "Safetensors.h"

#include "DType.h"
#include "Json.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace weft::runtime;

namespace {

struct SafetensorsDType {
  const char *name;
  size_t size;
};
constexpr SafetensorsDType kSafetensorsDTypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
    {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
};

size_t getSafetensorsDTypeSize(std::string_view name) {
  for (const SafetensorsDType &dtype : kSafetensorsDTypes)
    if (name == dtype.name)
      return dtype.size;
  return 0;
}

/// Reads a non-negative JSON integer array, or fails.
bool readDims(const JsonValue *json, std::vector<int64_t> &dims) {
  if (!json || !json->isArray())
    return false;
  for (const JsonValue &dim : json->getArray()) {
    if (!dim.isInteger() || dim.getInteger() < 0)
      return false;
    dims.push_back(dim.getInteger());
  }
  return true;
}

/// The JSON text of a value for messages ("[0, 99]"); only for small values.
std::string describe(const JsonValue *json) {
  if (!json)
    return "missing";
  if (json->isInteger())
    return std::to_string(json->getInteger());
  if (json->isString())
    return quoted(json->getString());
  if (json->isArray()) {
    std::string out = "[";
    for (const JsonValue &element : json->getArray()) {
      if (out.size() > 1)
        out += ", ";
      out += describe(&element);
    }
    return out + "]";
  }
  return concat("a ", JsonValue::getKindName(json->getKind()));
}

} // namespace

ParamArchive::~ParamArchive() {
  if (mapping)
    munmap(mapping, mappingSize);
}

const ArchiveEntry *ParamArchive::find(std::string_view name) const {
  auto it = indexByName.find(name);
  return it == indexByName.end() ? nullptr : &entries[it->second];
}

weftStatus ParamArchive::open(const std::string &path,
                              std::shared_ptr<const ParamArchive> &result) {
  auto fail = [&](weftStatusCode code, const std::string &message) {
    return makeError(code, path, ": ", message);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(errno == ENOENT ? WEFT_STATUS_NOT_FOUND : WEFT_STATUS_IO_ERROR,
                concat("cannot open: ", std::strerror(errno)));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return fail(WEFT_STATUS_IO_ERROR, "not a regular file");
  }
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);
  if (fileSize < 8) {
    ::close(fd);
    return fail(WEFT_STATUS_INVALID_FORMAT,
                concat("file too short for a safetensors header (", fileSize,
                       " bytes)"));
  }
  void *mapping = mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  int mmapErrno = errno;
  ::close(fd);
  if (mapping == MAP_FAILED)
    return fail(WEFT_STATUS_IO_ERROR,
                concat("cannot map: ", std::strerror(mmapErrno)));

  std::shared_ptr<ParamArchive> archive(new ParamArchive());
  archive->path = path;
  archive->mapping = mapping;
  archive->mappingSize = fileSize;

  // The header length is a little-endian u64; the host is little-endian too
  // (the ABI assumes it), but assemble it bytewise to avoid an unaligned
  // load.
  const uint8_t *bytes = static_cast<const uint8_t *>(mapping);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  if (headerSize == 0 || headerSize > kMaxHeaderBytes ||
      headerSize > fileSize - 8)
    return fail(WEFT_STATUS_INVALID_FORMAT,
                concat("invalid header length ", headerSize, " (file is ",
                       fileSize, " bytes)"));
  std::string_view header(reinterpret_cast<const char *>(bytes + 8),
                          headerSize);
  if (weftStatus status = archive->parseHeader(
          header, fileSize - 8 - headerSize, bytes + 8 + headerSize))
    return prependContext(status, path);
  result = std::move(archive);
  return nullptr;
}

weftStatus ParamArchive::parseHeader(std::string_view header, uint64_t dataSize,
                                     const uint8_t *dataStart) {
  auto invalid = [](const std::string &message) {
    return makeError(WEFT_STATUS_INVALID_FORMAT, message);
  };
  JsonValue root;
  std::string error;
  if (!parseJson(header, root, error))
    return invalid(concat("header is not valid JSON (", error, ")"));
  if (!root.isObject())
    return invalid("header is not a JSON object");

  for (const JsonValue::Member &member : root.getObject()) {
    const std::string &name = member.first;
    const JsonValue &json = member.second;
    if (name == "__metadata__") {
      bool valid = json.isObject();
      for (const JsonValue::Member &item : json.getObject())
        valid = valid && item.second.isString();
      if (!valid)
        return invalid("__metadata__ must be an object of strings");
      continue;
    }
    std::string where = concat("tensor ", quoted(name), ": ");
    if (!json.isObject())
      return invalid(concat(where, "entry is not an object"));

    ArchiveEntry entry;
    entry.name = name;
    const JsonValue *dtype = json.find("dtype");
    if (dtype && dtype->isString())
      entry.elementSize = getSafetensorsDTypeSize(dtype->getString());
    if (entry.elementSize == 0)
      return invalid(concat(where, "unsupported dtype ", describe(dtype)));
    entry.dtype = dtype->getString();

    const JsonValue *shape = json.find("shape");
    if (!readDims(shape, entry.shape))
      return invalid(concat(where, "invalid shape ", describe(shape)));
    std::optional<int64_t> expectedBytes =
        checkedNumElements(entry.shape.data(), entry.shape.size(),
                           static_cast<int64_t>(entry.elementSize));
    if (!expectedBytes)
      return invalid(
          concat(where, "size of shape ", describe(shape), " overflows"));

    const JsonValue *offsets = json.find("data_offsets");
    std::vector<int64_t> span;
    if (!readDims(offsets, span) || span.size() != 2 || span[0] > span[1] ||
        static_cast<uint64_t>(span[1]) > dataSize)
      return invalid(concat(where, "data_offsets ", describe(offsets),
                            " out of bounds (data section is ", dataSize,
                            " bytes)"));
    if (span[1] - span[0] != *expectedBytes)
      return invalid(concat(where, span[1] - span[0], " bytes for ",
                            entry.dtype,
                            formatShape(entry.shape.data(), entry.shape.size()),
                            " (expected ", *expectedBytes, ")"));
    entry.data = dataStart + span[0];
    entry.byteSize = static_cast<size_t>(*expectedBytes);
    entries.push_back(std::move(entry));
  }

  // Empty tensors occupy no bytes and cannot overlap anything.
  std::vector<const ArchiveEntry *> sorted;
  for (const ArchiveEntry &entry : entries)
    if (entry.byteSize)
      sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const ArchiveEntry *a, const ArchiveEntry *b) {
              return a->data < b->data;
            });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->data < sorted[i - 1]->data + sorted[i - 1]->byteSize)
      return invalid(concat("tensors ", quoted(sorted[i - 1]->name), " and ",
                            quoted(sorted[i]->name), " overlap"));

  for (size_t i = 0; i < entries.size(); ++i)
    indexByName.emplace(entries[i].name, i);
  return nullptr;
}

namespace {
void fillInfo(const ArchiveEntry &entry, weftParamInfo *info) {
  info->name = entry.name.c_str();
  info->dtype = entry.dtype.c_str();
  info->rank = entry.shape.size();
  info->shape = entry.shape.data();
  info->data = entry.data;
  info->byteSize = entry.byteSize;
}
} // namespace

extern "C" {

weftStatus weftParamsOpen(const char *path, weftParams *params) {
  if (!path || !params)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftParamsOpen: null argument");
  *params = nullptr;
  std::shared_ptr<const ParamArchive> archive;
  if (weftStatus status = ParamArchive::open(path, archive))
    return status;
  *params = new weftParamsImpl{std::move(archive)};
  return nullptr;
}

void weftParamsRelease(weftParams params) { delete params; }

size_t weftParamsGetCount(weftParams params) {
  return params ? params->archive->getEntries().size() : 0;
}

weftStatus weftParamsGetInfo(weftParams params, size_t index,
                             weftParamInfo *info) {
  if (!params || !info)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftParamsGetInfo: null argument");
  const std::vector<ArchiveEntry> &entries = params->archive->getEntries();
  if (index >= entries.size())
    return makeError(WEFT_STATUS_INVALID_ARGUMENT, "param index ", index,
                     " out of range (", params->archive->getPath(), " has ",
                     entries.size(), " tensors)");
  fillInfo(entries[index], info);
  return nullptr;
}

weftStatus weftParamsFind(weftParams params, const char *name,
                          weftParamInfo *info) {
  if (!params || !name || !info)
    return makeError(WEFT_STATUS_INVALID_ARGUMENT,
                     "weftParamsFind: null argument");
  const ArchiveEntry *entry = params->archive->find(name);
  if (!entry)
    return makeError(WEFT_STATUS_NOT_FOUND, params->archive->getPath(),
                     ": no tensor ", quoted(name));
  fillInfo(*entry, info);
  return nullptr;
}

} // extern "C"
