"""WEFT_ARTIFACT_CACHE: compiled programs are reused by content (made again
when the compiler was rebuilt), and a machine without the compiler gets a
clear error for a program that is not in the cache (weft.tools)."""

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


def _results(cache):
    """The cached results (without their tool stamps)."""
    return [name for name in os.listdir(cache) if not name.endswith(".stamp")]


def test_compile_artifact_reuses_and_misses(tmp_path, monkeypatch):
    require_tools("weft-compile")
    cache = tmp_path / "cache"
    monkeypatch.setenv("WEFT_ARTIFACT_CACHE", str(cache))
    source = _write(tmp_path / "a.mlir", PROGRAM)
    first = tmp_path / "first.weft"
    tools.compile_artifact(source, str(first))
    entries = _results(cache)
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
    assert len(_results(cache)) == 1


def test_rebuilt_compiler_makes_results_again(tmp_path, monkeypatch):
    # An entry made by another build of weft-compile is compiled again where
    # weft-compile is installed, and then replaced.
    require_tools("weft-compile")
    monkeypatch.setenv("WEFT_ARTIFACT_CACHE", str(tmp_path / "cache"))
    source = _write(tmp_path / "a.mlir", PROGRAM)
    runs = []
    run_tool = tools.run_tool

    def counting_run_tool(name, args, input=None):
        runs.append(name)
        return run_tool(name, args, input)

    monkeypatch.setattr(tools, "run_tool", counting_run_tool)
    tools.compile_artifact(source, str(tmp_path / "1.weft"))
    tools.compile_artifact(source, str(tmp_path / "2.weft"))
    assert runs == ["weft-compile"]
    stamp = tools._tool_stamp
    monkeypatch.setattr(tools, "_tool_stamp", lambda path: stamp(path) + " rebuilt")
    tools.compile_artifact(source, str(tmp_path / "3.weft"))
    tools.compile_artifact(source, str(tmp_path / "4.weft"))
    assert runs == ["weft-compile", "weft-compile"]
    assert len(_results(tmp_path / "cache")) == 1


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
