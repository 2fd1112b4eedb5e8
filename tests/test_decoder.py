"""Spec for `transformer.decoder`: masked self-attention, cross-attention, feed-forward; the stack.

Chapter: walkthrough/08_decoder_and_model.md. Run with `pytest -m decoder`.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_attention, perturb_
from strategies import distinct_sizes, key_padding_masks, model_dims, seeds
from torch import nn

from transformer.decoder import Decoder, DecoderLayer

pytestmark = pytest.mark.decoder

F64 = torch.float64


# ---------------------------------------------------------------- helpers


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def causal(size: int) -> torch.Tensor:
    """(1, 1, size, size), True where j <= i. Written out here, so a broken `causal_mask` cannot hide a broken decoder."""
    return torch.ones(size, size, dtype=torch.bool).tril()[None, None]


def copy_decoder_layer(theirs: nn.TransformerDecoderLayer, ours: DecoderLayer) -> None:
    """torch's names -> ours: multihead_attn -> cross_attn; norm1, norm2, norm3 -> self, cross, ff residuals."""
    with torch.no_grad():
        copy_attention(theirs.self_attn, ours.self_attn)
        copy_attention(theirs.multihead_attn, ours.cross_attn)
        ours.feed_forward.w_1.load_state_dict(theirs.linear1.state_dict())
        ours.feed_forward.w_2.load_state_dict(theirs.linear2.state_dict())
        ours.self_residual.norm.load_state_dict(theirs.norm1.state_dict())
        ours.cross_residual.norm.load_state_dict(theirs.norm2.state_dict())
        ours.ff_residual.norm.load_state_dict(theirs.norm3.state_dict())


