"""The command line: python3 -m weft show-params."""

import numpy as np
import pytest

from weft import safetensors
from weft.__main__ import main


def test_show_params_lists_sorted_tensors_and_metadata(tmp_path, capsys):
    path = tmp_path / "a.safetensors"
    safetensors.save(str(path), {
        "b.weight": np.zeros((2, 3), np.float16),
        "a.qweight": np.zeros((4, 2), np.uint8),
        "norm": np.ones(5, np.float32),
    }, metadata={"format": "pt"})
    main(["show-params", str(path)])
    assert capsys.readouterr().out.splitlines() == [
        "a.qweight U8[4, 2]",
        "b.weight F16[2, 3]",
        "norm F32[5]",
        "__metadata__ format = pt",
    ]


def test_show_params_reports_a_bad_archive(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(SystemExit, match="file too short"):
        main(["show-params", str(path)])
