"""Hypothesis strategies shared by the spec, valid by construction.

Sizes are drawn pairwise distinct where a swapped axis could otherwise pass unnoticed
(e.g. `q_seq != kv_seq`, `n_heads != d_head`).
"""

from dataclasses import dataclass

import torch
from hypothesis import strategies as st


@dataclass(frozen=True)
class ModelDims:
    n_heads: int
    d_head: int

    @property
    def d_model(self) -> int:
        return self.n_heads * self.d_head


@st.composite
def model_dims(draw, max_heads: int = 4, max_d_head: int = 8) -> ModelDims:
    """`d_model = n_heads * d_head`, with `n_heads != d_head` so a swapped split shows."""
    n_heads = draw(st.integers(1, max_heads))
    d_head = draw(st.integers(2, max_d_head).filter(lambda d: d != n_heads))
    return ModelDims(n_heads, d_head)


@st.composite
def distinct_sizes(draw, n: int, min_value: int = 1, max_value: int = 7) -> tuple[int, ...]:
    """`n` pairwise-distinct integers, e.g. (batch, q_seq, kv_seq)."""
    return tuple(draw(st.lists(st.integers(min_value, max_value), min_size=n, max_size=n, unique=True)))


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


@st.composite
def lengths(draw, batch: int, max_len: int) -> torch.Tensor:
    """True lengths of a padded batch: each in [1, max_len], and at least one equal to max_len."""
    values = draw(st.lists(st.integers(1, max_len), min_size=batch, max_size=batch))
    values[draw(st.integers(0, batch - 1))] = max_len
    return torch.tensor(values)


@st.composite
def padded_ids(draw, batch: int, max_len: int, vocab: int, pad_id: int = 0) -> torch.Tensor:
    """Token ids in [0, vocab) with `pad_id` only after each sequence's true length.

    Every sequence keeps at least one real token, so a padding mask always leaves a key to attend to.
    """
    true_lengths = draw(lengths(batch, max_len))
    generator = torch.Generator().manual_seed(draw(seeds()))
    ids = torch.randint(0, vocab - 1, (batch, max_len), generator=generator)
    ids = ids + (ids >= pad_id).long()  # shift real tokens past pad_id: real tokens never equal pad_id
    positions = torch.arange(max_len)
    return ids.masked_fill(positions[None, :] >= true_lengths[:, None], pad_id)


def key_padding_masks(batch: int, kv_seq: int) -> st.SearchStrategy[torch.Tensor]:
    """Boolean `(batch, kv_seq)`, True = may attend, never all False in a row."""
    return lengths(batch, kv_seq).map(lambda n: torch.arange(kv_seq)[None, :] < n[:, None])
