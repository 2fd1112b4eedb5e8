"""Spec for `transformer.attention`: scaled dot-product attention (eq. 1) and multi-head attention.

Chapter: walkthrough/06_attention.md. Run with `pytest -m attention`.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, key_padding_masks, model_dims, seeds
from torch import nn

from transformer.attention import (
    MultiHeadAttention,
    fused_attention,
    merge_heads,
    scaled_dot_product_attention,
    split_heads,
)

pytestmark = pytest.mark.attention

F64 = torch.float64


# ---------------------------------------------------------------- helpers


def randn(*shape, seed: int = 0, dtype=F64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def assert_close(actual, expected, what: str, **tolerances) -> None:
    """`torch.testing.assert_close`, with the property that broke in front of its diagnostic."""
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def assert_rows_sum_to_one(weights: torch.Tensor, rows: torch.Tensor | None = None) -> None:
    """Every row of `weights` (where `rows` is True) sums to 1; names the first row that does not."""
    sums = weights.sum(dim=-1)
    rows = torch.ones_like(sums, dtype=torch.bool) if rows is None else rows
    wrong = rows & ~torch.isclose(sums, torch.ones_like(sums))
    if wrong.any():
        index = tuple(int(i) for i in wrong.nonzero()[0])
        raise AssertionError(
            f"weights of query {index[-1]} (batch/head index {index[:-1]}) sum to {float(sums[index]):.6g}, "
            f"expected 1: attention must be a weighted *mean* of the values"
        )


def assert_no_nan_weights(weights: torch.Tensor, mask: torch.Tensor) -> None:
    """No weight is NaN; if some are, say which rows and why a row with no real key gives NaN."""
    nan_rows = torch.isnan(weights).any(dim=-1)
    if not nan_rows.any():
        return
    no_key = ~mask.expand_as(weights).any(dim=-1)
    empty = int((nan_rows & no_key).sum())
    raise AssertionError(
        f"the weights are NaN in {int(nan_rows.sum())} of {nan_rows.numel()} query rows, {empty} of them rows whose keys "
        f"are all masked: with -inf on every score of a row, the softmax is 0/0 = NaN. Mask with the dtype's most "
        f"negative finite value, torch.finfo(dtype).min (chapter 04's masked_softmax), and set masked weights to 0"
    )


def random_mask(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """A boolean mask with some True and some False; rows may be entirely False."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.6


def mha_pair(d_model: int, n_heads: int, seed: int) -> tuple[MultiHeadAttention, nn.MultiheadAttention]:
    """Ours and PyTorch's multi-head attention, in float64 and eval, holding the same weights."""
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, n_heads, dropout=0.0, batch_first=True).double().eval()
    with torch.no_grad():
        for parameter in theirs.parameters():  # non-zero biases, so a dropped bias shows
            parameter.add_(0.1 * torch.randn_like(parameter))
    ours = MultiHeadAttention(d_model, n_heads, dropout=0.0).double().eval()
    copy_attention_weights(theirs, ours)
    return ours, theirs


def copy_attention_weights(theirs: nn.MultiheadAttention, ours: MultiHeadAttention) -> None:
    """`in_proj_weight` stacks W^Q, W^K, W^V as three (d_model, d_model) chunks; `out_proj` is W^O."""
    with torch.no_grad():
        for linear, weight, bias in zip(
            (ours.w_q, ours.w_k, ours.w_v), theirs.in_proj_weight.chunk(3), theirs.in_proj_bias.chunk(3)
        ):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        ours.w_o.weight.copy_(theirs.out_proj.weight)
        ours.w_o.bias.copy_(theirs.out_proj.bias)


# ---------------------------------------------------------------- scaled dot-product attention


