"""WEFT_ARTIFACT_CACHE: compiled programs are reused by content, and a
machine without the compiler gets a clear error for a program that is not in
the cache (weft.tools)."""

import os

import pytest

from conftest import require_tools
from weft import tools

PROGRAM = """
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = weft.neg %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_compile_artifact_reuses_and_misses(tmp_path, monkeypatch):
    require_tools("weft-compile")
    cache = tmp_path / "cache"
    monkeypatch.setenv("WEFT_ARTIFACT_CACHE", str(cache))
    source = _write(tmp_path / "a.mlir", PROGRAM)
    first = tmp_path / "first.weft"
    tools.compile_artifact(source, str(first))
    entries = os.listdir(cache)
    assert len(entries) == 1
    assert (cache / entries[0]).read_bytes() == first.read_bytes()

    # Without a compiler: the same text (in another file) comes from the
    # cache; another program, or the same one for another target, is a miss.
    def no_tool(name):
        raise tools.ToolError(f"{name} not found")

    monkeypatch.setattr(tools, "find_tool", no_tool)
    copy = _write(tmp_path / "b.mlir", PROGRAM)
    second = tmp_path / "second.weft"
    tools.compile_artifact(copy, str(second))
    assert second.read_bytes() == first.read_bytes()
    other = _write(tmp_path / "c.mlir", PROGRAM.replace("weft.neg", "weft.exp"))
    with pytest.raises(tools.ArtifactCacheMiss, match="has no result for this program"):
        tools.compile_artifact(other, str(tmp_path / "other.weft"))
    with pytest.raises(tools.ArtifactCacheMiss, match="weft-compile not found"):
        tools.compile_artifact(copy, str(tmp_path / "cuda.weft"), target="cuda")
    assert len(os.listdir(cache)) == 1


def test_optimize_text_is_cached(tmp_path, monkeypatch):
    require_tools("weft-opt")
    monkeypatch.setenv("WEFT_ARTIFACT_CACHE", str(tmp_path / "cache"))
    out = tools.optimize_text(PROGRAM, ["--canonicalize"])
    assert "weft.neg" in out
    monkeypatch.setattr(tools, "find_tool",
                        lambda name: (_ for _ in ()).throw(tools.ToolError(name)))
    assert tools.optimize_text(PROGRAM, ["--canonicalize"]) == out
    with pytest.raises(tools.ArtifactCacheMiss):
        tools.optimize_text(PROGRAM, ["--cse"])
