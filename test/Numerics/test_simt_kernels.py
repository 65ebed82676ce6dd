# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""Kernels written SIMT-style: gpu.barrier and gpu.shuffle inside one loop
over the threads of a block, also in block-uniform scf.for and scf.if.

The GPU runs them as written. The CPU runs them through
weft-expand-warp-collectives and weft-split-thread-loops-at-barriers, and
harness.run runs them a second time with the thread loops backwards, which
must give the same bits. References: numpy float64 (sums) or exact integer
models (shuffles), every output element checked.
"""

import numpy as np
import pytest

import harness

_ROWS = 6
_COLS = 256  # two values per thread of a 128-thread block


def _centre_rows_kernel():
    """Each block subtracts its row's mean: a warp sum by xor shuffles, one
    partial per warp through shared memory, a barrier, every thread sums the
    partials. Lane 0's store sits in a thread-dependent scf.if."""
    shuffles = []
    value = "%s0"
    for step, offset in enumerate([16, 8, 4, 2, 1]):
        shuffles.append(
            f"""
      %o{step} = arith.constant {offset} : i32
      %h{step}, %ok{step} = gpu.shuffle xor {value}, %o{step}, %c32_i32 : f32
      %s{step + 1} = arith.addf {value}, %h{step} : f32""")
        value = f"%s{step + 1}"
    return f"""
func.func @main(%x: tensor<{_ROWS}x{_COLS}xf32>) -> tensor<{_ROWS}x{_COLS}xf32> {{
  %in = bufferization.to_buffer %x : tensor<{_ROWS}x{_COLS}xf32> to memref<{_ROWS}x{_COLS}xf32>
  %out = memref.alloc() : memref<{_ROWS}x{_COLS}xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  %c32_i32 = arith.constant 32 : i32
  %count = arith.constant {float(_COLS)} : f32
  scf.forall (%b) in ({_ROWS}) {{
    %partial = memref.alloc() : memref<4xf32>
    scf.forall (%t) in (128) {{
      %t2 = arith.addi %t, %c128 : index
      %a = memref.load %in[%b, %t] : memref<{_ROWS}x{_COLS}xf32>
      %c = memref.load %in[%b, %t2] : memref<{_ROWS}x{_COLS}xf32>
      %s0 = arith.addf %a, %c : f32{"".join(shuffles)}
      %lane = arith.remui %t, %c32 : index
      %warp = arith.divui %t, %c32 : index
      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {{
        memref.store {value}, %partial[%warp] : memref<4xf32>
      }}
      gpu.barrier
      %p0 = memref.load %partial[%c0] : memref<4xf32>
      %p1 = memref.load %partial[%c1] : memref<4xf32>
      %p2 = memref.load %partial[%c2] : memref<4xf32>
      %p3 = memref.load %partial[%c3] : memref<4xf32>
      %q0 = arith.addf %p0, %p1 : f32
      %q1 = arith.addf %p2, %p3 : f32
      %total = arith.addf %q0, %q1 : f32
      %mean = arith.divf %total, %count : f32
      %da = arith.subf %a, %mean : f32
      %dc = arith.subf %c, %mean : f32
      memref.store %da, %out[%b, %t] : memref<{_ROWS}x{_COLS}xf32>
      memref.store %dc, %out[%b, %t2] : memref<{_ROWS}x{_COLS}xf32>
    }} {{mapping = [#gpu.thread<x>]}}
  }} {{mapping = [#gpu.block<x>]}}
  %r = bufferization.to_tensor %out restrict : memref<{_ROWS}x{_COLS}xf32> to tensor<{_ROWS}x{_COLS}xf32>
  return %r : tensor<{_ROWS}x{_COLS}xf32>
}}
"""


def test_centre_rows_with_warp_shuffles():
    x = np.random.default_rng().standard_normal((_ROWS, _COLS)).astype(np.float32)
    (out,) = harness.run(_centre_rows_kernel(), [x])
    x64 = x.astype(np.float64)
    expected = x64 - x64.mean(axis=1, keepdims=True)
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-5)


_M = 128
_K = 320  # five tiles of 64
_TILE = 64


