//===- WarpFragments.h - per-lane tensor-core fragments ---------*- C++ -*-===//
//
// Helpers for SIMT kernels whose lanes hold the fragments of the
// m16n8k16 tensor-core product (nvgpu.mma.sync) themselves: lane
// l = 4 g + t holds, of a 16x16 A tile, rows g and g + 8 at columns 2t,
// 2t + 1 and 2t + 8, 2t + 9 (register r: row g + 8 (r mod 2), column
// 2t + 8 (r / 2)); of a 16x8 B tile (k by n), column g at k = 2t, 2t + 1
// and 2t + 8, 2t + 9; of the 16x8 f32 accumulator, rows g and g + 8 at
// columns 2t and 2t + 1 (vector<2x2xf32>: [row half][column]).
// Used by AttentionRegisters.cpp and LinearTiles.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_LIB_CONVERSION_WEFTTOLINALG_WARPFRAGMENTS_H
#define WEFT_LIB_CONVERSION_WEFTTOLINALG_WARPFRAGMENTS_H

#include "mlir/IR/Builders.h"

namespace mlir::weft {

/// `tile` (a block-local buffer) seen as the GPU's shared memory, which
/// ldmatrix reads; the view folds away on the GPU and is the buffer itself
/// on the CPU.
Value viewAsShared(OpBuilder &b, Location loc, Value tile);

/// `tiles` (1, 2 or 4) 8x8 matrices of 16-bit elements by ldmatrix: matrix
/// m is rows [row0 + rowOf(m), + 8) at columns [column0 + columnOf(m), + 8)
/// of `shared` (lane l gives the address of row l mod 8 of matrix
/// (l / 8) mod tiles), transposed on the way with `transpose`. The result
/// is vector<tiles x 2 x element>: row m is the lane's part of matrix m.
Value loadMatrices(OpBuilder &b, Location loc, Value shared, Value lane,
                   int64_t tiles, bool transpose, Value row0, Value column0,
                   function_ref<int64_t(int64_t)> rowOf,
                   function_ref<int64_t(int64_t)> columnOf);

/// Rows [2 i, 2 i + 2) of an ldmatrix result: one B fragment.
Value bFragmentOf(OpBuilder &b, Location loc, Value matrices, int64_t i);

/// acc + a b on the tensor cores (m16n8k16, f32 accumulators).
Value mmaSync(OpBuilder &b, Location loc, Value a, Value bFragment, Value acc);

/// A zero accumulator fragment (vector<2x2xf32>).
Value zeroAccumulatorFragment(OpBuilder &b, Location loc);

} // namespace mlir::weft

#endif // WEFT_LIB_CONVERSION_WEFTTOLINALG_WARPFRAGMENTS_H