@given(sizes=distinct_sizes(3), d_head=st.integers(2, 8), seed=seeds())
def test_attention_weights_are_non_negative_and_rows_sum_to_one(sizes, d_head, seed):
    """Softmax turns each query's scores into a probability distribution over the keys."""
    batch, q_seq, kv_seq = sizes
    q, k, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, d_head, seed=seed + 1), randn(batch, kv_seq, 3, seed=seed + 2)
    _, weights = scaled_dot_product_attention(q, k, v)
    assert weights.min() >= 0, f"a weight is negative ({float(weights.min()):.3g}): weights are probabilities"
    assert_rows_sum_to_one(weights)


@given(sizes=distinct_sizes(3), d_head=st.integers(2, 8), seed=seeds())
def test_masked_keys_get_exactly_zero_weight(sizes, d_head, seed):
    """A key the mask forbids contributes nothing, not merely very little; allowed keys still sum to 1."""
    batch, q_seq, kv_seq = sizes
    q, k, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, d_head, seed=seed + 1), randn(batch, kv_seq, 3, seed=seed + 2)
    mask = random_mask((batch, q_seq, kv_seq), seed)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert_no_nan_weights(weights, mask)
    leaked = weights[~mask]
    assert (leaked == 0).all(), f"masked keys got weight up to {float(leaked.abs().max()):.3g}, expected exactly 0"
    assert_rows_sum_to_one(weights, rows=mask.any(dim=-1))


@given(sizes=distinct_sizes(3, min_value=2), d_head=st.integers(2, 8), seed=seeds())
def test_fully_masked_query_gets_zero_weights_and_zero_output(sizes, d_head, seed):
    """A query with no key to attend to gets a defined answer (zeros, no NaN), as PyTorch's kernel gives."""
    batch, q_seq, kv_seq = sizes
    q, k, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, d_head, seed=seed + 1), randn(batch, kv_seq, 3, seed=seed + 2)
    mask = torch.ones(batch, q_seq, kv_seq, dtype=torch.bool)
    mask[0, 1] = False  # query 1 of the first sequence may attend to nothing
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert_no_nan_weights(weights, mask)
    assert torch.isfinite(output).all(), "the output has NaN or inf: an all-masked row must stay finite"
    assert (weights[0, 1] == 0).all(), f"the fully masked query got weights {weights[0, 1].tolist()}, expected all 0"
    assert (output[0, 1] == 0).all(), f"the fully masked query got output {output[0, 1].tolist()}, expected all 0"
    assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), "differs from F.scaled_dot_product_attention")


@given(sizes=distinct_sizes(3, min_value=2), d_head=st.integers(2, 8), seed=seeds(), data=st.data())
def test_permuting_keys_and_values_together_leaves_output_unchanged(sizes, d_head, seed, data):
    """Attention is a weighted sum over a *set* of key/value pairs: their order carries no meaning."""
    batch, q_seq, kv_seq = sizes
    q, k, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, d_head, seed=seed + 1), randn(batch, kv_seq, 3, seed=seed + 2)
    mask = data.draw(key_padding_masks(batch, kv_seq))[:, None, :]
    order = torch.tensor(data.draw(st.permutations(range(kv_seq))))
    output, _ = scaled_dot_product_attention(q, k, v, mask)
    permuted, _ = scaled_dot_product_attention(q, k[:, order], v[:, order], mask[..., order])
    assert_close(permuted, output, f"reordering the keys and values by {order.tolist()} changed the output")


@given(sizes=distinct_sizes(3), d_head=st.integers(2, 8), seed=seeds())
def test_identical_keys_give_the_mean_of_the_values(sizes, d_head, seed):
    """With every score equal, softmax is uniform, so each query gets the plain average of the values."""
    batch, q_seq, kv_seq = sizes
    q, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, 3, seed=seed + 2)
    k = randn(batch, 1, d_head, seed=seed + 1).expand(batch, kv_seq, d_head)
    output, weights = scaled_dot_product_attention(q, k, v)
    assert_close(weights, torch.full_like(weights, 1 / kv_seq), f"identical keys should get weight 1/{kv_seq} each")
    assert_close(output, v.mean(dim=1, keepdim=True).expand_as(output), "identical keys should give the mean of the values")


