"""weft: Python tools for the weft compiler (pure Python + numpy).

Modules:
  safetensors  read and write parameter archives (validated headers)
"""

__version__ = "0.1.0"
