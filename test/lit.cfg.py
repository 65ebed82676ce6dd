# -*- Python -*-
# lit configuration for weft's regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "WEFT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.weft_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%weft_src_root", config.weft_src_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%weft_tools_dir", config.weft_tools_dir))
config.substitutions.append(("%fake_artifact", config.weft_fake_artifact))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Sanitized builds: any ASan/LSan/UBSan report fails the test. LLVM's
# allocators poison and unpoison their memory in the instrumented code of
# weft's translation units (inline header code) but not inside libMLIR, which
# is not instrumented; user poisoning is therefore off, or memory that libMLIR
# reuses reads as poisoned (false use-after-poison reports in the parser).
if config.weft_sanitizers:
    config.environment["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:allow_user_poisoning=0"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"

tool_dirs = [config.weft_tools_dir, config.llvm_tools_dir]
tools = [
    ToolSubst("weft-opt", unresolved="fatal"),
    ToolSubst("weft-compile", unresolved="fatal"),
    ToolSubst("weft-run", unresolved="fatal"),
    ToolSubst("not", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU features. cuda-toolkit: ptxas (cubin builds, which also validate the
# PTX). cuda-gpu: a CUDA driver with a device, for GPU execution tests; without
# one those tests report UNSUPPORTED and the reason is printed.
cuda_root = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.path.exists(os.path.join(cuda_root, "bin", "ptxas")):
    config.available_features.add("cuda-toolkit")
config.substitutions.append(("%cuda_toolkit", cuda_root))


def _cuda_device_count():
    import ctypes
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no CUDA driver (libcuda.so.1 not found)"
    count = ctypes.c_int(0)
    if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0, "the CUDA driver found no usable device"
    return count.value, ""


_devices, _why = _cuda_device_count()
if _devices > 0:
    config.available_features.add("cuda-gpu")
else:
    lit_config.note(f"GPU execution tests are skipped: {_why}")