_MATVEC = f"""
func.func @main(%a: tensor<{_M}x{_K}xf32>, %x: tensor<{_K}xf32>) -> tensor<{_M}xf32> {{
  %am = bufferization.to_buffer %a : tensor<{_M}x{_K}xf32> to memref<{_M}x{_K}xf32>
  %xm = bufferization.to_buffer %x : tensor<{_K}xf32> to memref<{_K}xf32>
  %y = memref.alloc() : memref<{_M}xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant {_TILE} : index
  %cK = arith.constant {_K} : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%b) in ({_M // _TILE}) {{
    %tile = memref.alloc() : memref<{_TILE}xf32>
    %first = arith.cmpi eq, %b, %c0 : index
    scf.forall (%t) in ({_TILE}) {{
      %row0 = arith.muli %b, %c64 : index
      %row = arith.addi %row0, %t : index
      %sum = scf.for %k0 = %c0 to %cK step %c64 iter_args(%acc = %zero) -> f32 {{
        %k = arith.addi %k0, %t : index
        %xv = memref.load %xm[%k] : memref<{_K}xf32>
        memref.store %xv, %tile[%t] : memref<{_TILE}xf32>
        gpu.barrier
        %dot = scf.for %j = %c0 to %c64 step %c1 iter_args(%d = %acc) -> f32 {{
          %kj = arith.addi %k0, %j : index
          %av = memref.load %am[%row, %kj] : memref<{_M}x{_K}xf32>
          %tv = memref.load %tile[%j] : memref<{_TILE}xf32>
          %p = arith.mulf %av, %tv : f32
          %d1 = arith.addf %d, %p : f32
          scf.yield %d1 : f32
        }}
        gpu.barrier
        scf.yield %dot : f32
      }}
      // Block 0 hands each row's sum to the thread before it (a rotation).
      %r = scf.if %first -> f32 {{
        memref.store %sum, %tile[%t] : memref<{_TILE}xf32>
        gpu.barrier
        %t1 = arith.addi %t, %c1 : index
        %next = arith.remui %t1, %c64 : index
        %v = memref.load %tile[%next] : memref<{_TILE}xf32>
        scf.yield %v : f32
      }} else {{
        scf.yield %sum : f32
      }}
      memref.store %r, %y[%row] : memref<{_M}xf32>
    }} {{mapping = [#gpu.thread<x>]}}
  }} {{mapping = [#gpu.block<x>]}}
  %out = bufferization.to_tensor %y restrict : memref<{_M}xf32> to tensor<{_M}xf32>
  return %out : tensor<{_M}xf32>
}}
"""


def test_tiled_matvec_with_barriers_in_loops_and_conditionals():
    rng = np.random.default_rng()
    a = rng.standard_normal((_M, _K)).astype(np.float32)
    x = rng.standard_normal(_K).astype(np.float32)
    (y,) = harness.run(_MATVEC, [a, x])
    expected = a.astype(np.float64) @ x.astype(np.float64)
    expected[:_TILE] = np.roll(expected[:_TILE], -1)
    harness.assert_close(y, expected, rtol=1e-5, atol=1e-4)


_NESTED = """
func.func @main(%x: tensor<3x4x64xf32>) -> tensor<64xf32> {
  %in = bufferization.to_buffer %x : tensor<3x4x64xf32> to memref<3x4x64xf32>
  %y = memref.alloc() : memref<64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  scf.forall (%b) in (1) {
    %tile = memref.alloc() : memref<64xf32>
    scf.forall (%t) in (64) {
      %t1 = arith.addi %t, %c1 : index
      %next = arith.remui %t1, %c64 : index
      // Per r: the sum over k of tile (r, k)'s next element, halved before
      // each r's sum joins the total (the iteration values of both loops
      // cross barriers).
      %total = scf.for %r = %c0 to %c3 step %c1 iter_args(%acc = %zero) -> f32 {
        %scaled = arith.mulf %acc, %half : f32
        %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%s = %zero) -> f32 {
          %v = memref.load %in[%r, %k, %t] : memref<3x4x64xf32>
          memref.store %v, %tile[%t] : memref<64xf32>
          gpu.barrier
          %w = memref.load %tile[%next] : memref<64xf32>
          gpu.barrier
          %s1 = arith.addf %s, %w : f32
          scf.yield %s1 : f32
        }
        %acc1 = arith.addf %scaled, %sum : f32
        scf.yield %acc1 : f32
      }
      memref.store %total, %y[%t] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  %out = bufferization.to_tensor %y restrict : memref<64xf32> to tensor<64xf32>
  return %out : tensor<64xf32>
}
"""


def test_barriers_in_nested_loops():
    x = np.random.default_rng().standard_normal((3, 4, 64)).astype(np.float32)
    (y,) = harness.run(_NESTED, [x])
    sums = np.roll(x.astype(np.float64), -1, axis=2).sum(axis=1)  # [r, t]
    expected = np.zeros(64)
    for r in range(3):
        expected = expected * 0.5 + sums[r]
    harness.assert_close(y, expected, rtol=1e-6, atol=1e-6)


