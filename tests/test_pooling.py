"""Spec for pooling: one sentence vector from the real positions only.

Chapter: walkthrough/12_sentence_classification.md. Run with `pytest -m classification`.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import lengths, seeds

from transformer.pooling import POOLINGS, max_pool, mean_pool, pool

pytestmark = pytest.mark.classification


@st.composite
def padded_vectors(draw):
    """(x, mask): a batch of vectors whose padded positions hold large garbage."""
    batch, seq, d = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    true_lengths = draw(lengths(batch, seq))
    generator = torch.Generator().manual_seed(draw(seeds()))
    x = torch.randn(batch, seq, d, generator=generator, dtype=torch.float64)
    mask = torch.arange(seq)[None, :] < true_lengths[:, None]
    return x.masked_fill(~mask[..., None], 1e6), mask, true_lengths


@given(data=padded_vectors())
def test_mean_and_max_pool_are_those_of_the_real_positions(data):
    """Written out row by row: the mean and the max of the first n vectors, padding never counted."""
    x, mask, n = data
    for b in range(x.shape[0]):
        real = x[b, : n[b]]
        torch.testing.assert_close(mean_pool(x, mask)[b], real.mean(0), msg=lambda m: f"row {b}: mean pool {m}")
        torch.testing.assert_close(max_pool(x, mask)[b], real.amax(0), msg=lambda m: f"row {b}: max pool {m}")


@given(data=padded_vectors(), extra=st.integers(1, 4), how=st.sampled_from(POOLINGS))
def test_more_padding_changes_no_pooled_vector(data, extra, how):
    """However much padding the batch adds, every sentence's vector stays the same."""
    x, mask, _ = data
    wider = torch.cat([x, torch.full((x.shape[0], extra, x.shape[2]), -7.0, dtype=x.dtype)], dim=1)
    wider_mask = torch.cat([mask, torch.zeros(x.shape[0], extra, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(pool(wider, wider_mask, how), pool(x, mask, how),
                               msg=lambda m: f"pooling {how!r} changed with padding: {m}")


@given(data=padded_vectors())
def test_last_is_each_rows_last_real_position_and_first_its_first(data):
    x, mask, n = data
    for b in range(x.shape[0]):
        assert torch.equal(pool(x, mask, "last")[b], x[b, n[b] - 1]), f"row {b}: 'last' is not position {n[b] - 1}"
        assert torch.equal(pool(x, mask, "first")[b], x[b, 0]), f"row {b}: 'first' is not position 0"


def test_an_unknown_pooling_is_named():
    with pytest.raises(ValueError, match="expected one of first, last, mean, max"):
        pool(torch.zeros(1, 2, 3), torch.ones(1, 2, dtype=torch.bool), "median")
