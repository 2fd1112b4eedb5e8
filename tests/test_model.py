"""Spec for `transformer.model`: the whole encoder-decoder, its config, factory and incremental decoding.

Chapter: walkthrough/08_decoder_and_model.md. Run with `pytest -m decoder`.
"""

import math
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_attention, perturb_
from strategies import distinct_sizes, model_dims, padded_ids, seeds
from torch import nn

from transformer.model import Transformer, TransformerConfig, build_transformer, count_parameters

pytestmark = pytest.mark.decoder

F64 = torch.float64
SRC_VOCAB, TGT_VOCAB = 11, 13
even_model_dims = model_dims(max_heads=3, max_d_head=4).filter(lambda dims: dims.d_model % 2 == 0)


# ---------------------------------------------------------------- helpers


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def small_model(seed: int = 0, dims=None, **overrides) -> Transformer:
    """A float64, eval-mode, dropout-free model: what exactness tests need."""
    torch.manual_seed(seed)
    sizes = dict(d_model=8, n_heads=2, d_ff=12, n_encoder_layers=2, n_decoder_layers=2, dropout=0.0, max_len=32)
    if dims is not None:
        sizes.update(d_model=dims.d_model, n_heads=dims.n_heads)
    config = TransformerConfig(SRC_VOCAB, TGT_VOCAB, **{**sizes, **overrides})
    return build_transformer(config).double().eval()


def real_ids(batch: int, seq: int, vocab: int, seed: int) -> torch.Tensor:
    """Token ids with no padding (id 0 is the pad id)."""
    return torch.randint(1, vocab, (batch, seq), generator=torch.Generator().manual_seed(seed))


def copy_torch_transformer(theirs: nn.Transformer, ours: Transformer) -> None:
    """Every weight of `nn.Transformer` into the matching place of ours (the stacks only: torch has no embeddings)."""
    with torch.no_grad():
        for t, o in zip(theirs.encoder.layers, ours.encoder.layers):
            copy_attention(t.self_attn, o.self_attn)
            pairs = [(t.linear1, o.feed_forward.w_1), (t.linear2, o.feed_forward.w_2),
                     (t.norm1, o.attn_residual.norm), (t.norm2, o.ff_residual.norm)]
            for source, target in pairs:
                target.load_state_dict(source.state_dict())
        for t, o in zip(theirs.decoder.layers, ours.decoder.layers):
            copy_attention(t.self_attn, o.self_attn)
            copy_attention(t.multihead_attn, o.cross_attn)
            pairs = [(t.linear1, o.feed_forward.w_1), (t.linear2, o.feed_forward.w_2), (t.norm1, o.self_residual.norm),
                     (t.norm2, o.cross_residual.norm), (t.norm3, o.ff_residual.norm)]
            for source, target in pairs:
                target.load_state_dict(source.state_dict())
        ours.encoder.norm.load_state_dict(theirs.encoder.norm.state_dict())
        ours.decoder.norm.load_state_dict(theirs.decoder.norm.state_dict())


