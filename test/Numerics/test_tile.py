# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""weft-tile: the tiled ops compute what the untiled ones compute, including
partial tiles at the ends of dynamic dims."""

import numpy as np
import pytest

import harness
import reference as ref
from harness import mlir_type as t
from weft import params as weft_params

RNG = np.random.default_rng()


@pytest.mark.parametrize("tile_sizes", ["0,3,16", "1,4,8", "2,0,0"])
def test_tiled_linear_and_norm(tile_sizes):
    batch, seq, k, n = 2, 7, 64, 48  # seq 7: partial tiles of 3 and 4
    x = RNG.standard_normal((batch, seq, k)).astype(np.float32)
    g = (1 + 0.1 * RNG.standard_normal(k)).astype(np.float32)
    w = (RNG.standard_normal((n, k)) / 8).astype(np.float32)
    b = (0.1 * RNG.standard_normal(n)).astype(np.float32)
    r = RNG.standard_normal((batch, seq, n)).astype(np.float32)
    tx, tg, tw, tb = t((None, None, k), "f32"), t((k,), "f32"), t((n, k), "f32"), t((n,), "f32")
    ty = t((None, None, n), "f32")
    program = f"""
func.func @main(%x: {tx}, %g: {tg}, %w: {tw}, %b: {tb}, %r: {ty}) -> {ty} {{
  %h = weft.rms_norm %x, %g {{eps = 1.0e-5 : f64}} : ({tx}, {tg}) -> {tx}
  %y = weft.linear %h, %w bias %b residual %r {{activation = #weft.activation<silu>}} : ({tx}, {tw}, {tb}, {ty}) -> {ty}
  return %y : {ty}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=tile-sizes={tile_sizes}")
    assert "scf.for" in tiled, tiled
    (out,) = harness.run(tiled, [x, g, w, b, r])
    x64 = x.astype(np.float64)
    h = ref.rms_norm(x64, g.astype(np.float64))
    expected = ref.linear(h, w.astype(np.float64), b.astype(np.float64), "silu",
                          r.astype(np.float64))
    # A norm over 64 values and f32 dot products of length 64.
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-4, what="tiled")


# int4 weights are tiled along M only: weft-pack-int4-buffers handles loads
# of packed parameters, not subviews of them, so tiles of N need int8.
@pytest.mark.parametrize("bits,tile_sizes", [(4, "2,0"), (8, "2,8")])
def test_tiled_qlinear(bits, tile_sizes):
    m, k, n, group = 5, 128, 32, 32
    x = RNG.standard_normal((m, k)).astype(np.float32)
    q = RNG.integers(0, 2**bits, size=(n, k))
    zeros = RNG.integers(0, 2**bits, size=(n, k // group))
    scales = RNG.uniform(0.005, 0.02, size=(n, k // group)).astype(np.float32)
    tx, ty = t((None, k), "f32"), t((None, n), "f32")
    ti = f"i{bits}"
    tq, ts, tz = t((n, k), ti), t((n, k // group), "f32"), t((n, k // group), ti)
    program = f"""
func.func @main(%x: {tx}) -> {ty} {{
  %q = weft.param "q" : {tq}
  %s = weft.param "s" : {ts}
  %z = weft.param "z" : {tz}
  %y = weft.qlinear %x, %q, %s zeros %z {{group_size = {group}}} : ({tx}, {tq}, {ts}, {tz}) -> {ty}
  return %y : {ty}
}}"""
    tiled = harness.optimize(program, f"-weft-tile=tile-sizes={tile_sizes}")
    assert tiled.count("scf.for") == 2 - tile_sizes.count(",0"), tiled
    pack = weft_params.pack_int4 if bits == 4 else (lambda v: v.astype(np.uint8))
    params = {"q": pack(q), "s": scales, "z": pack(zeros)}
    (out,) = harness.run(tiled, [x], params)
    expected = ref.qlinear(x.astype(np.float64), q, scales.astype(np.float64), group,
                           zeros=zeros)
    # f32 dot products of length 128 with weights ~0.1.
    harness.assert_close(out, expected, rtol=1e-5, atol=1e-4, what="tiled qlinear")
