//===- Quantization.cpp - round-to-nearest weight quantization ------------===//

#include "weft/Support/Quantization.h"

#include "weft/Support/ParamArchive.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::weft;

std::vector<float> QuantizedWeight::dequantize(int64_t groupLength) const {
  std::vector<float> weight(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      int64_t group = row * groups + col / groupLength;
      int32_t zero = zeros.empty() ? 0 : zeros[group];
      weight[row * k + col] =
          scales[group] * static_cast<float>(values[row * k + col] - zero);
    }
  return weight;
}

llvm::Expected<QuantizedWeight>
weft::quantizeWeight(ArrayRef<float> weight, int64_t n, int64_t k,
                     const QuantizationScheme &scheme) {
  int64_t length = scheme.getGroupLength(k);
  QuantizedWeight result;
  result.n = n;
  result.k = k;
  result.groups = k / length;
  result.values.resize(n * k);
  result.scales.resize(n * result.groups);
  if (!scheme.symmetric)
    result.zeros.resize(n * result.groups);

  // All arithmetic in f32 with true division; std::nearbyint rounds half to
  // even in the default rounding mode, like numpy's rint.
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t group = 0; group < result.groups; ++group) {
      const float *w = weight.data() + row * k + group * length;
      int32_t *q = result.values.data() + row * k + group * length;
      int64_t slot = row * result.groups + group;
      auto fail = [&](const Twine &message) {
        return llvm::createStringError("row " + Twine(row) + ", group " +
                                       Twine(group) + ": " + message);
      };
      float lo = 0, hi = 0;
      for (int64_t i = 0; i < length; ++i) {
        if (!std::isfinite(w[i]))
          return fail("the weight has a non-finite value");
        lo = std::min(lo, w[i]);
        hi = std::max(hi, w[i]);
      }
      float scale, qmin, qmax;
      float zero = 0;
      if (scheme.symmetric) {
        qmax = static_cast<float>((1 << (scheme.bits - 1)) - 1);
        qmin = -qmax - 1;
        scale = roundToDtype(std::max(-lo, hi) / qmax, scheme.scalesDtype);
      } else {
        qmax = static_cast<float>((1 << scheme.bits) - 1);
        qmin = 0;
        scale = roundToDtype((hi - lo) / qmax, scheme.scalesDtype);
      }
      if (!std::isfinite(scale))
        return fail("the scale is not finite in " + scheme.scalesDtype);
      if (scale == 0)
        scale = 1;
      if (!scheme.symmetric) {
        zero = std::clamp(std::nearbyint(-lo / scale), 0.0f, qmax);
        result.zeros[slot] = static_cast<int32_t>(zero);
      }
      result.scales[slot] = scale;
      for (int64_t i = 0; i < length; ++i)
        q[i] = static_cast<int32_t>(
            std::clamp(std::nearbyint(w[i] / scale) + zero, qmin, qmax));
    }
  }
  return result;
}

std::string weft::packIntegers(ArrayRef<int32_t> values, int64_t rows,
                               int64_t length, unsigned bits) {
  if (bits == 8) {
    std::string bytes(values.size(), '\0');
    for (size_t i = 0; i < values.size(); ++i)
      bytes[i] = static_cast<char>(values[i] & 0xFF);
    return bytes;
  }
  int64_t rowBytes = (length + 1) / 2;
  std::string bytes(rows * rowBytes, '\0');
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t i = 0; i < length; ++i) {
      uint8_t nibble = values[row * length + i] & 0xF;
      bytes[row * rowBytes + i / 2] |=
          static_cast<char>(i % 2 ? nibble << 4 : nibble);
    }
  return bytes;
}

std::vector<double> weft::drawNormalInputs(int64_t count, uint64_t seed) {
  uint64_t state = seed;
  auto next = [&] { // splitmix64
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return double(next() >> 11) * 0x1.0p-53; };
  std::vector<double> values(count);
  for (int64_t i = 0; i < count; i += 2) {
    // Box-Muller on (0, 1] x [0, 1).
    double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
    double angle = 2.0 * llvm::numbers::pi * uniform();
    values[i] = radius * std::cos(angle);
    if (i + 1 < count)
      values[i + 1] = radius * std::sin(angle);
  }
  return values;
}

QuantizationError weft::measureQuantizationError(ArrayRef<float> weight,
                                                 ArrayRef<float> dequantized,
                                                 int64_t n, int64_t k,
                                                 int64_t rows, uint64_t seed) {
  QuantizationError error;
  double weightNorm = 0, deltaNorm = 0;
  std::vector<double> delta(n * k);
  for (int64_t row = 0; row < n; ++row) {
    double rowDelta = 0;
    for (int64_t col = 0; col < k; ++col) {
      int64_t i = row * k + col;
      delta[i] = double(weight[i]) - double(dequantized[i]);
      weightNorm += double(weight[i]) * double(weight[i]);
      rowDelta += delta[i] * delta[i];
    }
    deltaNorm += rowDelta;
    error.outputErrorBound =
        std::max(error.outputErrorBound, std::sqrt(rowDelta));
  }
  if (weightNorm > 0)
    error.weightRelError = std::sqrt(deltaNorm / weightNorm);

  std::vector<double> x = drawNormalInputs(rows * k, seed);
  double outputNorm = 0, outputDeltaNorm = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double *input = x.data() + r * k;
    for (int64_t row = 0; row < n; ++row) {
      double y = 0, dy = 0;
      for (int64_t col = 0; col < k; ++col) {
        y += input[col] * double(weight[row * k + col]);
        dy += input[col] * delta[row * k + col];
      }
      outputNorm += y * y;
      outputDeltaNorm += dy * dy;
    }
  }
  if (outputNorm > 0)
    error.outputRelError = std::sqrt(outputDeltaNorm / outputNorm);
  return error;
}