_THREADS = 64  # two warps

# Modes and offsets of the shuffle test; `width` 32 (the whole warp) is what
# converged code may use (fewer lanes take part only under divergence).
_SHUFFLES = [("xor", 5), ("xor", 16), ("down", 3), ("up", 7), ("idx", 13),
             ("idx", 33)]


def _shuffle_kernel():
    rows = len(_SHUFFLES)
    body = []
    for row, (mode, offset) in enumerate(_SHUFFLES):
        body.append(f"""
      %off{row} = arith.constant {offset} : i32
      %v{row}, %ok{row} = gpu.shuffle {mode} %v, %off{row}, %c32_i32 : i32
      %r{row} = arith.select %ok{row}, %v{row}, %minus1 : i32
      %row{row} = arith.constant {row} : index
      memref.store %r{row}, %out[%row{row}, %t] : memref<{rows}x{_THREADS}xi32>""")
    return f"""
func.func @main(%x: tensor<{_THREADS}xi32>) -> tensor<{rows}x{_THREADS}xi32> {{
  %in = bufferization.to_buffer %x : tensor<{_THREADS}xi32> to memref<{_THREADS}xi32>
  %out = memref.alloc() : memref<{rows}x{_THREADS}xi32>
  %c32_i32 = arith.constant 32 : i32
  %minus1 = arith.constant -1 : i32
  scf.forall (%b) in (1) {{
    scf.forall (%t) in ({_THREADS}) {{
      %v = memref.load %in[%t] : memref<{_THREADS}xi32>{"".join(body)}
    }} {{mapping = [#gpu.thread<x>]}}
  }} {{mapping = [#gpu.block<x>]}}
  %r = bufferization.to_tensor %out restrict : memref<{rows}x{_THREADS}xi32> to tensor<{rows}x{_THREADS}xi32>
  return %r : tensor<{rows}x{_THREADS}xi32>
}}
"""


def _shuffle_reference(x, mode, offset):
    """shfl.sync over a whole warp (width 32): source lane and validity; -1
    where the source is not valid."""
    out = np.empty_like(x)
    for t in range(x.size):
        lane, warp = t % 32, t - t % 32
        source = {"xor": lane ^ offset, "down": lane + offset,
                  "up": lane - offset, "idx": offset & 31}[mode]
        valid = 0 <= source <= 31
        out[t] = x[warp + source] if valid else -1
    return out


def test_shuffle_modes_match_the_warp_model():
    x = np.random.default_rng().integers(0, 1 << 30, _THREADS, dtype=np.int32)
    (out,) = harness.run(_shuffle_kernel(), [x])
    expected = np.stack([_shuffle_reference(x, m, o) for m, o in _SHUFFLES])
    np.testing.assert_array_equal(out, expected)


_GM, _GN, _GK = 32, 16, 32  # one block of two warps, 16 rows each


