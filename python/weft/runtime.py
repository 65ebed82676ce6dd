"""ctypes binding to the weft runtime (libweft_runtime.so, docs/Runtime.md).

    artifact = Artifact("model.weft")
    artifact.bind_params("model.safetensors")
    logits, *state = artifact["prefill"](ids, positions)

Inputs are numpy arrays (bf16 as uint16 words); results come back as numpy
arrays that own their memory. Every runtime error is raised as WeftError
carrying the runtime's one-line message and status code.

Runtime-owned tensors avoid the copies: `to_device(array)` puts an array in
CUDA unified memory, and a call with `as_tensors=True` returns its results as
`Tensor`s where the kernels wrote them. A `Tensor` passed to a call is used in
place, so a decode loop can feed a KV cache back without it leaving the GPU:

    cache = to_device(np.zeros(...))
    logits, cache = step(token, cache, as_tensors=True)
    logits.numpy()

The library is found through WEFT_RUNTIME_LIB, else next to the tools
(WEFT_BIN_DIR/../lib), else in this source tree's build/lib.
"""

import ctypes
import os

import numpy as np

from weft import tools


class WeftError(RuntimeError):
    """A runtime call failed; `code` is the weftStatusCode name."""

    def __init__(self, message, code="unknown"):
        super().__init__(message)
        self.code = code


# weftDType values and their numpy storage (bf16 travels as uint16 words).
DTYPES = {
    "f64": (0, np.float64), "f32": (1, np.float32), "f16": (2, np.float16),
    "bf16": (3, np.uint16), "i64": (4, np.int64), "i32": (5, np.int32),
    "i16": (6, np.int16), "i8": (7, np.int8), "u8": (8, np.uint8), "i1": (9, np.bool_),
}
_BY_CODE = {code: (name, np_type) for name, (code, np_type) in DTYPES.items()}
_FROM_NUMPY = {np.dtype(np_type): code for code, np_type in
               ((c, t) for c, t in DTYPES.values() if t is not np.uint16)}


def find_library():
    candidates = []
    if os.environ.get("WEFT_RUNTIME_LIB"):
        candidates.append(os.environ["WEFT_RUNTIME_LIB"])
    for directory in tools.bin_dirs():
        candidates.append(os.path.join(directory, os.pardir, "lib", "libweft_runtime.so"))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.normpath(path)
    raise WeftError("libweft_runtime.so not found (set WEFT_RUNTIME_LIB or WEFT_BIN_DIR)",
                    "not found")


_LIB = None


