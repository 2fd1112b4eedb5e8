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




# exercise(tokens): pad (source ids, target ids) pairs into one Batch: src = x EOS, tgt_in = BOS y,
#   tgt_out = y EOS (section "From pairs to tensors").
#   hint: build three lists of rows, one row per pair, and right-pad each list to its own longest
#     row with PAD (pad_rows does it); indices, when not given, number the pairs from 0. Two inputs
#     are refused with a ValueError: no pairs at all, and a pair that holds PAD among its tokens.
#   hint: src = x + [EOS], tgt_in = [BOS] + y, tgt_out = y + [EOS], each list of rows right-padded
#     with PAD by pad_rows; indices default to 0..n-1. Refuse an empty list ("at least one pair")
#     and a pair holding PAD ("PAD id 0") with one-line ValueErrors.
def make_batch(pairs: Sequence[Pair], indices: Sequence[int] | None = None) -> Batch:
    """Pad `pairs` into one batch; `indices` (default 0..n-1) say where each pair came from."""
    if len(pairs) == 0:
        raise ValueError("make_batch: expected at least one pair, got none")
    for x, y in pairs:
        if PAD in x or PAD in y:
            raise ValueError(f"make_batch: a pair holds the PAD id {PAD} inside its tokens: {(x, y)}")
    indices = list(range(len(pairs))) if indices is None else list(indices)
    return Batch(
        src=pad_rows([[*x, EOS] for x, _ in pairs]),
        tgt_in=pad_rows([[BOS, *y] for _, y in pairs]),
        tgt_out=pad_rows([[*y, EOS] for _, y in pairs]),
        indices=torch.tensor(indices, dtype=torch.long),
    )


def batch_cost(pairs: Sequence[Pair]) -> int:
    """Padded size of a batch of `pairs`: rows x the longer of src_seq and tgt_seq."""
    return len(pairs) * max(max(len(x), len(y)) + 1 for x, y in pairs)


def length_groups(
    widths: Sequence[int],
    sort_keys: Sequence | None = None,
    max_tokens: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    sort_by_length: bool = True,
) -> list[list[int]]:
    """Cut items 0..n-1 into groups (batches) of similar length; every item lands in exactly one.

    `widths[i]` is how wide item i's padded row is; a group costs rows x its widest row. A group
    holds at most `batch_size` items and costs at most `max_tokens` (a single item wider than that
    goes alone); give one limit or both. With `sort_by_length` the items are ordered by
    `sort_keys[i]` (default: the width) before they are cut, so neighbours in a group have similar
    lengths and little padding. `shuffle` mixes the items before that (stable) sort, so items of
    equal length meet different partners, and then mixes the order of the groups. The same `seed`
    gives the same groups; for training pass `seed + epoch`. Every task shape batches with this.
    """
    if max_tokens is None and batch_size is None:
        raise ValueError("make_batches: expected max_tokens or batch_size (or both), got neither")
    for name, value in (("max_tokens", max_tokens), ("batch_size", batch_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"make_batches: expected positive limits (integers >= 1), got {name}={value!r}")
    keys = widths if sort_keys is None else sort_keys
    rng = random.Random(seed)
    order = list(range(len(widths)))
    if shuffle:
        rng.shuffle(order)
    if sort_by_length:
        order.sort(key=lambda i: keys[i])
    groups: list[list[int]] = []
    group: list[int] = []
    width = 0  # widest padded row in `group`
    for i in order:
        new_width = max(width, widths[i])
        too_many = batch_size is not None and len(group) + 1 > batch_size
        too_big = max_tokens is not None and (len(group) + 1) * new_width > max_tokens
        if group and (too_many or too_big):
            groups.append(group)
            group, new_width = [], widths[i]
        group.append(i)
        width = new_width
    if group:
        groups.append(group)
    if shuffle:
        rng.shuffle(groups)
    return groups


def check_pad_multiple(value, where: str) -> None:
    """Refuse a `pad_multiple` that is not an integer >= 1, in one line naming `where` it came."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: expected pad_multiple to be an integer >= 1, got {value!r}")


def round_up(width: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is at least `width`."""
    return -(-width // multiple) * multiple


def pad_batch(batch: Batch, multiple: int) -> Batch:
    """`batch` with PAD columns added on the right, so that every sequence axis is a multiple of
    `multiple` long. Masks and the loss ignore PAD, so a model computes the same on both; what
    changes is how many different tensor shapes a run meets (fewer kernels to keep, see `make_batches`)."""
    def widen(t: Tensor) -> Tensor:
        extra = round_up(t.shape[1], multiple) - t.shape[1]
        return torch.nn.functional.pad(t, (0, extra), value=PAD) if extra else t

    return Batch(widen(batch.src), widen(batch.tgt_in), widen(batch.tgt_out), batch.indices)


def make_batches(
    pairs: Sequence[Pair],
    max_tokens: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    sort_by_length: bool = True,
    pad_multiple: int = 1,
) -> list[Batch]:
    """Group `pairs` into batches; every pair lands in exactly one.

    A batch holds at most `batch_size` pairs and costs at most `max_tokens` padded tokens
    (rows x the longer of src_seq and tgt_seq; a single pair longer than that goes alone);
    give one limit or both. With `sort_by_length` the pairs are ordered by (source length,
    target length) before they are cut into batches, so neighbours in a batch have similar
    lengths and little padding. `shuffle` mixes the pairs before that (stable) sort, so pairs
    of equal length meet different partners, and then mixes the order of the batches.
    The same `seed` gives the same batches; for training pass `seed + epoch`.

    With `pad_multiple` m > 1 every sequence axis is padded up to a multiple of m (and a batch's
    cost counted at that width), so batches come in far fewer shapes: a CPU's kernel library
    (oneDNN) keeps compiled bfloat16 kernels per shape, which is where much of a long run's
    memory goes (BENCHMARKS.md).
    """
    check_pad_multiple(pad_multiple, "make_batches")
    widths = [round_up(max(len(x), len(y)) + 1, pad_multiple) for x, y in pairs]  # source + EOS, or BOS + target
    keys = [(len(x), len(y)) for x, y in pairs]
    groups = length_groups(widths, keys, max_tokens, batch_size, shuffle, seed, sort_by_length)
    batches = [make_batch([pairs[i] for i in g], g) for g in groups]
    return batches if pad_multiple == 1 else [pad_batch(b, pad_multiple) for b in batches]


def pad_rows(rows: Sequence[Sequence[int]], width: int | None = None, value: int = PAD) -> Tensor:
    """Right-pad lists of ids to one width (default: the longest) as a (rows, width) long tensor."""
    width = max((len(row) for row in rows), default=0) if width is None else width
    return torch.tensor([list(row) + [value] * (width - len(row)) for row in rows], dtype=torch.long)
