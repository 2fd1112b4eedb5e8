"""Spec for `transformer.encoder`: residual + layer norm (post- and pre-norm), the encoder layer and stack.

Chapter: walkthrough/07_encoder.md. Run with `pytest -m encoder`.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_attention, perturb_
from strategies import distinct_sizes, key_padding_masks, model_dims, padded_ids, seeds
from torch import nn

from transformer.encoder import Encoder, EncoderLayer
from transformer.sublayer import Residual
from transformer.masks import source_mask
from transformer.model import TransformerConfig, build_transformer

pytestmark = pytest.mark.encoder

F64 = torch.float64
even_model_dims = model_dims().filter(lambda dims: dims.d_model % 2 == 0)


# ---------------------------------------------------------------- helpers


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def copy_encoder_layer(theirs: nn.TransformerEncoderLayer, ours: EncoderLayer) -> None:
    """torch's names -> ours: linear1/2 -> feed_forward.w_1/w_2, norm1 -> attention's, norm2 -> feed-forward's."""
    with torch.no_grad():
        copy_attention(theirs.self_attn, ours.self_attn)
        ours.feed_forward.w_1.load_state_dict(theirs.linear1.state_dict())
        ours.feed_forward.w_2.load_state_dict(theirs.linear2.state_dict())
        ours.attn_residual.norm.load_state_dict(theirs.norm1.state_dict())
        ours.ff_residual.norm.load_state_dict(theirs.norm2.state_dict())


def torch_encoder_layer(d_model, n_heads, d_ff, norm_first, seed) -> nn.TransformerEncoderLayer:
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    return perturb_(layer.double().eval(), seed)


def tiny_model(seed: int, **overrides):
    torch.manual_seed(seed)
    config = TransformerConfig.tiny(13, 17, **{**dict(d_model=8, n_heads=2, d_ff=12, dropout=0.0), **overrides})
    return build_transformer(config).double().eval()


# ---------------------------------------------------------------- residual connections


@given(sizes=distinct_sizes(3), seed=seeds())
def test_post_norm_residual_is_layer_norm_of_x_plus_sublayer(sizes, seed):
    """The paper (§3.1): LayerNorm(x + Sublayer(x)); the norm comes after the addition."""
    batch, seq, d_model = sizes
    residual = perturb_(Residual(d_model, dropout=0.0, norm_first=False).double(), seed)
    sublayer = perturb_(nn.Linear(d_model, d_model).double(), seed + 1)
    x = randn(batch, seq, d_model, seed=seed)
    norm = residual.norm
    expected = F.layer_norm(x + sublayer(x), (d_model,), norm.weight, norm.bias, eps=1e-5)
    assert_close(residual(x, sublayer), expected, "post-norm is not LayerNorm(x + Sublayer(x))")


@given(sizes=distinct_sizes(3), seed=seeds())
def test_pre_norm_residual_is_x_plus_sublayer_of_layer_norm(sizes, seed):
    """Pre-norm (Xiong et al. 2020): x + Sublayer(LayerNorm(x)); x itself reaches the output untouched."""
    batch, seq, d_model = sizes
    residual = perturb_(Residual(d_model, dropout=0.0, norm_first=True).double(), seed)
    sublayer = perturb_(nn.Linear(d_model, d_model).double(), seed + 1)
    x = randn(batch, seq, d_model, seed=seed)
    norm = residual.norm
    expected = x + sublayer(F.layer_norm(x, (d_model,), norm.weight, norm.bias, eps=1e-5))
    assert_close(residual(x, sublayer), expected, "pre-norm is not x + Sublayer(LayerNorm(x))")


def test_residual_dropout_hits_the_sublayer_output_not_the_skip_path():
    """§5.4: dropout on the sub-layer's output before it is added; with a zero sub-layer x passes unchanged."""
    residual = Residual(d_model=4, dropout=0.5, norm_first=True).train()
    x = torch.randn(2, 3, 4)
    assert torch.equal(residual(x, torch.zeros_like), x), "dropout touched the skip path"


