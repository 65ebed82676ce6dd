"""Hugging Face importer: config.json + safetensors (+ peft LoRA adapters) to
a weft module with prefill and decode entry points (see importer.py)."""

from weft.hf.checkpoint import HFError  # noqa: F401
from weft.hf.importer import ImportedModel, import_model  # noqa: F401
