"""Spec for `transformer.embedding`: token ids -> table rows, scaled by sqrt(d_model) (§3.4).

Chapter: walkthrough/05_embeddings_and_positions.md. Run with `pytest -m embeddings`.
"""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, padded_ids

from transformer.embedding import TokenEmbedding
from transformer.model import TransformerConfig, build_transformer

pytestmark = pytest.mark.embeddings


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


@given(sizes=distinct_sizes(2), d_model=st.integers(1, 16), vocab=st.integers(2, 20), data=st.data())
def test_embedding_is_table_row_times_sqrt_d_model(sizes, d_model, vocab, data):
    """Each id looks up its row of the table, multiplied by sqrt(d_model) so it is not drowned by the positions."""
    batch, seq = sizes
    embedding = TokenEmbedding(vocab, d_model).double()
    ids = data.draw(padded_ids(batch, seq, vocab))
    output = embedding(ids)
    for b in range(batch):
        for s in range(seq):
            row = embedding.table.weight[ids[b, s]] * math.sqrt(d_model)
            assert_close(output[b, s], row, f"position ({b}, {s}), id {int(ids[b, s])}: not table row x sqrt({d_model})")


def test_sqrt_d_model_scale_worked_example():
    """d_model = 4: a row of ones comes out as twos."""
    embedding = TokenEmbedding(vocab_size=3, d_model=4, pad_id=None)
    with torch.no_grad():
        embedding.table.weight.fill_(1.0)
    output = embedding(torch.tensor([[2]]))
    assert output.tolist() == [[[2.0, 2.0, 2.0, 2.0]]], f"expected 1 x sqrt(4) = 2 everywhere, got {output.tolist()}"


def test_padding_row_gets_no_gradient():
    """However often padding appears, the pad row's gradient is zero: padding teaches the model nothing."""
    embedding = TokenEmbedding(vocab_size=7, d_model=5, pad_id=2)
    ids = torch.tensor([[1, 3, 2, 2], [4, 2, 2, 2]])
    (embedding(ids) ** 2).sum().backward()
    gradient = embedding.table.weight.grad
    assert (gradient[2] == 0).all(), f"the pad row got gradient {gradient[2].tolist()}, expected zeros"
    assert gradient[[1, 3, 4]].abs().sum() > 0, "real tokens must get a gradient"


@pytest.mark.parametrize("src_pad_id, tgt_pad_id", [(0, 0), (3, 1)])
def test_padding_row_starts_at_zero_after_build_transformer(src_pad_id, tgt_pad_id):
    """Xavier initialisation overwrites every matrix, so the factory must zero the pad rows again."""
    config = TransformerConfig.tiny(11, 13, src_pad_id=src_pad_id, tgt_pad_id=tgt_pad_id)
    model = build_transformer(config)
    for name, embedding, pad in (("src", model.src_embed, src_pad_id), ("tgt", model.tgt_embed, tgt_pad_id)):
        row = embedding.table.weight[pad]
        assert (row == 0).all(), f"{name} pad row {pad} starts at {row[:4].tolist()}..., expected zeros"


@pytest.mark.parametrize("bad_id", [-1, 10, 11])
def test_out_of_range_ids_raise_a_clear_error(bad_id, runtime_checks):
    """An id outside the vocabulary names the valid range, instead of an index error deep in torch."""
    embedding = TokenEmbedding(vocab_size=10, d_model=4)
    with pytest.raises(ValueError, match=r"ids: expected token ids in \[0, 10\)"):
        embedding(torch.tensor([[1, bad_id]]))


def test_float_ids_raise_a_clear_error(runtime_checks):
    """Ids are integers; a float tensor is almost always embeddings passed by mistake."""
    embedding = TokenEmbedding(vocab_size=10, d_model=4)
    with pytest.raises(TypeError, match=r"expected integer token ids \(torch.long\), got dtype torch.float32"):
        embedding(torch.tensor([[1.0, 2.0]]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_embedding_output_has_the_table_dtype(dtype):
    """The output dtype is the table's: float32 by default, float64 after `.double()`."""
    embedding = TokenEmbedding(vocab_size=10, d_model=4).to(dtype)
    output = embedding(torch.tensor([[1, 2, 3]]))
    assert output.dtype == dtype, f"table in {dtype}, output in {output.dtype}"