# ---------------------------------------------------------------- encoder layer and stack


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@given(dims=model_dims(), sizes=distinct_sizes(2), d_ff=st.integers(3, 12), seed=seeds(), data=st.data())
def test_encoder_layer_matches_torch_encoder_layer(norm_first, dims, sizes, d_ff, seed, data):
    """Same weights, same padding: same output as `nn.TransformerEncoderLayer` (eval, float64)."""
    batch, seq = sizes
    theirs = torch_encoder_layer(dims.d_model, dims.n_heads, d_ff, norm_first, seed)
    ours = EncoderLayer(dims.d_model, dims.n_heads, d_ff, dropout=0.0, norm_first=norm_first).double().eval()
    copy_encoder_layer(theirs, ours)
    x = randn(batch, seq, dims.d_model, seed=seed)
    keep = data.draw(key_padding_masks(batch, seq))
    # grad stays enabled: torch's inference fast path is a different kernel (and zeroes padded rows)
    expected = theirs(x, src_key_padding_mask=~keep)
    output, weights = ours(x, keep[:, None, None, :])
    assert_close(output, expected, f"EncoderLayer(norm_first={norm_first}) differs from nn.TransformerEncoderLayer")
    assert weights.shape == (batch, dims.n_heads, seq, seq), f"self-attention weights have shape {tuple(weights.shape)}"


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_stack_with_final_norm_matches_torch_encoder(norm_first):
    """N layers one after the other, then the final LayerNorm, as `nn.TransformerEncoder(norm=LayerNorm)`."""
    d_model, n_heads, d_ff, n_layers = 6, 3, 10, 2
    layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
    theirs = perturb_(theirs.double().eval(), seed=3)
    ours = Encoder(n_layers, d_model, n_heads, d_ff, dropout=0.0, norm_first=norm_first, final_norm=True).double().eval()
    for their_layer, our_layer in zip(theirs.layers, ours.layers):
        copy_encoder_layer(their_layer, our_layer)
    ours.norm.load_state_dict(theirs.norm.state_dict())
    x = randn(3, 5, d_model, seed=1)
    keep = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] + [False] * 4])
    output, weights = ours(x, keep[:, None, None, :], return_weights=True)
    assert_close(output, theirs(x, src_key_padding_mask=~keep), "Encoder differs from nn.TransformerEncoder")
    assert len(weights) == n_layers, f"expected one weight tensor per layer, got {len(weights)}"


@given(dims=even_model_dims, sizes=distinct_sizes(2, min_value=2), seed=seeds(), data=st.data())
def test_padding_tokens_do_not_affect_non_pad_outputs(dims, sizes, seed, data):
    """Whatever sits at masked positions, real positions never look at it, so their outputs cannot change."""
    batch, seq = sizes
    torch.manual_seed(seed)
    encoder = Encoder(2, dims.d_model, dims.n_heads, d_ff=10, dropout=0.0).double().eval()
    keep = data.draw(key_padding_masks(batch, seq))
    x = randn(batch, seq, dims.d_model, seed=seed)
    garbage = torch.where(keep[..., None], x, randn(batch, seq, dims.d_model, seed=seed + 1))
    mask = keep[:, None, None, :]
    real = keep[..., None].expand_as(x)
    assert_close(encoder(garbage, mask)[real], encoder(x, mask)[real], "changing padded positions changed real outputs")


@given(sizes=distinct_sizes(2), extra=st.integers(1, 4), seed=seeds(), data=st.data())
def test_extra_padding_does_not_change_the_encoding_of_real_tokens(sizes, extra, seed, data):
    """Through `Transformer.encode` (mask from the ids): padding a batch further leaves real positions alone."""
    batch, seq = sizes
    model = tiny_model(seed)
    src = data.draw(padded_ids(batch, seq, vocab=13))
    longer = torch.cat([src, torch.zeros(batch, extra, dtype=src.dtype)], dim=1)
    real = (src != 0)[..., None].expand(-1, -1, model.d_model)
    assert_close(model.encode(longer)[:, :seq][real], model.encode(src)[real], f"{extra} more pad tokens changed the memory")


@given(sizes=distinct_sizes(2), seed=seeds(), data=st.data())
def test_pad_embedding_does_not_reach_real_tokens(sizes, seed, data):
    """Through `Transformer.encode`: even if the pad row of the table were non-zero, real positions ignore it."""
    batch, seq = sizes
    model = tiny_model(seed)
    src = data.draw(padded_ids(batch, seq, vocab=13))
    before = model.encode(src)
    with torch.no_grad():
        model.src_embed.table.weight[0] = randn(model.d_model, seed=seed)
    real = (src != 0)[..., None].expand_as(before)
    assert_close(model.encode(src)[real], before[real], "the pad row's contents reached real positions")


def test_source_mask_from_ids_drives_the_encoder():
    """`source_mask` is what `encode` uses: the same memory comes from the encoder called by hand."""
    model = tiny_model(seed=0)
    src = torch.tensor([[3, 4, 5, 0], [6, 0, 0, 0]])
    by_hand = model.encoder(model.src_position(model.src_embed(src)), source_mask(src, 0))
    assert_close(model.encode(src), by_hand, "encode is not encoder(positions(embed(src)), source_mask)")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_encoder_keeps_the_dtype(dtype):
    """float32 in, float32 out; float64 in, float64 out."""
    encoder = Encoder(1, 4, 2, 8).to(dtype)
    output = encoder(torch.randn(2, 3, 4, dtype=dtype))
    assert output.dtype == dtype, f"{dtype} in, {output.dtype} out"


def test_wrong_d_model_names_the_expected_shape(runtime_checks):
    """(seq, batch, d) with the wrong width is refused with the shape that was expected."""
    encoder = Encoder(1, d_model=8, n_heads=2, d_ff=8)
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, src_seq, d_model=8\), got \(5, 2, 6\)"):
        encoder(torch.randn(5, 2, 6))