# ---------------------------------------------------------------- the whole model against PyTorch


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@given(sizes=distinct_sizes(3), seed=seeds(), data=st.data())
def test_model_matches_torch_transformer(norm_first, sizes, seed, data):
    """Our stacks = `nn.Transformer`'s on the same weights; it takes embedded inputs, so we feed it ours."""
    batch, src_seq, tgt_seq = sizes
    ours = small_model(seed, norm_first=norm_first, final_norm=True)  # nn.Transformer has a final norm per stack
    with warnings.catch_warnings():  # "enable_nested_tensor is True, but ... norm_first was True"
        warnings.simplefilter("ignore", UserWarning)
        theirs = nn.Transformer(8, 2, 2, 2, 12, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = perturb_(theirs.double().eval(), seed)
    copy_torch_transformer(theirs, ours)
    src = data.draw(padded_ids(batch, src_seq, SRC_VOCAB))
    tgt_in = data.draw(padded_ids(batch, tgt_seq, TGT_VOCAB))
    src_pad, tgt_pad = src == 0, tgt_in == 0  # torch's boolean masks: True = NOT allowed
    causal_forbidden = torch.ones(tgt_seq, tgt_seq, dtype=torch.bool).triu(1)
    # Grad stays enabled: under no_grad torch's encoder takes a nested-tensor fast path that zeroes padded rows.
    states = theirs(
        ours.src_position(ours.src_embed(src)), ours.tgt_position(ours.tgt_embed(tgt_in)),
        tgt_mask=causal_forbidden, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
        memory_key_padding_mask=src_pad,
    )
    real = ~tgt_pad
    assert_close(ours(src, tgt_in)[real], ours.generator(states)[real], f"logits differ from nn.Transformer (norm_first={norm_first})")


# ---------------------------------------------------------------- masking


@given(dims=even_model_dims, sizes=distinct_sizes(3, min_value=2), seed=seeds(), data=st.data())
def test_logits_at_t_independent_of_future_targets(dims, sizes, seed, data):
    """Teacher forcing is honest: the prediction at t cannot see tgt_in after t (else it could copy the answer)."""
    batch, src_seq, tgt_seq = sizes
    model = small_model(seed, dims)
    src, tgt_in = real_ids(batch, src_seq, SRC_VOCAB, seed), real_ids(batch, tgt_seq, TGT_VOCAB, seed + 1)
    t = data.draw(st.integers(0, tgt_seq - 2))
    changed = tgt_in.clone()
    changed[:, t + 1 :] = real_ids(batch, tgt_seq - t - 1, TGT_VOCAB, seed + 2)
    before, after = model(src, tgt_in), model(src, changed)
    assert_close(after[:, : t + 1], before[:, : t + 1], f"changing targets after position {t} changed the logits at 0..{t}")


@given(sizes=distinct_sizes(3), extra=st.integers(1, 3), seed=seeds(), data=st.data())
def test_padding_tokens_do_not_affect_non_pad_outputs(sizes, extra, seed, data):
    """More padding on either side, or different pad vectors, leaves the logits at real target positions alone."""
    batch, src_seq, tgt_seq = sizes
    model = small_model(seed)
    src = data.draw(padded_ids(batch, src_seq, SRC_VOCAB))
    tgt_in = data.draw(padded_ids(batch, tgt_seq, TGT_VOCAB))
    before = model(src, tgt_in)
    with torch.no_grad():  # what a pad token embeds to must not matter either
        model.src_embed.table.weight[0] = torch.randn(model.d_model, dtype=F64)
        model.tgt_embed.table.weight[0] = torch.randn(model.d_model, dtype=F64)  # tied: the pad logit changes
    pad = torch.zeros(batch, extra, dtype=torch.long)
    after = model(torch.cat([src, pad], dim=1), torch.cat([tgt_in, pad], dim=1))[:, :tgt_seq]
    real = tgt_in != 0
    tokens = torch.arange(1, TGT_VOCAB)  # every logit but the pad token's, whose weight row we just changed
    assert_close(after[real][:, tokens], before[real][:, tokens], "padding changed the logits at real target positions")


# ---------------------------------------------------------------- incremental decoding


@pytest.mark.parametrize("norm_first, final_norm", [(False, False), (True, True)], ids=["post_norm", "pre_norm_final_norm"])
@given(sizes=distinct_sizes(3), seed=seeds(), data=st.data())
def test_incremental_decoding_gives_the_same_logits_as_forward(norm_first, final_norm, sizes, seed, data):
    """start_decoding + decode_step, one token at a time with the cache, equals the teacher-forced pass (float64)."""
    batch, src_seq, tgt_seq = sizes
    model = small_model(seed, norm_first=norm_first, final_norm=final_norm)
    src = data.draw(padded_ids(batch, src_seq, SRC_VOCAB))
    tgt_in = real_ids(batch, tgt_seq, TGT_VOCAB, seed)
    expected = model(src, tgt_in)
    state = model.start_decoding(src)
    for t in range(tgt_seq):
        logits, state = model.decode_step(tgt_in[:, t], state)
        assert_close(logits, expected[:, t], f"decode_step {t} differs from forward at position {t}")
    assert state["attention"].shape == (batch, src_seq), "the state must carry the last step's source attention"
    assert_close(state["attention"].sum(-1), torch.ones(batch, dtype=F64), "attention on the source must sum to 1")


# ---------------------------------------------------------------- weights


def test_generator_weight_is_tied_to_target_embedding():
    """§3.4: the pre-softmax linear map shares its matrix with the target embedding (one tensor, counted once)."""
    tied = build_transformer(TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB))
    untied = build_transformer(TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB, tie_embeddings=False))
    assert tied.generator.weight is tied.tgt_embed.table.weight, "generator.weight must be the target table itself"
    difference = count_parameters(untied) - count_parameters(tied)
    assert difference == TGT_VOCAB * 64, f"tying should save vocab x d_model = {TGT_VOCAB * 64} parameters, saved {difference}"


