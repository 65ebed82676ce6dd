//===- Manifest.cpp - the artifact manifest -------------------------------===//

#include "Manifest.h"

#include "DType.h"
#include "Json.h"
#include "Status.h"

#include <set>

using namespace weft::runtime;

namespace {

constexpr int64_t kManifestVersion = 1;

weftStatus invalid(const std::string &message) {
  return makeError(WEFT_STATUS_INVALID_FORMAT, "invalid manifest: ", message);
}

/// "an integer", "a string", ...
std::string withArticle(JsonValue::Kind kind) {
  std::string name = JsonValue::getKindName(kind);
  return concat(
      name[0] == 'a' || name[0] == 'i' || name[0] == 'o' ? "an " : "a ", name);
}

/// The member `key` of `object` with the JSON kind `kind`, or an error.
weftStatus getMember(const JsonValue &object, std::string_view key,
                     JsonValue::Kind kind, const std::string &where,
                     const JsonValue *&member) {
  member = object.find(key);
  if (!member)
    return invalid(concat(where, "missing key ", quoted(key)));
  if (member->getKind() != kind)
    return invalid(concat(where, quoted(key), " must be ", withArticle(kind),
                          ", got ", withArticle(member->getKind())));
  return nullptr;
}

enum class Role { Input, Param, Result };

const char *getRoleName(Role role) {
  switch (role) {
  case Role::Input:
    return "input";
  case Role::Param:
    return "param";
  case Role::Result:
    return "result";
  }
  return "tensor";
}

weftStatus parseTensorSig(const JsonValue &json, Role role,
                          const std::string &where, TensorSig &sig) {
  if (!json.isObject())
    return invalid(concat(where, "must be an object"));
  const JsonValue *member;
  if (role == Role::Param) {
    if (weftStatus s =
            getMember(json, "name", JsonValue::Kind::String, where, member))
      return s;
    sig.name = member->getString();
    if (sig.name.empty())
      return invalid(concat(where, "empty name"));
  }
  if (weftStatus s =
          getMember(json, "dtype", JsonValue::Kind::String, where, member))
    return s;
  std::optional<weftDType> dtype = parseDType(member->getString());
  if (!dtype)
    return invalid(
        concat(where, "unknown dtype ", quoted(member->getString())));
  sig.dtype = *dtype;
  if (sig.dtype == WEFT_DTYPE_I4 && role != Role::Param)
    return invalid(concat(where, "i4 is only allowed for params"));

  if (weftStatus s =
          getMember(json, "shape", JsonValue::Kind::Array, where, member))
    return s;
  for (const JsonValue &dim : member->getArray()) {
    if (!dim.isInteger() || dim.getInteger() < kDynamicDim)
      return invalid(concat(where, "shape dims must be integers >= 0 or -1"));
    sig.shape.push_back(dim.getInteger());
  }
  if (const JsonValue *range = json.find("range")) {
    bool integer = sig.dtype == WEFT_DTYPE_I64 || sig.dtype == WEFT_DTYPE_I32 ||
                   sig.dtype == WEFT_DTYPE_I16 || sig.dtype == WEFT_DTYPE_I8 ||
                   sig.dtype == WEFT_DTYPE_U8;
    if (role != Role::Input || !integer || !range->isArray() ||
        range->getArray().size() != 2 || !range->getArray()[0].isInteger() ||
        !range->getArray()[1].isInteger() ||
        range->getArray()[0].getInteger() > range->getArray()[1].getInteger())
      return invalid(concat(where, "\"range\" must be [begin, end] with "
                                   "begin <= end, on an integer input"));
    sig.hasRange = true;
    sig.rangeBegin = range->getArray()[0].getInteger();
    sig.rangeEnd = range->getArray()[1].getInteger();
  }
  if (const JsonValue *symbols = json.find("dim_symbols")) {
    bool valid = role == Role::Input && symbols->isArray() &&
                 symbols->getArray().size() == sig.shape.size();
    for (size_t i = 0; valid && i < sig.shape.size(); ++i) {
      const JsonValue &symbol = symbols->getArray()[i];
      valid = symbol.isNull() ||
              (symbol.isString() && !symbol.getString().empty() &&
               sig.shape[i] == kDynamicDim);
      sig.dimSymbols.push_back(symbol.isString() ? symbol.getString() : "");
    }
    if (!valid)
      return invalid(concat(where, "\"dim_symbols\" must give, on an input, "
                                   "a name or null per dim, names only for "
                                   "dynamic dims"));
  }
  if (role != Role::Param)
    return nullptr;
  for (int64_t dim : sig.shape)
    if (dim == kDynamicDim)
      return invalid(concat(where, "params must have a static shape, got ",
                            formatType(sig.dtype, sig.shape)));
  if (sig.dtype == WEFT_DTYPE_I4 && sig.shape.empty())
    return invalid(concat(where, "i4 params must have rank >= 1"));
  int64_t elementBytes =
      sig.dtype == WEFT_DTYPE_I4 ? 1 : dtypeByteSize(sig.dtype);
  if (!checkedNumElements(sig.shape.data(), sig.shape.size(), elementBytes))
    return invalid(concat(where, "size of ", formatType(sig.dtype, sig.shape),
                          " overflows"));
  return nullptr;
}

weftStatus parseTensorSigs(const JsonValue &function, std::string_view key,
                           Role role, const std::string &where,
                           std::vector<TensorSig> &sigs) {
  const JsonValue *list;
  if (weftStatus s =
          getMember(function, key, JsonValue::Kind::Array, where, list))
    return s;
  std::set<std::string> names;
  for (const JsonValue &json : list->getArray()) {
    std::string tensorWhere =
        concat(where, getRoleName(role), " ", sigs.size(), ": ");
    TensorSig sig;
    if (weftStatus s = parseTensorSig(json, role, tensorWhere, sig))
      return s;
    if (role == Role::Param && !names.insert(sig.name).second)
      return invalid(concat(where, "duplicate param ", quoted(sig.name)));
    sigs.push_back(std::move(sig));
  }
  return nullptr;
}

weftStatus parseFunctionSig(const JsonValue &json, size_t index,
                            FunctionSig &sig) {
  std::string where = concat("function ", index, ": ");
  if (!json.isObject())
    return invalid(concat(where, "must be an object"));
  const JsonValue *member;
  if (weftStatus s =
          getMember(json, "name", JsonValue::Kind::String, where, member))
    return s;
  sig.name = member->getString();
  if (sig.name.empty())
    return invalid(concat(where, "empty name"));
  where = concat("function ", quoted(sig.name), ": ");
  if (weftStatus s =
          getMember(json, "symbol", JsonValue::Kind::String, where, member))
    return s;
  sig.symbol = member->getString();
  if (sig.symbol.empty())
    return invalid(concat(where, "empty symbol"));
  if (weftStatus s =
          parseTensorSigs(json, "inputs", Role::Input, where, sig.inputs))
    return s;
  if (weftStatus s =
          parseTensorSigs(json, "params", Role::Param, where, sig.params))
    return s;
  return parseTensorSigs(json, "results", Role::Result, where, sig.results);
}

} // namespace

