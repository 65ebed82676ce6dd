"""weft: Python tools for the weft compiler (pure Python + numpy).

Modules:
  safetensors  read and write parameter archives (validated headers)
  params       random parameters for a module, int4 packing
  ir           builder that writes weft IR text
  tools        finds and runs weft-opt / weft-compile
  runtime      ctypes binding to libweft_runtime.so
  hf           Hugging Face importer, compilation, generation
  testing      random HF-layout checkpoints, numpy reference models

docs/Python.md describes the command line (python3 -m weft) and the importer.
"""

__version__ = "0.1.0"
