"""Locating and running weft's command-line tools (weft-opt, weft-compile).

Tools are looked up in WEFT_BIN_DIR if set, else in the build tree next to
this source tree (build/bin), else on PATH.
"""

import os
import shutil
import subprocess

_SOURCE_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


class ToolError(RuntimeError):
    """A tool that is missing or failed; the message is its first error line."""


def bin_dirs():
    dirs = []
    if os.environ.get("WEFT_BIN_DIR"):
        dirs.append(os.environ["WEFT_BIN_DIR"])
    dirs.append(os.path.join(_SOURCE_ROOT, "build", "bin"))
    return dirs


def find_tool(name):
    for directory in bin_dirs():
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    path = shutil.which(name)
    if path:
        return path
    raise ToolError(f"{name} not found (set WEFT_BIN_DIR to the directory holding it)")


def _first_error(stderr, tool):
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for line in lines:
        if "error" in line:
            return line
    return lines[0] if lines else f"{tool} failed"


def run_tool(name, args, input=None):
    """Runs a tool; returns stdout, raises ToolError with its first error line."""
    path = find_tool(name)
    result = subprocess.run([path, *args], input=input, capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolError(f"{name}: {_first_error(result.stderr, name)}")
    return result.stdout


def optimize(mlir_path, out_path, passes):
    """weft-opt MLIR -o OUT with `passes` (e.g. ["--weft-quantize=bits=8"])."""
    run_tool("weft-opt", [mlir_path, *passes, "-o", out_path])


def compile_artifact(mlir_path, out_path, params_path=None, target="cpu"):
    args = [mlir_path, f"--target={target}", "-o", out_path]
    if params_path:
        args += ["--params", params_path]
    run_tool("weft-compile", args)