weftStatus weft::runtime::parseManifest(std::string_view text,
                                        Manifest &manifest) {
  JsonValue root;
  std::string error;
  if (!parseJson(text, root, error))
    return invalid(concat("not valid JSON (", error, ")"));
  if (!root.isObject())
    return invalid("the top level must be an object");

  const JsonValue *member;
  if (weftStatus s =
          getMember(root, "format", JsonValue::Kind::String, "", member))
    return s;
  if (member->getString() != "weft-artifact")
    return invalid(concat("format is ", quoted(member->getString()),
                          ", expected 'weft-artifact'"));
  if (weftStatus s =
          getMember(root, "version", JsonValue::Kind::Integer, "", member))
    return s;
  if (member->getInteger() != kManifestVersion)
    return invalid(concat("unsupported version ", member->getInteger(),
                          " (this runtime reads version ", kManifestVersion,
                          ")"));
  if (weftStatus s =
          getMember(root, "target", JsonValue::Kind::String, "", member))
    return s;
  if (member->getString() != "cpu" && member->getString() != "cuda")
    return invalid(concat("unsupported target ", quoted(member->getString()),
                          " (this runtime runs 'cpu' and 'cuda')"));
  Manifest result;
  result.target = member->getString();

  if (weftStatus s =
          getMember(root, "functions", JsonValue::Kind::Array, "", member))
    return s;
  if (member->getArray().empty())
    return invalid("no functions");
  std::set<std::string> names;
  for (const JsonValue &json : member->getArray()) {
    FunctionSig sig;
    if (weftStatus s = parseFunctionSig(json, result.functions.size(), sig))
      return s;
    if (!names.insert(sig.name).second)
      return invalid(concat("duplicate function ", quoted(sig.name)));
    result.functions.push_back(std::move(sig));
  }
  manifest = std::move(result);
  return nullptr;
}
