"""Batches: encoded pairs -> padded tensors, grouped by length so little padding is needed.

Chapter: walkthrough/01_tokens_and_batches.md. Papers: Sutskever et al. 2014, §3.4 ("we made
sure that all sentences in a minibatch are roughly of the same length, yielding a 2x speedup");
Vaswani et al. 2017, §5.1 ("sentence pairs were batched together by approximate sequence
length. Each training batch contained ... approximately 25000 source tokens and 25000 target
tokens"): our `max_tokens`.

For a pair (x, y) of token-id lists, the tensors are

    src     = x + [EOS]          the encoder's input
    tgt_in  = [BOS] + y          the decoder's input (teacher forcing)
    tgt_out = y + [EOS]          what the decoder must predict: tgt_out[t] follows tgt_in[..t]

each row padded with PAD after its true length, so `padding_mask(src, PAD)` (True = real token)
is the mask attention needs and `tgt_out != PAD` marks the positions the loss counts.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor

from transformer.tasks.vocab import BOS, EOS, PAD

Pair = tuple[list[int], list[int]]  # (source ids, target ids), without specials


@dataclass(frozen=True)
class Batch:
    """One padded batch. Row i holds `pairs[indices[i]]` of the list it was made from."""

    src: Int[Tensor, "batch src_seq"]
    tgt_in: Int[Tensor, "batch tgt_seq"]
    tgt_out: Int[Tensor, "batch tgt_seq"]
    indices: Int[Tensor, " batch"]

    @property
    def size(self) -> int:
        """Number of pairs (rows)."""
        return self.src.shape[0]

    @property
    def n_src_tokens(self) -> int:
        """Real (non-PAD) source tokens, EOS included."""
        return int((self.src != PAD).sum())

    @property
    def n_tgt_tokens(self) -> int:
        """Real target tokens the loss counts: y and its EOS, no padding."""
        return int((self.tgt_out != PAD).sum())

    @property
    def n_pad_tokens(self) -> int:
        """PAD entries of `src` and `tgt_out` together: the work padding wastes."""
        return self.src.numel() + self.tgt_out.numel() - self.n_src_tokens - self.n_tgt_tokens

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch on `device`."""
        return Batch(*(t.to(device) for t in (self.src, self.tgt_in, self.tgt_out, self.indices)))


def _pad(rows: list[list[int]]) -> Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([row + [PAD] * (width - len(row)) for row in rows], dtype=torch.long)


# exercise(tokens): pad (source ids, target ids) pairs into one Batch: src = x EOS, tgt_in = BOS y,
#   tgt_out = y EOS (section "From pairs to tensors").
#   hint: build three lists of rows, one row per pair, and right-pad each list to its own longest
#     row with PAD (_pad does it); indices, when not given, number the pairs from 0. Two inputs are
#     refused with a ValueError: no pairs at all, and a pair that holds PAD among its tokens.
#   hint: src = x + [EOS], tgt_in = [BOS] + y, tgt_out = y + [EOS], each list of rows right-padded
#     with PAD by _pad; indices default to 0..n-1. Refuse an empty list ("at least one pair") and a
#     pair holding PAD ("PAD id 0") with one-line ValueErrors.
def make_batch(pairs: Sequence[Pair], indices: Sequence[int] | None = None) -> Batch:
    """Pad `pairs` into one batch; `indices` (default 0..n-1) say where each pair came from."""
    if len(pairs) == 0:
        raise ValueError("make_batch: expected at least one pair, got none")
    for x, y in pairs:
        if PAD in x or PAD in y:
            raise ValueError(f"make_batch: a pair holds the PAD id {PAD} inside its tokens: {(x, y)}")
    indices = list(range(len(pairs))) if indices is None else list(indices)
    return Batch(
        src=_pad([[*x, EOS] for x, _ in pairs]),
        tgt_in=_pad([[BOS, *y] for _, y in pairs]),
        tgt_out=_pad([[*y, EOS] for _, y in pairs]),
        indices=torch.tensor(indices, dtype=torch.long),
    )


def batch_cost(pairs: Sequence[Pair]) -> int:
    """Padded size of a batch of `pairs`: rows x the longer of src_seq and tgt_seq."""
    return len(pairs) * max(max(len(x), len(y)) + 1 for x, y in pairs)


def make_batches(
    pairs: Sequence[Pair],
    max_tokens: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    sort_by_length: bool = True,
) -> list[Batch]:
    """Group `pairs` into batches; every pair lands in exactly one.

    A batch holds at most `batch_size` pairs and costs at most `max_tokens` padded tokens
    (rows x the longer of src_seq and tgt_seq; a single pair longer than that goes alone);
    give one limit or both. With `sort_by_length` the pairs are ordered by (source length,
    target length) before they are cut into batches, so neighbours in a batch have similar
    lengths and little padding. `shuffle` mixes the pairs before that (stable) sort, so pairs
    of equal length meet different partners, and then mixes the order of the batches.
    The same `seed` gives the same batches; for training pass `seed + epoch`.
    """
    if max_tokens is None and batch_size is None:
        raise ValueError("make_batches: expected max_tokens or batch_size (or both), got neither")
    if max_tokens is not None and max_tokens < 1 or batch_size is not None and batch_size < 1:
        raise ValueError(f"make_batches: expected positive limits, got max_tokens={max_tokens}, batch_size={batch_size}")
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    if shuffle:
        rng.shuffle(order)
    if sort_by_length:
        order.sort(key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    groups: list[list[int]] = []
    group: list[int] = []
    width = 0  # longest padded row (source + EOS or target + BOS) in `group`
    for i in order:
        x, y = pairs[i]
        new_width = max(width, len(x) + 1, len(y) + 1)
        too_many = batch_size is not None and len(group) + 1 > batch_size
        too_big = max_tokens is not None and (len(group) + 1) * new_width > max_tokens
        if group and (too_many or too_big):
            groups.append(group)
            group, new_width = [], max(len(x), len(y)) + 1
        group.append(i)
        width = new_width
    if group:
        groups.append(group)
    if shuffle:
        rng.shuffle(groups)
    return [make_batch([pairs[i] for i in g], g) for g in groups]
