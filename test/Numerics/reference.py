"""numpy float64 references of weft op semantics (docs/Spec.md).

Written from the spec, independently of the lowerings.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def softplus(x):
    return np.logaddexp(0.0, x)


UNARY = {
    "silu": silu,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "exp": np.exp,
    "softplus": softplus,
    "neg": lambda x: -x,
    "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "gelu": gelu,
}

ACTIVATION = {
    "none": lambda x: x,
    "silu": silu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}