def _mma_kernel(dtype):
    """C = A B with nvgpu.mma.sync m16n8k16, each lane loading its own
    fragments from global memory (PTX's layout: lane = 4 g + t)."""
    a_type = f"memref<{_GM}x{_GK}x{dtype}>"
    b_type = f"memref<{_GK}x{_GN}x{dtype}>"
    c_type = f"memref<{_GM}x{_GN}xf32>"
    body = ["""
      %lane = arith.remui %t, %c32 : index
      %w = arith.divui %t, %c32 : index
      %g = arith.divui %lane, %c4 : index
      %t4 = arith.remui %lane, %c4 : index
      %tc = arith.muli %t4, %c2 : index
      %row0 = arith.muli %w, %c16 : index
      %ra = arith.addi %row0, %g : index
      %rb = arith.addi %ra, %c8 : index"""]
    for nt in range(_GN // 8):
        body.append(f"""
      %n{nt} = arith.addi %g, %c{8 * nt} : index
      %acc{nt}_0 = arith.constant dense<0.0> : vector<2x2xf32>""")
        for ks in range(_GK // 16):
            p = f"{nt}_{ks}"
            body.append(f"""
      %k{p} = arith.addi %tc, %c{16 * ks} : index
      %k{p}h = arith.addi %k{p}, %c8 : index
      %a{p}0 = vector.load %am[%ra, %k{p}] : {a_type}, vector<2x{dtype}>
      %a{p}1 = vector.load %am[%rb, %k{p}] : {a_type}, vector<2x{dtype}>
      %a{p}2 = vector.load %am[%ra, %k{p}h] : {a_type}, vector<2x{dtype}>
      %a{p}3 = vector.load %am[%rb, %k{p}h] : {a_type}, vector<2x{dtype}>
      %af{p}0 = vector.insert %a{p}0, %zeroA [0] : vector<2x{dtype}> into vector<4x2x{dtype}>
      %af{p}1 = vector.insert %a{p}1, %af{p}0 [1] : vector<2x{dtype}> into vector<4x2x{dtype}>
      %af{p}2 = vector.insert %a{p}2, %af{p}1 [2] : vector<2x{dtype}> into vector<4x2x{dtype}>
      %af{p} = vector.insert %a{p}3, %af{p}2 [3] : vector<2x{dtype}> into vector<4x2x{dtype}>
      %k{p}1 = arith.addi %k{p}, %c1 : index
      %k{p}h1 = arith.addi %k{p}h, %c1 : index
      %b{p}0 = memref.load %bm[%k{p}, %n{nt}] : {b_type}
      %b{p}1 = memref.load %bm[%k{p}1, %n{nt}] : {b_type}
      %b{p}2 = memref.load %bm[%k{p}h, %n{nt}] : {b_type}
      %b{p}3 = memref.load %bm[%k{p}h1, %n{nt}] : {b_type}
      %bf{p} = vector.from_elements %b{p}0, %b{p}1, %b{p}2, %b{p}3 : vector<2x2x{dtype}>
      %acc{nt}_{ks + 1} = nvgpu.mma.sync (%af{p}, %bf{p}, %acc{nt}_{ks}) {{mmaShape = [16, 8, 16]}} : (vector<4x2x{dtype}>, vector<2x2x{dtype}>, vector<2x2xf32>) -> vector<2x2xf32>""")
        last = f"%acc{nt}_{_GK // 16}"
        body.append(f"""
      %col{nt} = arith.addi %tc, %c{8 * nt} : index
      %d{nt}0 = vector.extract {last}[0] : vector<2xf32> from vector<2x2xf32>
      %d{nt}1 = vector.extract {last}[1] : vector<2xf32> from vector<2x2xf32>
      vector.store %d{nt}0, %cm[%ra, %col{nt}] : {c_type}, vector<2xf32>
      vector.store %d{nt}1, %cm[%rb, %col{nt}] : {c_type}, vector<2xf32>""")
    constants = "\n".join(f"  %c{v} = arith.constant {v} : index"
                           for v in (1, 2, 4, 8, 16, 24, 32))
    return f"""
func.func @main(%a: tensor<{_GM}x{_GK}x{dtype}>, %b: tensor<{_GK}x{_GN}x{dtype}>) -> tensor<{_GM}x{_GN}xf32> {{
  %am = bufferization.to_buffer %a : tensor<{_GM}x{_GK}x{dtype}> to {a_type}
  %bm = bufferization.to_buffer %b : tensor<{_GK}x{_GN}x{dtype}> to {b_type}
  %cm = memref.alloc() : {c_type}
{constants}
  %c0 = arith.constant 0 : index
  %zeroA = arith.constant dense<0.0> : vector<4x2x{dtype}>
  scf.forall (%blk) in (1) {{
    scf.forall (%t) in (64) {{{"".join(body)}
    }} {{mapping = [#gpu.thread<x>]}}
  }} {{mapping = [#gpu.block<x>]}}
  %r = bufferization.to_tensor %cm restrict : {c_type} to tensor<{_GM}x{_GN}xf32>
  return %r : tensor<{_GM}x{_GN}xf32>
}}
"""


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_tensor_core_product_from_lane_fragments(dtype):
    rng = np.random.default_rng()
    a, a64 = harness.given(rng.standard_normal((_GM, _GK)), dtype)
    b, b64 = harness.given(rng.standard_normal((_GK, _GN)), dtype)
    (c,) = harness.run(_mma_kernel(dtype), [a, b])
    # Products of f16 or bf16 values are exact in f32; the 32-term sums
    # round once per term (|error| <= 32 * 2^-24 * sum |a b|).
    bound = 32 * harness.EPS32 * (np.abs(a64) @ np.abs(b64))
    harness.assert_close(c, a64 @ b64, rtol=0, atol=bound + 1e-30)


_LDMATRIX = """
func.func @main(%x: tensor<16x16xf16>) -> tensor<2x32x4x2xf16> {
  %in = bufferization.to_buffer %x : tensor<16x16xf16> to memref<16x16xf16>
  %out = memref.alloc() : memref<2x32x4x2xf16>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.forall (%b) in (1) {
    %tile = memref.alloc() : memref<16x16xf16>
    scf.forall (%t) in (32) {
      // Thread t fills row t mod 16, columns 8 (t / 16) + 0..7.
      %row = arith.remui %t, %c16 : index
      %half = arith.divui %t, %c16 : index
      %col0 = arith.muli %half, %c8 : index
      scf.for %j = %c0 to %c8 step %c1 {
        %col = arith.addi %col0, %j : index
        %v = memref.load %in[%row, %col] : memref<16x16xf16>
        memref.store %v, %tile[%row, %col] : memref<16x16xf16>
      }
      gpu.barrier
      // Lane l: row l mod 16 at column 8 (l / 16): matrix m = l / 8 is rows
      // 8 (m mod 2).., columns 8 (m / 2)..
      %shared = memref.memory_space_cast %tile : memref<16x16xf16> to memref<16x16xf16, #gpu.address_space<workgroup>>
      %a = nvgpu.ldmatrix %shared[%row, %col0] {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %at = nvgpu.ldmatrix %shared[%row, %col0] {numTiles = 4 : i32, transpose = true} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %a0 = vector.extract %a[0] : vector<2xf16> from vector<4x2xf16>
      %a1 = vector.extract %a[1] : vector<2xf16> from vector<4x2xf16>
      %a2 = vector.extract %a[2] : vector<2xf16> from vector<4x2xf16>
      %a3 = vector.extract %a[3] : vector<2xf16> from vector<4x2xf16>
      %t0 = vector.extract %at[0] : vector<2xf16> from vector<4x2xf16>
      %t1 = vector.extract %at[1] : vector<2xf16> from vector<4x2xf16>
      %t2 = vector.extract %at[2] : vector<2xf16> from vector<4x2xf16>
      %t3 = vector.extract %at[3] : vector<2xf16> from vector<4x2xf16>
      %c3 = arith.constant 3 : index
      vector.store %a0, %out[%c0, %t, %c0, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %a1, %out[%c0, %t, %c1, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %a2, %out[%c0, %t, %c2, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %a3, %out[%c0, %t, %c3, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %t0, %out[%c1, %t, %c0, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %t1, %out[%c1, %t, %c1, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %t2, %out[%c1, %t, %c2, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
      vector.store %t3, %out[%c1, %t, %c3, %c0] : memref<2x32x4x2xf16>, vector<2xf16>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  %r = bufferization.to_tensor %out restrict : memref<2x32x4x2xf16> to tensor<2x32x4x2xf16>
  return %r : tensor<2x32x4x2xf16>
}
"""


def test_ldmatrix_fragments_match_the_ptx_model():
    # Distinct integers, exact in f16: every element's place is checked.
    x = np.arange(256, dtype=np.float16).reshape(16, 16)
    np.random.default_rng().shuffle(x.reshape(-1))
    (out,) = harness.run(_LDMATRIX, [x])
    # PTX ldmatrix.m8n8.x4(.trans): lane 8m + r gives the address of row r
    # of matrix m; lane l gets elements (l / 4, 2 (l % 4) + j) of each
    # matrix, transposed (2 (l % 4) + j, l / 4).
    def address(lane):
        return lane % 16, 8 * (lane // 16)
    expected = np.empty((2, 32, 4, 2), np.float16)
    for lane in range(32):
        for m in range(4):
            for j in range(2):
                for trans in range(2):
                    r, c = (2 * (lane % 4) + j, lane // 4) if trans else \
                        (lane // 4, 2 * (lane % 4) + j)
                    row, col = address(8 * m + r)
                    expected[trans, lane, m, j] = x[row, col + c]
    np.testing.assert_array_equal(out, expected)


def test_barrier_under_thread_dependent_control_flow_is_refused():
    if harness.TARGET != "cpu":
        pytest.skip("the CPU pipeline's check")
    program = _MATVEC.replace("%r = scf.if %first -> f32",
                              "%mine = arith.cmpi eq, %t, %c0 : index\n"
                              "      %r = scf.if %mine -> f32")
    with pytest.raises(harness.tools.ToolError,
                       match="depend on the thread .or on memory."):
        harness.run(program, [np.zeros((_M, _K), np.float32),
                              np.zeros(_K, np.float32)])