def library():
    """The loaded runtime library, with argument types declared (loaded once)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    # Global symbols: cuda artifacts call the GPU host ABI the runtime exports.
    lib = ctypes.CDLL(find_library(), mode=ctypes.RTLD_GLOBAL)
    handle, out = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
    i64p = ctypes.POINTER(ctypes.c_int64)
    for name, args, result in [
            ("weftStatusGetCode", [handle], ctypes.c_int),
            ("weftStatusGetMessage", [handle], ctypes.c_char_p),
            ("weftStatusRelease", [handle], None),
            ("weftStatusCodeGetName", [ctypes.c_int], ctypes.c_char_p),
            ("weftParamsOpen", [ctypes.c_char_p, out], handle),
            ("weftParamsRelease", [handle], None),
            ("weftArtifactOpen", [ctypes.c_char_p, out], handle),
            ("weftArtifactRelease", [handle], None),
            ("weftArtifactGetTarget", [handle], ctypes.c_char_p),
            ("weftArtifactGetNumFunctions", [handle], ctypes.c_size_t),
            ("weftArtifactGetFunction", [handle, ctypes.c_size_t], handle),
            ("weftArtifactBindParams", [handle, handle], handle),
            ("weftFunctionGetName", [handle], ctypes.c_char_p),
            ("weftFunctionGetNumInputs", [handle], ctypes.c_size_t),
            ("weftFunctionGetNumParams", [handle], ctypes.c_size_t),
            ("weftFunctionGetNumResults", [handle], ctypes.c_size_t),
            ("weftFunctionGetInputSpec", [handle, ctypes.c_size_t, handle], handle),
            ("weftFunctionGetResultSpec", [handle, ctypes.c_size_t, handle], handle),
            ("weftFunctionBindParams", [handle, handle], handle),
            ("weftTensorWrap", [ctypes.c_int, i64p, ctypes.c_size_t, handle, out], handle),
            ("weftTensorCreateIn", [ctypes.c_int, ctypes.c_int, i64p, ctypes.c_size_t, handle,
                                    out], handle),
            ("weftTensorGetMemory", [handle], ctypes.c_int),
            ("weftTensorRelease", [handle], None),
            ("weftTensorGetDType", [handle], ctypes.c_int),
            ("weftTensorGetRank", [handle], ctypes.c_size_t),
            ("weftTensorGetShape", [handle], i64p),
            ("weftTensorGetByteSize", [handle], ctypes.c_size_t),
            ("weftTensorGetData", [handle], handle),
            ("weftCall", [handle, out, ctypes.c_size_t, out, ctypes.c_size_t], handle)]:
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    _LIB = lib
    return lib


class _TensorSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_size_t), ("shape", ctypes.POINTER(ctypes.c_int64))]


def _check(status):
    if status:
        lib = library()
        message = lib.weftStatusGetMessage(status).decode()
        code = lib.weftStatusCodeGetName(lib.weftStatusGetCode(status)).decode()
        lib.weftStatusRelease(status)
        raise WeftError(message, code)


class Spec:
    """An input or result: dtype name and shape (None for a dynamic dim)."""

    def __init__(self, dtype, shape):
        self.dtype = dtype
        self.shape = tuple(shape)

    def __repr__(self):
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype}[{dims}]"


def _spec(raw):
    return Spec(_BY_CODE[raw.dtype][0],
                [None if raw.shape[i] < 0 else raw.shape[i] for i in range(raw.rank)])


# weftMemory values.
MEMORY = {"host": 0, "cuda": 1}
_MEMORY_NAMES = {code: name for name, code in MEMORY.items()}


def _dtype_code(array, spec_dtype=None):
    """The weftDType of a numpy array (uint16 words are bf16 where the spec
    says so), or None."""
    if spec_dtype == "bf16" and array.dtype == np.uint16:
        return DTYPES["bf16"][0]
    return _FROM_NUMPY.get(array.dtype)


class Tensor:
    """A tensor the runtime owns, in host or CUDA unified memory (`memory`).
    Calls use it in place; `numpy()` copies it out."""

    def __init__(self, handle):
        self._handle = handle
        lib = library()
        rank = lib.weftTensorGetRank(handle)
        self.shape = tuple(lib.weftTensorGetShape(handle)[i] for i in range(rank))
        self.dtype = _BY_CODE[lib.weftTensorGetDType(handle)][0]
        self.memory = _MEMORY_NAMES[lib.weftTensorGetMemory(handle)]

    def numpy(self):
        lib = library()
        size = lib.weftTensorGetByteSize(self._handle)
        data = ctypes.string_at(lib.weftTensorGetData(self._handle), size) if size else b""
        return np.frombuffer(data, dtype=DTYPES[self.dtype][1]).reshape(self.shape).copy()

    def __del__(self):
        if getattr(self, "_handle", None) and _LIB is not None:
            _LIB.weftTensorRelease(self._handle)
            self._handle = None

    def __repr__(self):
        dims = ", ".join(map(str, self.shape))
        return f"Tensor({self.dtype}[{dims}], {self.memory})"


def to_device(array, memory="cuda", bf16=False):
    """A copy of a numpy array as a runtime Tensor in `memory` ("cuda": unified
    memory of the GPU; "host"). bf16=True reads uint16 words as bf16."""
    if memory not in MEMORY:
        raise WeftError(f"unknown memory '{memory}' (expected host or cuda)",
                        "invalid argument")
    array = np.ascontiguousarray(array)
    code = _dtype_code(array, "bf16" if bf16 else None)
    if code is None:
        raise WeftError(f"numpy dtype {array.dtype} has no weft dtype", "invalid argument")
    lib = library()
    shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
    handle = ctypes.c_void_p()
    _check(lib.weftTensorCreateIn(MEMORY[memory], code, shape, array.ndim,
                                  array.ctypes.data, ctypes.byref(handle)))
    return Tensor(handle.value)


class Function:
    """A function of an open artifact; call it with numpy arrays or runtime
    Tensors."""

    def __init__(self, artifact, handle):
        self._artifact = artifact  # keeps the code loaded
        self._handle = handle
        lib = library()
        self.name = lib.weftFunctionGetName(handle).decode()
        self.inputs, self.results = [], []
        for count, getter, specs in (
                (lib.weftFunctionGetNumInputs(handle), lib.weftFunctionGetInputSpec, self.inputs),
                (lib.weftFunctionGetNumResults(handle), lib.weftFunctionGetResultSpec,
                 self.results)):
            for i in range(count):
                raw = _TensorSpec()
                _check(getter(handle, i, ctypes.byref(raw)))
                specs.append(_spec(raw))
        self.num_params = lib.weftFunctionGetNumParams(handle)

    def bind_params(self, path):
        with _Params(path) as params:
            _check(library().weftFunctionBindParams(self._handle, params))

    def __call__(self, *inputs, as_tensors=False):
        """Runs the function. Results are numpy arrays, or with as_tensors=True
        runtime Tensors left where the call wrote them (GPU memory for cuda
        artifacts)."""
        lib = library()
        if len(inputs) != len(self.inputs):
            raise WeftError(f"function '{self.name}': expected {len(self.inputs)} inputs, "
                            f"got {len(inputs)}", "invalid argument")
        arrays = []
        tensors = (ctypes.c_void_p * max(len(inputs), 1))()
        wrapped = []  # the views this call made (Tensors stay with their owner)
        outputs = (ctypes.c_void_p * max(len(self.results), 1))()
        try:
            for i, (value, spec) in enumerate(zip(inputs, self.inputs)):
                if isinstance(value, Tensor):
                    tensors[i] = value._handle
                    continue
                array = np.ascontiguousarray(value)
                code = _dtype_code(array, spec.dtype)
                if code is None:
                    raise WeftError(f"function '{self.name}': input {i}: numpy dtype "
                                    f"{array.dtype} has no weft dtype", "invalid argument")
                arrays.append(array)
                shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
                tensor = ctypes.c_void_p()
                _check(lib.weftTensorWrap(code, shape, array.ndim, array.ctypes.data,
                                          ctypes.byref(tensor)))
                tensors[i] = tensor.value
                wrapped.append(tensor.value)
            _check(lib.weftCall(self._handle, tensors, len(inputs), outputs,
                                len(self.results)))
        finally:
            for tensor in wrapped:
                lib.weftTensorRelease(tensor)
        if as_tensors:
            return [Tensor(tensor) for tensor in outputs[:len(self.results)]]
        results = []
        for tensor in outputs[:len(self.results)]:
            try:
                rank = lib.weftTensorGetRank(tensor)
                shape = tuple(lib.weftTensorGetShape(tensor)[i] for i in range(rank))
                size = lib.weftTensorGetByteSize(tensor)
                _, np_type = _BY_CODE[lib.weftTensorGetDType(tensor)]
                data = ctypes.string_at(lib.weftTensorGetData(tensor), size) if size else b""
                results.append(np.frombuffer(data, dtype=np_type).reshape(shape).copy())
            finally:
                lib.weftTensorRelease(tensor)
        return results


class _Params:
    def __init__(self, path):
        self.handle = ctypes.c_void_p()
        _check(library().weftParamsOpen(os.fsencode(path), ctypes.byref(self.handle)))

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        library().weftParamsRelease(self.handle)


class Artifact:
    """An artifact made by weft-compile, opened through the runtime."""

    def __init__(self, path):
        lib = library()
        self._handle = ctypes.c_void_p()
        _check(lib.weftArtifactOpen(os.fsencode(os.path.abspath(path)),
                                    ctypes.byref(self._handle)))
        self.target = lib.weftArtifactGetTarget(self._handle).decode()
        self.functions = {}
        for i in range(lib.weftArtifactGetNumFunctions(self._handle)):
            function = Function(self, lib.weftArtifactGetFunction(self._handle, i))
            self.functions[function.name] = function

    def bind_params(self, path):
        """Binds every function's params from a safetensors archive."""
        with _Params(path) as params:
            _check(library().weftArtifactBindParams(self._handle, params))

    def __getitem__(self, name):
        if name not in self.functions:
            raise WeftError(f"artifact has no function '{name}' (it has "
                            f"{', '.join(sorted(self.functions))})", "not found")
        return self.functions[name]

    def close(self):
        if self._handle:
            library().weftArtifactRelease(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
