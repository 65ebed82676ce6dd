//===- Status.cpp - weftStatus --------------------------------------------===//

#include "Status.h"

using namespace weft::runtime;

weftStatus weft::runtime::makeError(weftStatusCode code, std::string message) {
  return new weftStatusImpl{code, std::move(message)};
}

weftStatus weft::runtime::prependContext(weftStatus status,
                                         std::string_view prefix) {
  if (status)
    status->message = concat(prefix, ": ", status->message);
  return status;
}

extern "C" {

weftStatusCode weftStatusGetCode(weftStatus status) {
  return status ? status->code : WEFT_STATUS_OK;
}

const char *weftStatusGetMessage(weftStatus status) {
  return status ? status->message.c_str() : "";
}

void weftStatusRelease(weftStatus status) { delete status; }

const char *weftStatusCodeGetName(weftStatusCode code) {
  switch (code) {
  case WEFT_STATUS_OK:
    return "ok";
  case WEFT_STATUS_INVALID_ARGUMENT:
    return "invalid argument";
  case WEFT_STATUS_NOT_FOUND:
    return "not found";
  case WEFT_STATUS_INVALID_FORMAT:
    return "invalid format";
  case WEFT_STATUS_IO_ERROR:
    return "i/o error";
  case WEFT_STATUS_FAILED_PRECONDITION:
    return "failed precondition";
  case WEFT_STATUS_OUT_OF_MEMORY:
    return "out of memory";
  case WEFT_STATUS_INTERNAL:
    return "internal error";
  }
  return "unknown status code";
}

} // extern "C"
