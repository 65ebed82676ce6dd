"""Test helpers: random Hugging Face checkpoints and numpy reference models."""
