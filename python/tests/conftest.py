import os
import sys

import pytest

# Use the package from the source tree without installing it.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from weft import runtime, tools  # noqa: E402


def require_tools(*names):
    """Skips (visibly) when the build's tools are not available."""
    for name in names:
        try:
            tools.find_tool(name)
        except tools.ToolError as e:
            pytest.skip(str(e))


def require_runtime():
    """Skips when the runtime cannot be loaded into this Python, or when
    there is no weft-compile and no artifact cache (WEFT_ARTIFACT_CACHE, from
    which a machine without the compiler runs precompiled programs)."""
    if os.environ.get("WEFT_SANITIZERS") == "1":
        pytest.skip("the runtime is built with ASan, which cannot be loaded into an "
                    "uninstrumented Python")
    if not os.environ.get("WEFT_ARTIFACT_CACHE"):
        require_tools("weft-compile")
    try:
        runtime.library()
    except (runtime.WeftError, OSError) as e:
        pytest.skip(f"runtime not loadable: {e}")
