//===- Int4.h - packed i4 storage -------------------------------*- C++ -*-===//
//
// The ABI packs an i4 tensor flat: element e of the row-major order lives in
// byte e / 2, even e in the low nibble. Archives pack each row of the last
// dim separately (docs/Quantization.md), so a row of odd length ends in a
// padding nibble; for even row lengths both layouts are the same bytes.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_RUNTIME_LIB_INT4_H
#define WEFT_RUNTIME_LIB_INT4_H

#include <cstdint>

namespace weft::runtime {

/// Bytes of one archive row of `rowLength` i4 values: ceil(rowLength / 2).
inline int64_t int4RowBytes(int64_t rowLength) {
  return rowLength / 2 + rowLength % 2;
}

/// Repacks `numRows` archive rows of `rowLength` values each (int4RowBytes
/// bytes per row) into the flat ABI layout, ceil(numRows * rowLength / 2)
/// bytes. Padding nibbles are dropped; a trailing unused nibble of `flat` is
/// zero.
void repackInt4RowsToFlat(const uint8_t *rows, int64_t numRows,
                          int64_t rowLength, uint8_t *flat);

} // namespace weft::runtime

#endif // WEFT_RUNTIME_LIB_INT4_H
