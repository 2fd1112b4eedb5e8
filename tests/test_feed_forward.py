"""Spec for `transformer.feed_forward`: FFN(x) = max(0, x W_1 + b_1) W_2 + b_2 at every position (eq. 2).

Chapter: walkthrough/07_encoder.md. Run with `pytest -m encoder`.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, seeds

from transformer.feed_forward import PositionwiseFeedForward

pytestmark = pytest.mark.encoder

F64 = torch.float64


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def make(d_model: int, d_ff: int, seed: int) -> PositionwiseFeedForward:
    torch.manual_seed(seed)
    return PositionwiseFeedForward(d_model, d_ff).double().eval()


@given(sizes=distinct_sizes(4, min_value=2), seed=seeds(), data=st.data())
def test_feed_forward_acts_on_each_position_independently(sizes, seed, data):
    """Changing the input at position j changes the output at j only: no information flows between positions."""
    batch, seq, d_model, d_ff = sizes
    ffn = make(d_model, d_ff, seed)
    x = torch.randn(batch, seq, d_model, dtype=F64)
    j = data.draw(st.integers(0, seq - 1))
    changed = x.clone()
    changed[:, j] = torch.randn(batch, d_model, dtype=F64)
    others = [i for i in range(seq) if i != j]
    assert_close(ffn(changed)[:, others], ffn(x)[:, others], f"changing position {j} changed other positions")


@given(sizes=distinct_sizes(4), seed=seeds())
def test_feed_forward_equals_applying_it_to_each_position_alone(sizes, seed):
    """Running the whole sequence at once is the same as running each position as a sequence of length 1."""
    batch, seq, d_model, d_ff = sizes
    ffn = make(d_model, d_ff, seed)
    x = torch.randn(batch, seq, d_model, dtype=F64)
    one_by_one = torch.cat([ffn(x[:, i : i + 1]) for i in range(seq)], dim=1)
    assert_close(ffn(x), one_by_one, "the sequence at once differs from position by position")


@given(sizes=distinct_sizes(4), seed=seeds())
def test_feed_forward_is_equation_2(sizes, seed):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, computed here with explicit matrices (nn.Linear stores W^T)."""
    batch, seq, d_model, d_ff = sizes
    ffn = make(d_model, d_ff, seed)
    x = torch.randn(batch, seq, d_model, dtype=F64)
    w_1, b_1, w_2, b_2 = ffn.w_1.weight.T, ffn.w_1.bias, ffn.w_2.weight.T, ffn.w_2.bias
    expected = torch.clamp(x @ w_1 + b_1, min=0) @ w_2 + b_2
    assert_close(ffn(x), expected, "differs from max(0, x W_1 + b_1) W_2 + b_2")


def test_hidden_layer_has_d_ff_units():
    """The inner layer widens to d_ff (the paper: 2048 = 4 x 512) and comes back to d_model."""
    ffn = PositionwiseFeedForward(d_model=6, d_ff=10)
    shapes = (tuple(ffn.w_1.weight.shape), tuple(ffn.w_2.weight.shape))
    assert shapes == ((10, 6), (6, 10)), (
        f"w_1 and w_2 weights are {shapes}, expected (d_ff, d_model) = (10, 6) and (d_model, d_ff) = (6, 10)")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_feed_forward_keeps_the_dtype(dtype):
    """float32 in, float32 out; float64 in, float64 out."""
    output = PositionwiseFeedForward(4, 8).to(dtype)(torch.randn(2, 3, 4, dtype=dtype))
    assert output.dtype == dtype, f"{dtype} in, {output.dtype} out"


def test_wrong_d_model_names_the_expected_shape(runtime_checks):
    """(seq, d_model) without the batch axis, or the wrong width, is refused with the expected shape."""
    ffn = PositionwiseFeedForward(d_model=4, d_ff=8)
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, seq, d_model=4\), got \(3, 4\)"):
        ffn(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, seq, d_model=4\), got \(2, 3, 5\)"):
        ffn(torch.randn(2, 3, 5))
