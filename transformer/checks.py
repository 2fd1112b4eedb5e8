"""Input checks that turn a wrong shape or dtype into one clear line.

Public entry points call `expect_shape` before doing any maths, so a learner who passes
`(seq, batch, d_model)` where `(batch, seq, d_model)` was meant reads

    ValueError: query: expected shape (batch, q_seq, d_model=64), got (7, 3, 32)

instead of a traceback from deep inside a matrix multiply.
"""

import torch
from torch import Tensor


def expect_shape(name: str, tensor: Tensor, axes: str, **sizes: int) -> None:
    """Raise ValueError unless `tensor` has one dimension per axis name in `axes`.

    `axes` is a space-separated list of axis names ("batch q_seq d_model"); each keyword in
    `sizes` pins that axis to a value (d_model=64). Unpinned axes may take any size.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    names = axes.split()
    expected = ", ".join(f"{a}={sizes[a]}" if a in sizes else a for a in names)
    actual = tuple(tensor.shape)
    wrong_rank = tensor.dim() != len(names)
    wrong_size = not wrong_rank and any(
        a in sizes and actual[i] != sizes[a] for i, a in enumerate(names)
    )
    if wrong_rank or wrong_size:
        raise ValueError(f"{name}: expected shape ({expected}), got {actual}")


def expect_ids(name: str, ids: Tensor, vocab_size: int) -> None:
    """Raise unless `ids` is an integer tensor of token ids in [0, vocab_size)."""
    if ids.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool):
        raise TypeError(f"{name}: expected integer token ids (torch.long), got dtype {ids.dtype}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"{name}: expected token ids in [0, {vocab_size}), "
            f"got values in [{int(ids.min())}, {int(ids.max())}]"
        )
