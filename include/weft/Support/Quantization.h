//===- Quantization.h - round-to-nearest weight quantization ----*- C++ -*-===//
//
// The group-wise round-to-nearest quantization of docs/Quantization.md
// ("Round-to-nearest quantization"), the int4 packing of its archive format,
// and the error measures the weft-quantize report states.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_SUPPORT_QUANTIZATION_H
#define WEFT_SUPPORT_QUANTIZATION_H

#include "mlir/Support/LLVM.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::weft {

struct QuantizationScheme {
  unsigned bits = 8;      // 8 or 4
  int64_t groupSize = -1; // -1: one group per output channel
  bool symmetric = true;
  std::string scalesDtype = "F32"; // F32, F16 or BF16

  /// Columns per group for K input features.
  int64_t getGroupLength(int64_t k) const {
    return groupSize == -1 ? k : groupSize;
  }
};

/// A quantized [N, K] weight: logical integer values (signed for symmetric,
/// unsigned for asymmetric), scales rounded to the scales dtype and, for
/// asymmetric schemes, zero points; scales and zeros are [N, G] row-major.
struct QuantizedWeight {
  int64_t n = 0, k = 0, groups = 0;
  std::vector<int32_t> values;
  std::vector<float> scales;
  std::vector<int32_t> zeros;

  /// The weight that dequantization gives back, [N, K] row-major.
  std::vector<float> dequantize(int64_t groupLength) const;
};

/// Quantizes `weight` ([N, K] row-major f32); K must be a multiple of the
/// group length. The error names the row and group of a non-finite weight or
/// of a scale that is not finite in the scales dtype.
llvm::Expected<QuantizedWeight>
quantizeWeight(ArrayRef<float> weight, int64_t n, int64_t k,
               const QuantizationScheme &scheme);

/// Logical `bits`-bit values [rows, length] as archive bytes: int8 one byte
/// each (two's complement when signed), int4 packed two per byte along the
/// last dim (low nibble first, an odd last dim padded with a zero nibble).
std::string packIntegers(ArrayRef<int32_t> values, int64_t rows, int64_t length,
                         unsigned bits);

/// How far a quantized weight is from the original, in f64.
struct QuantizationError {
  /// ||W - dequant(Q)||_F / ||W||_F (0 when W = 0).
  double weightRelError = 0;
  /// max_n ||W[n] - dequant(Q)[n]||_2: for every input row x,
  /// |(x W^T)[n] - (x dequant(Q)^T)[n]| <= outputErrorBound * ||x||_2.
  double outputErrorBound = 0;
  /// ||X (W - dequant(Q))^T||_F / ||X W^T||_F (0 when X W^T = 0) for the
  /// `rows` x K inputs X = drawNormalInputs(rows * K, seed), row-major.
  double outputRelError = 0;
};

/// `count` standard normal values from a documented generator, so that other
/// tools can reproduce them: splitmix64 from `seed`, 53-bit uniforms
/// u = (z >> 11) * 2^-53, and Box-Muller on consecutive pairs (u1, u2):
/// sqrt(-2 ln(1 - u1)) * (cos(2 pi u2), sin(2 pi u2)).
std::vector<double> drawNormalInputs(int64_t count, uint64_t seed);

QuantizationError measureQuantizationError(ArrayRef<float> weight,
                                           ArrayRef<float> dequantized,
                                           int64_t n, int64_t k, int64_t rows,
                                           uint64_t seed);

} // namespace mlir::weft

#endif // WEFT_SUPPORT_QUANTIZATION_H
