"""Hugging Face importer: config.json + safetensors (+ peft LoRA adapters) to
a weft module with prefill and decode entry points (see importer.py)."""

from weft.hf.checkpoint import HFError
from weft.hf.importer import ImportedModel, import_model

__all__ = ["HFError", "ImportedModel", "import_model"]