@given(sizes=distinct_sizes(3), d_head=st.integers(2, 8), seed=seeds())
def test_attention_weights_equal_softmax_of_scores_divided_by_sqrt_d_head(sizes, d_head, seed):
    """Equation (1), computed here with einsum: weights = softmax(Q K^T / sqrt(d_k)), output = weights V."""
    batch, q_seq, kv_seq = sizes
    q, k, v = randn(batch, q_seq, d_head, seed=seed), randn(batch, kv_seq, d_head, seed=seed + 1), randn(batch, kv_seq, 3, seed=seed + 2)
    expected = (torch.einsum("bqd,bkd->bqk", q, k) / math.sqrt(d_head)).softmax(dim=-1)
    output, weights = scaled_dot_product_attention(q, k, v)
    assert_close(weights, expected, f"weights are not softmax(Q K^T / sqrt({d_head}))")
    assert_close(output, torch.einsum("bqk,bkv->bqv", expected, v), "output is not weights @ V")


def test_scores_are_divided_by_sqrt_d_head_worked_example():
    """d_head = 4: q.k1 = 0 and q.k2 = 2 ln 2; divided by sqrt(4) the scores are (0, ln 2), so weights (1/3, 2/3)."""
    q = torch.ones(1, 1, 4, dtype=F64)
    k = torch.stack([torch.zeros(4, dtype=F64), torch.full((4,), math.log(2) / 2, dtype=F64)])[None]
    _, weights = scaled_dot_product_attention(q, k, torch.eye(2, dtype=F64)[None])
    expected = torch.tensor([[[1 / 3, 2 / 3]]], dtype=F64)
    assert_close(weights, expected, "expected softmax((0, 2 ln 2) / sqrt(4)) = (1/3, 2/3); unscaled it would be (1/5, 4/5)")


@given(sizes=distinct_sizes(4), d_head=st.integers(2, 8), seed=seeds(), masked=st.booleans())
def test_scaled_dot_product_attention_matches_torch(sizes, d_head, seed, masked):
    """Our explicit maths gives what `F.scaled_dot_product_attention` gives, with or without a mask."""
    batch, heads, q_seq, kv_seq = sizes
    q = randn(batch, heads, q_seq, d_head, seed=seed)
    k, v = randn(batch, heads, kv_seq, d_head, seed=seed + 1), randn(batch, heads, kv_seq, 5, seed=seed + 2)
    mask = random_mask((batch, 1, q_seq, kv_seq), seed) if masked else None
    output, _ = scaled_dot_product_attention(q, k, v, mask)
    assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), "differs from F.scaled_dot_product_attention")


@given(sizes=distinct_sizes(4), d_head=st.integers(2, 8), seed=seeds())
def test_fused_attention_equals_explicit_attention(sizes, d_head, seed):
    """The fused kernel is a drop-in replacement: same output for the same (masked) inputs."""
    batch, heads, q_seq, kv_seq = sizes
    q = randn(batch, heads, q_seq, d_head, seed=seed)
    k, v = randn(batch, heads, kv_seq, d_head, seed=seed + 1), randn(batch, heads, kv_seq, d_head, seed=seed + 2)
    mask = random_mask((batch, 1, q_seq, kv_seq), seed)
    fused, no_weights = fused_attention(q, k, v, mask)
    assert no_weights is None, "the fused kernel does not compute weights, so it must return None for them"
    assert_close(fused, scaled_dot_product_attention(q, k, v, mask)[0], "fused attention differs from the explicit one")


# ---------------------------------------------------------------- heads