def decoder(dims, n_layers: int, seed: int, norm_first: bool = False) -> Decoder:
    torch.manual_seed(seed)
    return Decoder(n_layers, dims.d_model, dims.n_heads, d_ff=10, dropout=0.0, norm_first=norm_first).double().eval()


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@given(dims=model_dims(), sizes=distinct_sizes(3), d_ff=st.integers(3, 12), seed=seeds(), data=st.data())
def test_decoder_layer_matches_torch_decoder_layer(norm_first, dims, sizes, d_ff, seed, data):
    """Same weights, causal + padding masks on the target, padding on the memory: same as nn.TransformerDecoderLayer."""
    batch, tgt_seq, src_seq = sizes
    torch.manual_seed(seed)
    theirs = nn.TransformerDecoderLayer(dims.d_model, dims.n_heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = perturb_(theirs.double().eval(), seed)
    ours = DecoderLayer(dims.d_model, dims.n_heads, d_ff, dropout=0.0, norm_first=norm_first).double().eval()
    copy_decoder_layer(theirs, ours)
    x, memory = randn(batch, tgt_seq, dims.d_model, seed=seed), randn(batch, src_seq, dims.d_model, seed=seed + 1)
    tgt_keep, src_keep = data.draw(key_padding_masks(batch, tgt_seq)), data.draw(key_padding_masks(batch, src_seq))
    expected = theirs(
        x, memory, tgt_mask=~causal(tgt_seq)[0, 0], tgt_key_padding_mask=~tgt_keep, memory_key_padding_mask=~src_keep
    )
    output, cross_weights = ours(x, memory, src_keep[:, None, None, :], tgt_keep[:, None, None, :] & causal(tgt_seq))
    assert_close(output, expected, f"DecoderLayer(norm_first={norm_first}) differs from nn.TransformerDecoderLayer")
    assert cross_weights.shape == (batch, dims.n_heads, tgt_seq, src_seq), f"cross weights {tuple(cross_weights.shape)}"


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_stack_with_final_norm_matches_torch_decoder(norm_first):
    """N layers, then the final LayerNorm, as `nn.TransformerDecoder(norm=LayerNorm)`."""
    d_model, n_heads, d_ff, n_layers = 6, 3, 10, 2
    layer = nn.TransformerDecoderLayer(d_model, n_heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = perturb_(nn.TransformerDecoder(layer, n_layers, norm=nn.LayerNorm(d_model)).double().eval(), seed=5)
    ours = Decoder(n_layers, d_model, n_heads, d_ff, dropout=0.0, norm_first=norm_first, final_norm=True).double().eval()
    for their_layer, our_layer in zip(theirs.layers, ours.layers):
        copy_decoder_layer(their_layer, our_layer)
    ours.norm.load_state_dict(theirs.norm.state_dict())
    x, memory = randn(2, 4, d_model, seed=1), randn(2, 3, d_model, seed=2)
    src_keep = torch.tensor([[True, True, True], [True, False, False]])
    output, weights = ours(x, memory, src_keep[:, None, None, :], causal(4), return_weights=True)
    expected = theirs(x, memory, tgt_mask=~causal(4)[0, 0], memory_key_padding_mask=~src_keep)
    assert_close(output, expected, "Decoder differs from nn.TransformerDecoder")
    assert len(weights) == n_layers, f"expected one cross-attention weight tensor per layer, got {len(weights)}"


# ---------------------------------------------------------------- masking


@given(dims=model_dims(), sizes=distinct_sizes(3, min_value=2), seed=seeds(), data=st.data())
def test_decoder_output_at_t_independent_of_future_targets(dims, sizes, seed, data):
    """With the causal mask, position t sees targets 0..t only: rewriting targets after t leaves it unchanged."""
    batch, tgt_seq, src_seq = sizes
    stack = decoder(dims, n_layers=2, seed=seed)
    x, memory = randn(batch, tgt_seq, dims.d_model, seed=seed), randn(batch, src_seq, dims.d_model, seed=seed + 1)
    t = data.draw(st.integers(0, tgt_seq - 2))
    future_changed = x.clone()
    future_changed[:, t + 1 :] = randn(batch, tgt_seq - t - 1, dims.d_model, seed=seed + 2)
    before, after = stack(x, memory, None, causal(tgt_seq)), stack(future_changed, memory, None, causal(tgt_seq))
    assert_close(after[:, : t + 1], before[:, : t + 1], f"changing targets after position {t} changed outputs at 0..{t}")


@given(dims=model_dims(), sizes=distinct_sizes(3, min_value=2), seed=seeds(), data=st.data())
def test_padded_memory_does_not_affect_the_decoder(dims, sizes, seed, data):
    """Cross-attention gives padded source positions zero weight, so their memory vectors cannot matter."""
    batch, tgt_seq, src_seq = sizes
    stack = decoder(dims, n_layers=2, seed=seed)
    x, memory = randn(batch, tgt_seq, dims.d_model, seed=seed), randn(batch, src_seq, dims.d_model, seed=seed + 1)
    src_keep = data.draw(key_padding_masks(batch, src_seq))
    garbage = torch.where(src_keep[..., None], memory, randn(batch, src_seq, dims.d_model, seed=seed + 2))
    src_mask = src_keep[:, None, None, :]
    assert_close(stack(x, garbage, src_mask, causal(tgt_seq)), stack(x, memory, src_mask, causal(tgt_seq)),
                 "changing padded memory positions changed the decoder's output")


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@given(dims=model_dims(), sizes=distinct_sizes(3), seed=seeds(), data=st.data())
def test_layer_step_with_cache_equals_the_causal_forward_pass(norm_first, dims, sizes, seed, data):
    """One position at a time with cached keys/values gives what the whole causal pass gives at each position."""
    batch, tgt_seq, src_seq = sizes
    torch.manual_seed(seed)
    layer = DecoderLayer(dims.d_model, dims.n_heads, d_ff=10, dropout=0.0, norm_first=norm_first).double().eval()
    x, memory = randn(batch, tgt_seq, dims.d_model, seed=seed), randn(batch, src_seq, dims.d_model, seed=seed + 1)
    src_mask = data.draw(key_padding_masks(batch, src_seq))[:, None, None, :]
    expected, _ = layer(x, memory, src_mask, causal(tgt_seq))
    empty = x.new_zeros(batch, dims.n_heads, 0, dims.d_head)
    cross_k, cross_v = layer.cross_attn.project_key_value(memory, memory)
    cache = {"self_k": empty, "self_v": empty, "cross_k": cross_k, "cross_v": cross_v}
    for t in range(tgt_seq):
        output, cache, _ = layer.step(x[:, t : t + 1], cache, src_mask)
        assert_close(output[:, 0], expected[:, t], f"step {t} with the cache differs from the full pass")
    assert cache["self_k"].shape == (batch, dims.n_heads, tgt_seq, dims.d_head), "the cache must grow by one per step"


# ---------------------------------------------------------------- dtype and errors


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_decoder_keeps_the_dtype(dtype):
    """float32 in, float32 out; float64 in, float64 out."""
    stack = Decoder(1, 4, 2, 8).to(dtype)
    output = stack(torch.randn(2, 3, 4, dtype=dtype), torch.randn(2, 5, 4, dtype=dtype))
    assert output.dtype == dtype, f"{dtype} in, {output.dtype} out"


def test_memory_from_another_batch_names_the_expected_shape(runtime_checks):
    """The memory must have one row per target sequence and the model's width."""
    stack = Decoder(1, d_model=8, n_heads=2, d_ff=8)
    with pytest.raises(ValueError, match=r"memory: expected shape \(batch=2, src_seq, d_model=8\), got \(3, 5, 8\)"):
        stack(torch.randn(2, 4, 8), torch.randn(3, 5, 8))


def test_wrong_d_model_names_the_expected_shape(runtime_checks):
    """Targets of the wrong width are refused with the shape that was expected."""
    stack = Decoder(1, d_model=8, n_heads=2, d_ff=8)
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, tgt_seq, d_model=8\), got \(2, 4, 6\)"):
        stack(torch.randn(2, 4, 6), torch.randn(2, 5, 8))
