//===- Int4Test.cpp - tests of i4 packing ---------------------------------===//

#include "Int4.h"

#include "TestUtils.h"

#include "gtest/gtest.h"

using namespace weft::runtime;
using namespace weft::runtime::testing;

namespace {

/// Element e of flat ABI storage as a signed value (reference decoder).
int flatElement(const std::vector<uint8_t> &flat, int64_t e) {
  int nibble = e % 2 ? flat[e / 2] >> 4 : flat[e / 2] & 0xF;
  return nibble >= 8 ? nibble - 16 : nibble;
}

/// Packs signed values [rows, m] per row as archives store them.
std::vector<uint8_t> packRows(const std::vector<int> &values, int64_t rows,
                              int64_t m) {
  int64_t rowBytes = (m + 1) / 2;
  std::vector<uint8_t> packed(rows * rowBytes, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < m; ++k)
      packed[r * rowBytes + k / 2] |= (values[r * m + k] & 0xF)
                                      << (k % 2 ? 4 : 0);
  return packed;
}

TEST(Int4Test, RowBytes) {
  EXPECT_EQ(int4RowBytes(0), 0);
  EXPECT_EQ(int4RowBytes(1), 1);
  EXPECT_EQ(int4RowBytes(4), 2);
  EXPECT_EQ(int4RowBytes(5), 3);
}

// The worked example of docs/Quantization.md: rows [-3, 5, 7, -8] and
// [0, -1, 2, 1] are the bytes 5D 87 F0 12, the same flat and per row.
TEST(Int4Test, EvenRowsAreAlreadyFlat) {
  std::vector<uint8_t> rows = {0x5D, 0x87, 0xF0, 0x12};
  std::vector<uint8_t> flat(4, 0xAA);
  repackInt4RowsToFlat(rows.data(), 2, 4, flat.data());
  EXPECT_EQ(flat, rows);
  const int expected[] = {-3, 5, 7, -8, 0, -1, 2, 1};
  for (int e = 0; e < 8; ++e)
    EXPECT_EQ(flatElement(flat, e), expected[e]) << "element " << e;
}

TEST(Int4Test, OddRowsDropThePadding) {
  // Rows of 3: [1, -2, 3] and [-4, 5, -6] are 0xE1 0x03 | 0x5C 0x0A per row.
  std::vector<uint8_t> rows = {0xE1, 0x03, 0x5C, 0x0A};
  std::vector<uint8_t> flat(3, 0xFF);
  repackInt4RowsToFlat(rows.data(), 2, 3, flat.data());
  EXPECT_EQ(flat, (std::vector<uint8_t>{0xE1, 0xC3, 0xA5}));
}

TEST(Int4Test, RandomRepackMatchesReference) {
  std::mt19937_64 rng = makeRng();
  std::uniform_int_distribution<int> value(-8, 7);
  for (int64_t m : {1, 2, 3, 7, 8, 33}) {
    for (int64_t rows : {1, 2, 5}) {
      std::vector<int> values(rows * m);
      for (int &v : values)
        v = value(rng);
      std::vector<uint8_t> packed = packRows(values, rows, m);
      int64_t n = rows * m;
      std::vector<uint8_t> flat((n + 1) / 2, 0xFF);
      repackInt4RowsToFlat(packed.data(), rows, m, flat.data());
      for (int64_t e = 0; e < n; ++e)
        ASSERT_EQ(flatElement(flat, e), values[e])
            << "m=" << m << " rows=" << rows << " e=" << e;
      if (n % 2) {
        EXPECT_EQ(flat.back() >> 4, 0) << "trailing nibble must be zero";
      }
    }
  }
}

} // namespace