@given(dims=model_dims(), sizes=distinct_sizes(2), seed=seeds())
def test_split_heads_then_merge_heads_is_the_identity(dims, sizes, seed):
    """Splitting d_model into heads and concatenating them back loses and reorders nothing."""
    x = randn(*sizes, dims.d_model, seed=seed)
    assert_close(merge_heads(split_heads(x, dims.n_heads)), x, (
        "merge_heads(split_heads(x)) != x: the two must be inverses, split "
        "'batch seq (heads d_head) -> batch heads seq d_head' and merge the same pattern backwards"), rtol=0, atol=0)


@given(dims=model_dims(), sizes=distinct_sizes(2), seed=seeds())
def test_split_heads_gives_head_h_the_columns_h_times_d_head_onwards(dims, sizes, seed):
    """Head h owns the column block [h*d_head, (h+1)*d_head) of every position: W^Q_h is a column block of w_q."""
    batch, seq = sizes
    x = randn(batch, seq, dims.d_model, seed=seed)
    heads = split_heads(x, dims.n_heads)
    expected_shape = (batch, dims.n_heads, seq, dims.d_head)
    assert heads.shape == expected_shape, (
        f"split_heads gave shape {tuple(heads.shape)}, expected (batch, heads, seq, d_head) = {expected_shape}")
    for h in range(dims.n_heads):
        columns = x[:, :, h * dims.d_head : (h + 1) * dims.d_head]
        assert_close(heads[:, h], columns, (
            f"head {h} is not columns {h * dims.d_head}:{(h + 1) * dims.d_head} of every position: head h holds columns "
            f"h*d_head:(h+1)*d_head of every position, so split the last axis (d_model = heads x d_head), then move "
            f"heads before seq (batch seq (heads d_head) -> batch heads seq d_head); a reshape alone mixes positions"
        ), rtol=0, atol=0)


# ---------------------------------------------------------------- multi-head attention


@given(dims=model_dims(), sizes=distinct_sizes(2, min_value=2), seed=seeds(), data=st.data())
def test_self_attention_is_permutation_equivariant(dims, sizes, seed, data):
    """Without positions, self-attention cannot tell order: permuting the input permutes the output."""
    batch, seq = sizes
    attention = MultiHeadAttention(dims.d_model, dims.n_heads).double().eval()
    x = randn(batch, seq, dims.d_model, seed=seed)
    order = torch.tensor(data.draw(st.permutations(range(seq))))
    output, _ = attention(x, x, x)
    x_permuted = x[:, order]
    permuted, _ = attention(x_permuted, x_permuted, x_permuted)
    assert_close(permuted, output[:, order], f"self-attention of x permuted by {order.tolist()} is not the output permuted")


@given(dims=model_dims(), sizes=distinct_sizes(3), seed=seeds(), data=st.data())
def test_multi_head_attention_matches_torch_multihead_attention(dims, sizes, seed, data):
    """Same weights, same key padding, same answer as `nn.MultiheadAttention` (whose masks mean NOT allowed)."""
    batch, q_seq, kv_seq = sizes
    ours, theirs = mha_pair(dims.d_model, dims.n_heads, seed)
    query, key, value = (randn(batch, n, dims.d_model, seed=seed + i) for i, n in enumerate((q_seq, kv_seq, kv_seq)))
    keep = data.draw(key_padding_masks(batch, kv_seq))
    output, weights = ours(query, key, value, keep[:, None, None, :])
    expected, expected_weights = theirs(query, key, value, key_padding_mask=~keep)  # averages over heads
    assert_close(output, expected, "output differs from nn.MultiheadAttention")
    assert_close(weights.mean(dim=1), expected_weights, "head-averaged weights differ from nn.MultiheadAttention")


@given(dims=model_dims(), sizes=distinct_sizes(2, min_value=2), seed=seeds(), data=st.data())
def test_multi_head_self_attention_with_causal_and_padding_masks_matches_torch(dims, sizes, seed, data):
    """Decoder-style masks: our True-may-attend mask is the negation of torch's attn_mask and key_padding_mask."""
    batch, seq = sizes
    ours, theirs = mha_pair(dims.d_model, dims.n_heads, seed)
    x = randn(batch, seq, dims.d_model, seed=seed)
    keep = data.draw(key_padding_masks(batch, seq))
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    output, weights = ours(x, x, x, keep[:, None, None, :] & causal)
    expected, expected_weights = theirs(x, x, x, key_padding_mask=~keep, attn_mask=~causal, average_attn_weights=False)
    assert_close(output, expected, "masked self-attention differs from nn.MultiheadAttention")
    assert_close(weights, expected_weights, "per-head weights differ from nn.MultiheadAttention")


