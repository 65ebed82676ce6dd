# RUN: env WEFT_BIN_DIR=%weft_tools_dir PYTHONDONTWRITEBYTECODE=1 %python -m pytest -q -p no:cacheprovider %s
"""The race check of the thread-block forms on the CPU.

The CPU runs the loops over GPU threads of a kernel one thread after the
other; harness.run compiles such programs a second time with those loops
backwards (weft-compile --reverse-gpu-loops) and requires the same bits.
Here a kernel shifts x by one element through a block-local buffer: with a
phase boundary (a barrier on the GPU) between the write and the read it is
race-free; with both in one phase, thread t reads what thread t - 1 writes,
which the forward order happens to get right and the backward order does
not.
"""

import numpy as np
import pytest

import harness


def _shift_kernel(same_phase):
    write = """
      %v = memref.load %in[%t] : memref<64xf32>
      %t1 = arith.addi %t, %c1 : index
      memref.store %v, %scratch[%t1] : memref<65xf32>"""
    read = """
      %w = memref.load %scratch[%t] : memref<65xf32>
      memref.store %w, %out[%t] : memref<64xf32>"""
    phases = (f"""
    scf.forall (%t) in (64) {{{write}{read}
    }} {{mapping = [#gpu.thread<x>]}}""" if same_phase else f"""
    scf.forall (%t) in (64) {{{write}
    }} {{mapping = [#gpu.thread<x>]}}
    scf.forall (%t) in (64) {{{read}
    }} {{mapping = [#gpu.thread<x>]}}""")
    return f"""
func.func @main(%x: tensor<64xf32>) -> tensor<64xf32> {{
  %in = bufferization.to_buffer %x : tensor<64xf32> to memref<64xf32>
  %out = memref.alloc() : memref<64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%b) in (1) {{
    %scratch = memref.alloc() : memref<65xf32>
    memref.store %zero, %scratch[%c0] : memref<65xf32>{phases}
  }} {{mapping = [#gpu.block<x>]}}
  %r = bufferization.to_tensor %out restrict : memref<64xf32> to tensor<64xf32>
  return %r : tensor<64xf32>
}}
"""


def test_race_free_kernel_passes():
    x = np.random.default_rng().standard_normal(64).astype(np.float32)
    (out,) = harness.run(_shift_kernel(same_phase=False), [x])
    np.testing.assert_array_equal(out, np.concatenate([[0.0], x[:-1]]).astype(np.float32))


def test_race_is_caught():
    if harness.TARGET != "cpu":
        pytest.skip("the race check runs on the CPU")
    x = np.random.default_rng().standard_normal(64).astype(np.float32)
    with pytest.raises(AssertionError, match="threads run backwards"):
        harness.run(_shift_kernel(same_phase=True), [x])
