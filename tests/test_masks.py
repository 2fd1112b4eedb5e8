"""Spec for `transformer.masks`: padding and causal masks, True = may attend.

Chapter: walkthrough/06_attention.md. Run with `pytest -m attention`.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, padded_ids

from transformer.masks import causal_mask, padding_mask, source_mask, target_mask

pytestmark = pytest.mark.attention


def assert_mask_equal(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    """Same shape and same entries; names the first entry that differs."""
    assert actual.dtype == torch.bool, f"{what}: expected a boolean mask, got dtype {actual.dtype}"
    assert actual.shape == expected.shape, f"{what}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
    wrong = actual != expected
    if wrong.any():
        index = tuple(int(i) for i in wrong.nonzero()[0])
        raise AssertionError(f"{what}: entry {index} is {bool(actual[index])}, expected {bool(expected[index])}")


@given(size=st.integers(1, 12))
def test_causal_mask_is_lower_triangular(size):
    """Query i may attend to key j exactly when j <= i: itself and the past, never the future."""
    expected = torch.tensor([[j <= i for j in range(size)] for i in range(size)])
    assert_mask_equal(causal_mask(size), expected, "causal_mask[i, j] must be (j <= i)")


def test_causal_mask_worked_example():
    """The 3x3 case written out: row i is query i, column j is key j."""
    expected = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    assert_mask_equal(causal_mask(3), expected, "causal_mask(3)")


def test_causal_mask_rejects_an_empty_size():
    """A sequence has at least one position."""
    with pytest.raises(ValueError, match="expected a size >= 1, got 0"):
        causal_mask(0)


@given(sizes=distinct_sizes(2), data=st.data())
def test_padding_mask_is_true_on_real_tokens(sizes, data):
    """True where a real token sits, False on the padding after each sequence's end."""
    batch, seq = sizes
    ids = data.draw(padded_ids(batch, seq, vocab=11, pad_id=3))
    expected = torch.tensor([[int(token) != 3 for token in row] for row in ids])
    assert_mask_equal(padding_mask(ids, pad_id=3), expected, "padding_mask must be True exactly on non-pad tokens")


@given(sizes=distinct_sizes(2), data=st.data())
def test_source_mask_lets_every_query_see_every_real_source_token(sizes, data):
    """Shape (batch, 1, 1, src_seq): the same for every head and every query, False only on padding."""
    batch, src_seq = sizes
    ids = data.draw(padded_ids(batch, src_seq, vocab=9))
    mask = source_mask(ids, pad_id=0)
    assert_mask_equal(mask, (ids != 0)[:, None, None, :], "source_mask")


@given(sizes=distinct_sizes(2), data=st.data())
def test_target_mask_combines_padding_and_causality(sizes, data):
    """Shape (batch, 1, tgt_seq, tgt_seq); entry [b, 0, i, j] is True iff key j is a real token and j <= i."""
    batch, tgt_seq = sizes
    ids = data.draw(padded_ids(batch, tgt_seq, vocab=9, pad_id=1))
    expected = torch.tensor(
        [[[[int(ids[b, j]) != 1 and j <= i for j in range(tgt_seq)] for i in range(tgt_seq)]] for b in range(batch)]
    )
    assert_mask_equal(target_mask(ids, pad_id=1), expected, "target_mask must be (key is real) and (j <= i)")


@given(sizes=distinct_sizes(2), data=st.data())
def test_every_target_query_can_attend_to_the_first_token(sizes, data):
    """Sequences start with a real token, so no row of a target mask is all False (no undefined softmax)."""
    batch, tgt_seq = sizes
    ids = data.draw(padded_ids(batch, tgt_seq, vocab=9))
    mask = target_mask(ids, pad_id=0)
    assert mask[..., 0].all(), "some query cannot attend to position 0"


def test_masks_broadcast_against_attention_scores():
    """Source and target masks broadcast to (batch, heads, q_seq, kv_seq) without copying per head."""
    src, tgt = torch.tensor([[5, 6, 0], [7, 0, 0]]), torch.tensor([[4, 4, 4, 0], [4, 4, 0, 0]])
    heads = 3
    cross = torch.broadcast_shapes(source_mask(src, 0).shape, (2, heads, tgt.shape[1], src.shape[1]))
    self_ = torch.broadcast_shapes(target_mask(tgt, 0).shape, (2, heads, tgt.shape[1], tgt.shape[1]))
    assert (cross, self_) == ((2, heads, 4, 3), (2, heads, 4, 4)), (
        f"source and target masks broadcast to {cross} and {self_}, expected (batch, heads, q_seq, kv_seq) = "
        f"{(2, heads, 4, 3)} and {(2, heads, 4, 4)}")