def test_shared_embeddings_make_one_table_for_source_target_and_generator():
    """The paper's three-way sharing (a joint vocabulary): one table, counted once, trained by both sides."""
    shared = build_transformer(TransformerConfig.tiny(TGT_VOCAB, TGT_VOCAB, share_embeddings=True))
    apart = build_transformer(TransformerConfig.tiny(TGT_VOCAB, TGT_VOCAB))
    assert shared.src_embed.table.weight is shared.tgt_embed.table.weight is shared.generator.weight, (
        "share_embeddings=True: source, target and generator should hold one matrix")
    difference = count_parameters(apart) - count_parameters(shared)
    assert difference == TGT_VOCAB * 64, f"sharing should save vocab x d_model = {TGT_VOCAB * 64} parameters, saved {difference}"
    src, tgt = torch.tensor([[5, 6, 2]]), torch.tensor([[1, 7, 8]])
    shared(src, tgt).sum().backward()
    grad = shared.src_embed.table.weight.grad
    assert grad[5].abs().sum() > 0 and grad[7].abs().sum() > 0, "a source and a target token should both train the table"
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary for both sides"):
        TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB, share_embeddings=True)


def test_untied_generator_has_its_own_weight():
    """With tie_embeddings=False, training the generator leaves the embedding table alone."""
    model = build_transformer(TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB, tie_embeddings=False))
    assert model.generator.weight is not model.tgt_embed.table.weight, (
        "tie_embeddings=False: the generator's weight is the target embedding table itself")
    assert model.generator.weight.data_ptr() != model.tgt_embed.table.weight.data_ptr(), "they must not share storage"


def test_build_transformer_initialises_every_matrix_xavier_uniform():
    """Every matrix lies in +-sqrt(6 / (fan_in + fan_out)) with the uniform's spread: not torch's default init."""
    model = build_transformer(TransformerConfig.tiny(50, 60))
    for name, parameter in model.named_parameters():
        if parameter.dim() < 2:
            continue
        parameter = parameter.detach()
        fan_out, fan_in = parameter.shape
        bound = math.sqrt(6 / (fan_in + fan_out))
        largest, std = float(parameter.abs().max()), float(parameter.std())
        assert largest <= bound, f"{name}: |w| reaches {largest:.3f}, beyond the Xavier bound {bound:.3f}"
        assert abs(std / (bound / math.sqrt(3)) - 1) < 0.1, f"{name}: std {std:.4f}, Xavier-uniform gives {bound / math.sqrt(3):.4f}"


