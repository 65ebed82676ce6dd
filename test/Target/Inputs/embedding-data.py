"""Writes the table and id files for index-range.test into argv[1]."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), *[os.pardir] * 3, "python"))
from weft import safetensors  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng()
table = rng.standard_normal((100, 8)).astype(np.float32)
safetensors.save(f"{out}/p.safetensors", {"table": table})
ids = rng.integers(0, 100, size=(2, 5), dtype=np.int64)
ids[0, 0], ids[1, 4] = 0, 99  # both ends of the valid range
np.save(f"{out}/ok.npy", ids)
np.save(f"{out}/expected.npy", table[ids])
bad = ids.copy()
bad[1, 2] = 100
np.save(f"{out}/too-large.npy", bad)
np.save(f"{out}/negative.npy", np.array([[3, -1]], np.int64))