def test_multi_head_attention_passes_gradcheck():
    """Autograd's gradients through the whole module agree with finite differences (float64, tiny sizes)."""
    attention = MultiHeadAttention(d_model=6, n_heads=2).double()
    query = randn(2, 3, 6, seed=1).requires_grad_()
    key = randn(2, 4, 6, seed=2).requires_grad_()
    value = randn(2, 4, 6, seed=3).requires_grad_()
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])[:, None, None, :]
    assert torch.autograd.gradcheck(lambda q, k, v: attention(q, k, v, mask)[0], (query, key, value)), (
        "multi-head attention: autograd's gradients differ from finite differences")


@given(dims=model_dims(), sizes=distinct_sizes(3), seed=seeds())
def test_multi_head_attention_with_fused_kernel_equals_explicit(dims, sizes, seed):
    """Swapping in `fused_attention` changes the speed, not the answer (it returns no weights)."""
    batch, q_seq, kv_seq = sizes
    explicit = MultiHeadAttention(dims.d_model, dims.n_heads).double().eval()
    fused = MultiHeadAttention(dims.d_model, dims.n_heads, attention=fused_attention).double().eval()
    fused.load_state_dict(explicit.state_dict())
    query, key = randn(batch, q_seq, dims.d_model, seed=seed), randn(batch, kv_seq, dims.d_model, seed=seed + 1)
    mask = random_mask((batch, 1, 1, kv_seq), seed) | (torch.arange(kv_seq) == 0)
    output, weights = fused(query, key, key, mask)
    assert weights is None, f"the fused kernel computes no weights, so MultiHeadAttention must return None, got {weights}"
    assert_close(output, explicit(query, key, key, mask)[0], "fused multi-head attention differs from explicit")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attention_keeps_the_input_dtype(dtype):
    """float32 in gives float32 out, float64 in gives float64 out: no silent up- or down-casting."""
    attention = MultiHeadAttention(8, 2).to(dtype)
    x = torch.randn(2, 3, 8, dtype=dtype)
    output, weights = attention(x, x, x)
    assert output.dtype == dtype and weights.dtype == dtype, f"{dtype} in, got {output.dtype} output and {weights.dtype} weights"


# ---------------------------------------------------------------- errors


def test_wrong_d_model_names_the_expected_shape(runtime_checks):
    """Passing (seq, batch, d) of the wrong width fails at the door with the shape that was expected."""
    attention = MultiHeadAttention(d_model=8, n_heads=2)
    x = torch.randn(7, 3, 6)
    with pytest.raises(ValueError, match=r"query: expected shape \(batch, q_seq, d_model=8\), got \(7, 3, 6\)"):
        attention(x, x, x)


def test_key_with_a_different_batch_names_the_expected_shape(runtime_checks):
    """Keys must come from the same batch as the queries."""
    attention = MultiHeadAttention(d_model=8, n_heads=2)
    with pytest.raises(ValueError, match=r"key: expected shape \(batch=2, kv_seq, d_model=8\), got \(3, 4, 8\)"):
        attention(torch.randn(2, 5, 8), torch.randn(3, 4, 8), torch.randn(3, 4, 8))


def test_d_model_not_divisible_by_n_heads_is_rejected():
    """Each head gets d_model / n_heads columns, so the division must be exact."""
    with pytest.raises(ValueError, match="d_model=10 must be divisible by n_heads=4"):
        MultiHeadAttention(d_model=10, n_heads=4)
