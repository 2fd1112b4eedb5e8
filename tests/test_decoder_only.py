"""Spec for the decoder-only Transformer: a language model made of the decoder's blocks without
cross-attention, with its key/value cache and its sliding context window.

Chapter: walkthrough/14_language_models.md. Run with `pytest -m language_models`.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_self_attention_block, perturb_
from strategies import distinct_sizes, model_dims, seeds
from torch import nn

from transformer.decoder import DecoderLayer
from transformer.decoder_only import DecoderOnlyConfig, build_transformer_language_model

pytestmark = pytest.mark.language_models

VOCAB = 13


def language_model(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    sizes = dict(d_model=16, n_heads=2, d_ff=24, n_layers=2, dropout=0.0, max_len=12)
    return build_transformer_language_model(DecoderOnlyConfig(VOCAB, **{**sizes, **overrides})).double().eval()


def token_ids(batch: int, seq: int, seed: int) -> torch.Tensor:
    return torch.randint(1, VOCAB, (batch, seq), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@given(dims=model_dims(), sizes=distinct_sizes(2, 1, 6), d_ff=st.integers(3, 12), seed=seeds())
def test_block_equals_torch_encoder_layer_with_a_causal_mask(norm_first, dims, sizes, d_ff, seed):
    """A decoder layer without cross-attention is masked self-attention + feed-forward: exactly
    `nn.TransformerEncoderLayer` given a causal mask, weights copied, float64."""
    batch, seq = sizes
    torch.manual_seed(seed)
    theirs = nn.TransformerEncoderLayer(dims.d_model, dims.n_heads, d_ff, dropout=0.0, batch_first=True,
                                        norm_first=norm_first)
    theirs = perturb_(theirs.double().eval(), seed)
    ours = DecoderLayer(dims.d_model, dims.n_heads, d_ff, 0.0, norm_first, cross_attention=False).double().eval()
    copy_self_attention_block(theirs, ours)
    x = torch.randn(batch, seq, dims.d_model, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    expected = theirs(x, src_mask=~causal, is_causal=True)
    actual, weights = ours(x, None, None, causal[None, None])
    torch.testing.assert_close(actual, expected, msg=lambda m: f"block differs from nn.TransformerEncoderLayer: {m}")
    assert weights.shape == (batch, dims.n_heads, seq, seq), f"self-attention weights {tuple(weights.shape)}"


@given(sizes=distinct_sizes(2, 2, 8), cut=st.integers(1, 7), seed=seeds())
def test_logits_at_t_never_depend_on_tokens_after_t(sizes, cut, seed):
    """Changing every token after position `cut` leaves the logits at positions <= cut unchanged."""
    batch, seq = sizes
    cut = min(cut, seq - 1)
    model = language_model(seed)
    ids = token_ids(batch, seq, seed)
    changed = ids.clone()
    changed[:, cut + 1 :] = token_ids(batch, seq - cut - 1, seed + 1)
    torch.testing.assert_close(model(changed)[:, : cut + 1], model(ids)[:, : cut + 1],
                               msg=lambda m: f"the future (after position {cut}) leaked into the past: {m}")


@given(sizes=distinct_sizes(2, 1, 6), extra=st.integers(1, 5), seed=seeds())
def test_padding_after_a_text_changes_none_of_its_logits(sizes, extra, seed):
    """Right padding is masked out of attention and never in a real position's past."""
    batch, seq = sizes
    model = language_model(seed)
    ids = token_ids(batch, seq, seed)
    padded = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded)[:, :seq], model(ids), msg=lambda m: f"padding changed real logits: {m}")


@given(prefix_len=st.integers(1, 5), n_steps=st.integers(1, 14), seed=seeds(), use_cache=st.booleans())
def test_start_and_step_give_the_logits_of_forward_over_the_window(prefix_len, n_steps, seed, use_cache):
    """With or without the cache, each step's logits equal forward's last position over the last
    max_len tokens: inside the window as one pass would give them, and past it, with the window
    slid (max_len = 12 here, so up to 19 tokens slide it up to 7 times)."""
    model = language_model(seed)
    text = token_ids(2, prefix_len + n_steps, seed)
    logits, state = model.start(text[:, :prefix_len], use_cache=use_cache)
    for t in range(prefix_len, prefix_len + n_steps + 1):
        window = text[:, max(0, t - model.max_len) : t]
        torch.testing.assert_close(logits, model(window)[:, -1], msg=lambda m, t=t: (
            f"logits after {t} tokens (cache {use_cache}) differ from forward over the last "
            f"{window.shape[1]} tokens: {m}"))
        if t < prefix_len + n_steps:
            logits, state = model.step(text[:, t], state)
    assert state["tokens"].shape[1] == min(prefix_len + n_steps, model.max_len), "the window keeps max_len tokens"


def test_cached_and_uncached_generation_agree_token_for_token():
    """Greedy continuation through the cache and through full reruns: the same tokens and logits."""
    model = language_model(3)
    prefix = token_ids(2, 3, 3)
    outputs = {}
    for use_cache in (True, False):
        logits, state = model.start(prefix, use_cache=use_cache)
        tokens, all_logits = [], []
        for _ in range(15):  # past max_len = 12: the window slides
            token = logits.argmax(dim=-1)
            tokens.append(token)
            all_logits.append(logits)
            logits, state = model.step(token, state)
        outputs[use_cache] = (torch.stack(tokens, 1), torch.stack(all_logits, 1))
    assert torch.equal(outputs[True][0], outputs[False][0]), "cached greedy tokens differ from uncached"
    torch.testing.assert_close(outputs[True][1], outputs[False][1], msg=lambda m: f"cached logits differ: {m}")


def test_output_layer_is_tied_to_the_embedding():
    model = language_model()
    assert model.generator.weight is model.embed.table.weight, "tie_embeddings=True must share one tensor"


def test_bad_input_gets_one_clear_line(runtime_checks):
    model = language_model()
    with pytest.raises(ValueError, match="max_len=12"):
        model(token_ids(1, 13, 0))
    with pytest.raises(ValueError, match="real tokens only"):
        model.start(torch.tensor([[3, 0, 4]]))
    with pytest.raises(ValueError, match="at least one token"):
        model.start(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="n_heads"):
        DecoderOnlyConfig(VOCAB, d_model=10, n_heads=3)