# ---------------------------------------------------------------- config and factory


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(d_model=10, n_heads=4), "d_model=10 must be divisible by n_heads=4"),
        (dict(d_model=9, n_heads=3), "sinusoidal positions need an even d_model, got 9"),
        (dict(n_heads=0), r"n_heads: expected a positive integer, got 0"),
        (dict(d_model=8.0), r"d_model: expected a positive integer, got 8.0"),
        (dict(n_decoder_layers=-1), r"n_decoder_layers: expected a positive integer, got -1"),
        (dict(dropout=1.0), r"dropout: expected a value in \[0, 1\), got 1.0"),
        (dict(positional="rotary"), r"positional: expected one of \['learned', 'sinusoidal'\], got 'rotary'"),
        (dict(attention="flash"), r"attention: expected one of \['explicit', 'fused'\], got 'flash'"),
        (dict(tgt_pad_id=13), "pad ids must lie inside their vocabularies, got src_pad_id=0, tgt_pad_id=13"),
    ],
)
def test_config_rejects_invalid_values_with_a_clear_message(overrides, message, runtime_checks):
    """A bad number is caught when the config is made, with the field and the value, not deep inside a layer."""
    sizes = dict(d_model=8, n_heads=2)
    with pytest.raises(ValueError, match=message):
        TransformerConfig(SRC_VOCAB, TGT_VOCAB, **{**sizes, **overrides})


def test_config_round_trips_through_a_dict_and_rejects_unknown_fields():
    """Checkpoints store the config as a dict; a typo in a field name is an error, not silently ignored."""
    config = TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB, norm_first=True)
    again = TransformerConfig.from_dict(config.to_dict())
    assert again == config, f"to_dict / from_dict does not round-trip: {config} came back as {again}"
    with pytest.raises(ValueError, match=r"unknown field\(s\) n_head; expected some of attention, attention_dropout, d_ff"):
        TransformerConfig.from_dict({**config.to_dict(), "n_head": 4})


def test_base_preset_has_the_papers_sizes():
    """Table 3, base model: d_model 512, 8 heads, d_ff 2048, N = 6, dropout 0.1, post-norm, tied weights."""
    config = TransformerConfig.base(100, 100)
    paper = dict(d_model=512, n_heads=8, d_ff=2048, n_encoder_layers=6, n_decoder_layers=6, dropout=0.1,
                 norm_first=False, tie_embeddings=True, positional="sinusoidal")
    ours = {name: getattr(config, name) for name in paper}
    differ = {name: (ours[name], paper[name]) for name in paper if ours[name] != paper[name]}
    assert ours == paper, f"base() differs from Table 3's base model in (ours, paper's): {differ}"


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_presets_build_and_run(preset):
    """The named presets give a working model: logits of shape (batch, tgt_seq, tgt_vocab)."""
    model = build_transformer(getattr(TransformerConfig, preset)(SRC_VOCAB, TGT_VOCAB)).eval()
    logits = model(real_ids(2, 5, SRC_VOCAB, 0), real_ids(2, 4, TGT_VOCAB, 1))
    assert logits.shape == (2, 4, TGT_VOCAB), f"{preset}: logits of shape {tuple(logits.shape)}"


@pytest.mark.slow
def test_base_preset_builds():
    """The paper's base model builds; with separate 37000-token vocabularies it has about 82M parameters."""
    model = build_transformer(TransformerConfig.base(37000, 37000))
    assert 80e6 < count_parameters(model) < 84e6, f"{count_parameters(model):,} parameters"


def test_fused_attention_model_equals_explicit():
    """attention='fused' swaps the kernel, not the maths: same logits for the same weights."""
    explicit = small_model(seed=0)
    fused = small_model(seed=1, attention="fused")
    fused.load_state_dict(explicit.state_dict())
    src, tgt_in = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), torch.tensor([[1, 2, 3], [4, 5, 0]])
    assert_close(fused(src, tgt_in), explicit(src, tgt_in), "the fused-kernel model differs from the explicit one")
    assert fused.attention_maps(src, tgt_in)["cross"] == [None, None], "the fused kernel has no weights to show"


