"""Checkpoints: weights, optimizer and loop state as tensors and plain values, written atomically.

A checkpoint loads with `torch.load(weights_only=True)`, which never unpickles code, so a
checkpoint from someone else cannot run anything on your machine. `meta` (the run's config,
vocabularies) travels inside as JSON, so a checkpoint can be used on its own.
"""

import json
from pathlib import Path

import torch
from torch import nn


def save_checkpoint(path: Path, model: nn.Module, optimizer=None, progress: dict | None = None, meta: dict | None = None) -> None:
    """Weights (and optimizer, RNG and loop position for resuming) as tensors and plain values."""
    payload = {"model": model.state_dict(), "meta_json": json.dumps(meta or {})}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    if progress is not None:
        payload["progress"] = progress
    tmp = Path(path).with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint without unpickling code; `meta` comes back as a dict."""
    payload = torch.load(path, map_location=map_location, weights_only=True)
    payload["meta"] = json.loads(payload.pop("meta_json"))
    return payload
