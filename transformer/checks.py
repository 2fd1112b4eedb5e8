"""Input checks that turn a wrong shape or dtype into one clear line.

Public entry points call `expect_shape` before doing any maths, so a learner who passes
`(seq, batch, d_model)` where `(batch, seq, d_model)` was meant reads

    ValueError: query: expected shape (batch, q_seq, d_model=64), got (7, 3, 32)

instead of a traceback from deep inside a matrix multiply. The same kind of line answers a
tensor of the wrong dtype (`expect_dtype`, `expect_ids`), a mask that is not boolean or does not
broadcast against the attention scores (`expect_mask`), and a size or dropout rate a module
cannot be built with (`expect_sizes`, `expect_positive_int`, `expect_integer`, `expect_probability`).

The checks look at shapes, dtypes and Python numbers only: they never read a tensor's values
(beyond the one range check of `expect_ids`), so they cost next to nothing on every forward.
"""

import math
from collections.abc import Sequence
from numbers import Integral, Real

import torch
from torch import Tensor

# Token ids: `nn.Embedding` takes both. Narrower integer types (uint8 wraps at 256, int16 at
# 32768) and bool are refused rather than silently read as ids.
ID_DTYPES = (torch.long, torch.int32)


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
    """Raise unless `ids` is a tensor of token ids in [0, vocab_size), of dtype torch.long or torch.int32."""
    if not isinstance(ids, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of token ids, got {type(ids).__name__}")
    if ids.dtype not in ID_DTYPES:
        raise TypeError(f"{name}: expected integer token ids (torch.long), got dtype {ids.dtype} "
                        "(torch.int32 is accepted too)")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"{name}: expected token ids in [0, {vocab_size}), "
            f"got values in [{int(ids.min())}, {int(ids.max())}]"
        )


def expect_dtype(name: str, tensor: Tensor, dtype: torch.dtype) -> None:
    """Raise TypeError unless `tensor` has `dtype`, the dtype of the weights it is about to meet.

    Under autocast any floating dtype passes: autocast casts inputs and weights itself.
    """
    if tensor.dtype == dtype:
        return
    if tensor.is_floating_point() and torch.is_autocast_enabled(tensor.device.type):
        return
    raise TypeError(f"{name}: expected dtype {dtype} (the dtype of the weights), got {tensor.dtype}")


def expect_mask(name: str, mask: Tensor | None, target: Sequence[int], axes: str | None = None) -> None:
    """Raise unless `mask` is None or a boolean tensor that broadcasts to `target`, the shape of
    the scores it masks, without enlarging them.

    `axes` names the target's axes for the message ("batch heads q_seq kv_seq"); without it the
    message shows the sizes alone.
    """
    if mask is None:
        return
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}: expected a boolean torch.Tensor (True = may attend) or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name}: expected a boolean mask (True = may attend), got dtype {mask.dtype}")
    target = tuple(target)
    shape = tuple(mask.shape)
    broadcasts = len(shape) <= len(target) and all(
        m == 1 or m == t for m, t in zip(reversed(shape), reversed(target))
    )
    if not broadcasts:
        names = axes.split() if axes is not None else None
        if names is not None and len(names) == len(target):
            wanted = "(" + ", ".join(f"{a}={n}" for a, n in zip(names, target)) + ")"
        else:
            wanted = str(target)
        raise ValueError(f"{name}: expected a mask that broadcasts to the scores {wanted}, got shape {shape}")


def expect_integer(name: str, value: object) -> None:
    """Raise TypeError unless `value` is an integer: a bool or a float such as 4.0 is refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name}: expected a positive integer, got {value!r} ({type(value).__name__})")


def expect_positive_int(name: str, value: object) -> None:
    """Raise unless `value` is an integer >= 1."""
    expect_integer(name, value)
    if value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def expect_sizes(owner: str, **sizes: object) -> None:
    """`expect_positive_int` for each size a constructor takes: `expect_sizes("FFN", d_model=d_model)`."""
    for name, value in sizes.items():
        expect_positive_int(f"{owner}.{name}", value)


def expect_probability(name: str, value: object) -> None:
    """Raise unless `value` is a real number in [0, 1): a dropout rate (1 would drop everything)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a probability in [0, 1), got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