def test_learned_positions_build_and_train():
    """positional='learned' puts a trainable (max_len, d_model) table on each side."""
    model = small_model(positional="learned")
    shape = tuple(model.src_position.table.weight.shape)
    assert shape == (32, 8), f"the learned position table has shape {shape}, expected (max_len, d_model) = (32, 8)"
    model(torch.tensor([[3, 4]]), torch.tensor([[1, 2, 3]])).sum().backward()
    assert model.tgt_position.table.weight.grad[:3].abs().sum() > 0, "used target positions must get a gradient"


def test_attention_maps_have_one_entry_per_layer():
    """For plots: encoder self-attention (batch, heads, src, src) and cross-attention (batch, heads, tgt, src)."""
    model = small_model()
    maps = model.attention_maps(torch.tensor([[3, 4, 5, 0]]), torch.tensor([[1, 2]]))
    encoder = [tuple(w.shape) for w in maps["encoder"]]
    assert encoder == [(1, 2, 4, 4)] * 2, f"expected 2 layers of (batch, heads, src, src) = (1, 2, 4, 4): {encoder}"
    cross = [tuple(w.shape) for w in maps["cross"]]
    assert cross == [(1, 2, 2, 4)] * 2, f"expected 2 layers of (batch, heads, tgt, src) = (1, 2, 2, 4), got {cross}"


# ---------------------------------------------------------------- dtype and errors


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_model_logits_have_the_model_dtype(dtype):
    """A float32 model gives float32 logits; after `.double()`, float64."""
    model = build_transformer(TransformerConfig.tiny(SRC_VOCAB, TGT_VOCAB)).to(dtype)
    logits = model(real_ids(2, 3, SRC_VOCAB, 0), real_ids(2, 4, TGT_VOCAB, 1))
    assert logits.dtype == dtype, f"{dtype} model, {logits.dtype} logits"


def test_float_ids_are_rejected_with_a_clear_message(runtime_checks):
    """Token ids are integers; floats are most likely embeddings passed by mistake."""
    model = small_model()
    with pytest.raises(TypeError, match=r"src: expected integer token ids \(torch.long\), got dtype torch.float32"):
        model(torch.ones(2, 3), torch.ones(2, 4, dtype=torch.long))


@pytest.mark.parametrize(
    "src_shape, tgt_shape, message",
    [
        ((5,), (1, 4), r"src: expected shape \(batch, src_seq\), got \(5,\)"),
        ((2, 5), (3, 4), r"tgt_in: expected shape \(batch=2, tgt_seq\), got \(3, 4\)"),
        ((2, 5, 8), (2, 4), r"src: expected shape \(batch, src_seq\), got \(2, 5, 8\)"),
    ],
)
def test_wrong_shape_names_the_expected_shape(src_shape, tgt_shape, message, runtime_checks):
    """A 1-D sequence, mismatched batches or embeddings instead of ids: one line saying what was expected."""
    model = small_model()
    with pytest.raises(ValueError, match=message):
        model(torch.ones(src_shape, dtype=torch.long), torch.ones(tgt_shape, dtype=torch.long))


def test_out_of_vocabulary_ids_name_the_vocabulary(runtime_checks):
    """An id the target vocabulary does not have is named with the valid range."""
    with pytest.raises(ValueError, match=rf"tgt_in: expected token ids in \[0, {TGT_VOCAB}\), got values in \[1, 40\]"):
        small_model()(torch.ones(1, 3, dtype=torch.long), torch.tensor([[1, 40]]))


def test_sequence_longer_than_max_len_names_max_len(runtime_checks):
    """The positional table has max_len rows; a longer source says so."""
    with pytest.raises(ValueError, match=r"positions 0\.\.32 requested, but max_len=32"):
        small_model()(torch.ones(1, 33, dtype=torch.long), torch.ones(1, 2, dtype=torch.long))
