"""Locating and running weft's command-line tools (weft-opt, weft-compile).

Tools are looked up in WEFT_BIN_DIR if set, else in the build tree next to
this source tree (build/bin), else on PATH.

With WEFT_ARTIFACT_CACHE=DIR, compile_artifact() and optimize_text() keep
their results in DIR, keyed by a hash of the program text, the target and the
options, and reuse them. This is what lets programs compiled on one machine
run on another that has only weft-run and the runtime (a GPU machine without
LLVM): fill the cache where the compiler is, carry it, and a miss there
raises ArtifactCacheMiss. Each entry records the build of the tool that made
it (path, size and modification time of the binary): where the tool is
installed, an entry from another build is made again, so a rebuilt weft never
reuses stale results.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile

_SOURCE_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


class ToolError(RuntimeError):
    """A tool that is missing or failed; the message is its first error line."""


class ArtifactCacheMiss(ToolError):
    """WEFT_ARTIFACT_CACHE holds no result for a program, and the tool that
    would make it is not on this machine."""


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


def _tool_stamp(path):
    """The identity of a tool binary: a rebuilt tool makes new results."""
    stat = os.stat(path)
    return f"{os.path.realpath(path)} {stat.st_size} {stat.st_mtime_ns}"


def _cached(tool, key, out_path, produce):
    """Copies the cached result for `key` to out_path, or runs produce() (which
    writes out_path) and caches what it wrote. Where the tool is installed, a
    result counts only if that same build of the tool made it (each entry
    records the tool's stamp); where it is not (the GPU machine), the cache
    is all there is."""
    directory = os.environ.get("WEFT_ARTIFACT_CACHE")
    if not directory:
        produce()
        return
    digest = hashlib.sha256("\0".join([tool, *key]).encode()).hexdigest()
    entry = os.path.join(directory, digest)
    try:
        stamp = _tool_stamp(find_tool(tool))
    except ToolError:
        stamp = None
    if os.path.isfile(entry):
        if stamp is None:
            shutil.copyfile(entry, out_path)
            return
        if os.path.isfile(entry + ".stamp"):
            with open(entry + ".stamp") as f:
                if f.read() == stamp:
                    shutil.copyfile(entry, out_path)
                    return
    if stamp is None:
        raise ArtifactCacheMiss(
            f"{tool} not found, and WEFT_ARTIFACT_CACHE={directory} has no result for this "
            f"program (key {digest[:12]}): fill the cache where {tool} is")
    produce()
    os.makedirs(directory, exist_ok=True)
    shutil.copyfile(out_path, entry + ".tmp")
    os.replace(entry + ".tmp", entry)
    with open(entry + ".stamp", "w") as f:
        f.write(stamp)


def compile_artifact(mlir_path, out_path, params_path=None, target="cpu", options=()):
    """weft-compile; `options` are further flags (e.g. "--gpu-attention=blocks")."""
    args = [mlir_path, f"--target={target}", *options, "-o", out_path]
    if params_path:
        args += ["--params", params_path]
    with open(mlir_path) as f:
        key = [target, *options, f.read()]
    _cached("weft-compile", key, out_path, lambda: run_tool("weft-compile", args))


def optimize_text(mlir, passes):
    """weft-opt on program text; returns the output text. Passes whose
    options name files that change between runs are not worth caching."""
    def produce():
        with open(out, "w") as f:
            f.write(run_tool("weft-opt", ["-", *passes], input=mlir))

    with tempfile.TemporaryDirectory(prefix="weft-opt-") as directory:
        out = os.path.join(directory, "out.mlir")
        _cached("weft-opt", [*passes, mlir], out, produce)
        with open(out) as f:
            return f.read()
