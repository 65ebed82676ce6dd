//===- Status.h - building weftStatus errors --------------------*- C++ -*-===//
//
// Internal helpers shared by the runtime sources: string concatenation for
// messages and construction of weftStatus values.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_STATUS_H
#define WEFT_RUNTIME_LIB_STATUS_H

#include "weft-runtime/Base.h"

#include <string>
#include <string_view>
#include <type_traits>

struct weftStatusImpl {
  weftStatusCode code;
  std::string message;
};

namespace weft::runtime {

namespace detail {
template <typename T> void appendPart(std::string &out, const T &part) {
  if constexpr (std::is_same_v<T, bool>)
    out += part ? "true" : "false";
  else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>)
    out += std::to_string(part);
  else
    out += std::string_view(part);
}
} // namespace detail

/// Concatenates strings and numbers into one message.
template <typename... Parts> std::string concat(const Parts &...parts) {
  std::string out;
  (detail::appendPart(out, parts), ...);
  return out;
}

/// A new error; `code` must not be WEFT_STATUS_OK.
weftStatus makeError(weftStatusCode code, std::string message);

template <typename... Parts>
weftStatus makeError(weftStatusCode code, const Parts &...parts) {
  return makeError(code, concat(parts...));
}

/// Prepends "`prefix`: " to the message of an error; NULL stays NULL.
weftStatus prependContext(weftStatus status, std::string_view prefix);

/// "'name'" with the name quoted, for messages.
inline std::string quoted(std::string_view name) {
  return concat("'", name, "'");
}

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_STATUS_H
