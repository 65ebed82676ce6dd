"""Reading a Hugging Face checkpoint directory: config.json and the weights
(model.safetensors, or shards listed by model.safetensors.index.json).

Tensors are read lazily: shapes come from the safetensors headers, data only
when a parameter archive is written.
"""

import json
import os

import numpy as np

from weft import safetensors


class HFError(ValueError):
    """A checkpoint, config or adapter weft cannot import; one-line message."""



def _special_float(value):
    """transformers (5.x) writes non-finite floats as {"__float__": "Infinity"}
    (JSON has no literal for them)."""
    if set(value) == {"__float__"} and value["__float__"] in ("Infinity", "-Infinity", "NaN"):
        return float(value["__float__"].lower().replace("infinity", "inf"))
    return value


def read_json(path, what):
    if not os.path.isfile(path):
        raise HFError(f"{path}: {what} not found")
    try:
        with open(path) as f:
            data = json.load(f, object_hook=_special_float)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HFError(f"{path}: cannot read {what}: {e}") from None
    if not isinstance(data, dict):
        raise HFError(f"{path}: {what} is not a JSON object")
    return data


def to_float32(tensor):
    """A safetensors.Tensor's value as float32 (BF16 words widened exactly)."""
    if tensor.dtype == "BF16":
        return (tensor.data.astype(np.uint32) << 16).view(np.float32)
    if tensor.dtype in ("F32", "F16", "F64"):
        return tensor.data.astype(np.float32)
    raise HFError(f"tensor has dtype {tensor.dtype}, expected a float type")


class TensorFiles:
    """Tensors spread over safetensors files, looked up by name."""

    def __init__(self, files):
        self._where = {}     # name -> (path, header entry)
        self._loaded = {}    # path -> tensors
        for path in files:
            try:
                header, _, _ = safetensors.read_header(path)
            except safetensors.SafetensorsError as e:
                raise HFError(str(e)) from None
            for name, entry in header.items():
                self._where[name] = (path, entry)

    def __contains__(self, name):
        return name in self._where

    def names(self):
        return list(self._where)

    def shape(self, name):
        return tuple(self._where[name][1]["shape"])

    def path(self, name):
        return self._where[name][0]

    def dtype(self, name):
        """The safetensors dtype name ("F32", "BF16", ...)."""
        return self._where[name][1]["dtype"]

    def get(self, name):
        """The tensor as float32."""
        path = self._where[name][0]
        if path not in self._loaded:
            try:
                self._loaded[path], _ = safetensors.load(path)
            except safetensors.SafetensorsError as e:
                raise HFError(str(e)) from None
        try:
            return to_float32(self._loaded[path][name])
        except HFError as e:
            raise HFError(f"{path}: tensor '{name}': {e}") from None


class Checkpoint:
    """config.json plus weights of one model directory."""

    def __init__(self, directory):
        if not os.path.isdir(directory):
            raise HFError(f"{directory}: not a directory")
        self.directory = directory
        self.config = read_json(os.path.join(directory, "config.json"), "config.json")
        single = os.path.join(directory, "model.safetensors")
        index = os.path.join(directory, "model.safetensors.index.json")
        if os.path.isfile(single):
            files = [single]
        elif os.path.isfile(index):
            weight_map = read_json(index, "safetensors index").get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise HFError(f"{index}: no 'weight_map'")
            files = []
            for shard in weight_map.values():
                path = os.path.join(directory, str(shard))
                if not os.path.isfile(path):
                    raise HFError(f"{index}: shard {shard} not found")
                if path not in files:
                    files.append(path)
        else:
            raise HFError(f"{directory}: no model.safetensors or "
                          "model.safetensors.index.json")
        self.tensors = TensorFiles(files)
