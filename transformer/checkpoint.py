"""Checkpoints: weights, optimizer and loop state as tensors and plain values, written atomically.

A checkpoint loads with `torch.load(weights_only=True)`, which never unpickles code, so a
checkpoint from someone else cannot run anything on your machine. `meta` (the run's config,
vocabularies) travels inside as JSON, so a checkpoint can be used on its own.
"""

import json
from pathlib import Path

import torch
from torch import nn


def _write_atomically(path: Path, write) -> None:
    """`write(tmp)` then rename over `path`: a reader sees the old file or the new one, never half of
    one. A failed write (a full disk) removes the temporary file and says so in one line."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        raise OSError(f"could not write {path}: {reason}; the previous {path.name} (if any) is unchanged") from None


def save_checkpoint(path: Path, model: nn.Module, optimizer=None, progress: dict | None = None, meta: dict | None = None) -> None:
    """Weights (and optimizer, RNG and loop position for resuming) as tensors and plain values."""
    payload = {"model": model.state_dict(), "meta_json": json.dumps(meta or {})}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    if progress is not None:
        payload["progress"] = progress
    _write_atomically(path, lambda tmp: torch.save(payload, tmp))


def write_json(path: Path, value) -> None:
    """`value` as indented JSON at `path`, written atomically like a checkpoint."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    _write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint without unpickling code; `meta` comes back as a dict.

    A file that is not a checkpoint of this package (empty, cut short, damaged, someone else's,
    a pickle that would run code) is refused with one line saying what the file is not.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing checkpoint {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty, not a checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile and pickle errors
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: not a checkpoint this package can read ({type(error).__name__}: {reason[:160]})") from None
    if not isinstance(payload, dict) or "model" not in payload:
        raise ValueError(f"{path}: not a checkpoint of this package (expected a dict with the model's weights)")
    if "meta_json" not in payload:
        raise ValueError(f"{path}: the checkpoint has no run description (meta_json); it was not written by `transformer train`")
    try:
        payload["meta"] = json.loads(payload.pop("meta_json"))
    except (TypeError, json.JSONDecodeError):
        raise ValueError(f"{path}: the checkpoint's run description (meta_json) is not valid JSON") from None
    return payload
