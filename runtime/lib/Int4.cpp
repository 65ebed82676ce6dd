//===- Int4.cpp - packed i4 storage ---------------------------------------===//

#include "Int4.h"

#include <cstring>

void weft::runtime::repackInt4RowsToFlat(const uint8_t *rows, int64_t numRows,
                                         int64_t rowLength, uint8_t *flat) {
  int64_t numElements = numRows * rowLength;
  std::memset(flat, 0, numElements / 2 + numElements % 2);
  int64_t rowBytes = int4RowBytes(rowLength);
  for (int64_t r = 0; r < numRows; ++r) {
    const uint8_t *row = rows + r * rowBytes;
    for (int64_t m = 0; m < rowLength; ++m) {
      uint8_t nibble = (row[m / 2] >> (4 * (m % 2))) & 0xF;
      int64_t e = r * rowLength + m;
      flat[e / 2] |= nibble << (4 * (e % 2));
    }
  }
}
