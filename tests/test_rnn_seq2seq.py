"""Spec for the recurrent encoder-decoder: one interface, teacher forcing = stepping, no leaks."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from hypothesis import given
from hypothesis import strategies as st
from strategies import padded_ids, seeds

from transformer.experiments.recipes import count_recurrent_parameters, match_hidden_size
from transformer.interface import Seq2Seq, count_parameters, reorder_state
from transformer.rnn.layers import reverse_padded
from transformer.rnn.seq2seq import RecurrentConfig, RecurrentSeq2Seq, build_recurrent

pytestmark = pytest.mark.seq2seq

SRC_VOCAB, TGT_VOCAB = 11, 13
VARIANTS = [(cell, attention) for cell in ("rnn", "lstm", "gru") for attention in ("none", "bahdanau", "luong")]

configs = st.builds(
    lambda variant, n_layers, bidirectional, reverse, score: RecurrentConfig.tiny(
        SRC_VOCAB, TGT_VOCAB, cell=variant[0], attention=variant[1], n_layers=n_layers, embedding_size=6,
        hidden_size=8, bidirectional_encoder=bidirectional, reverse_source=reverse, score=score,
    ),
    st.sampled_from(VARIANTS), st.integers(1, 2), st.booleans(), st.booleans(), st.sampled_from(["dot", "general"]),
)



def model_for(config: RecurrentConfig) -> RecurrentSeq2Seq:
    return build_recurrent(config).double().eval()


@st.composite
def batches(draw, batch: int = 3, src_len: int = 5, tgt_len: int = 4):
    """Right-padded source ids and target input ids (distinct lengths, so no axis hides)."""
    src = draw(padded_ids(batch, src_len, SRC_VOCAB))
    tgt_in = draw(padded_ids(batch, tgt_len, TGT_VOCAB))
    return src, tgt_in


@given(config=configs, data=batches())
def test_teacher_forced_logits_equal_step_by_step_decoding(config, data):
    """`forward` and repeated `decode_step` run the same recurrence, so their logits agree."""
    src, tgt_in = data
    model = model_for(config)
    logits = model(src, tgt_in)
    state = model.start_decoding(src)
    for t in range(tgt_in.shape[1]):
        step_logits, state = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(step_logits, logits[:, t], msg=lambda m, t=t: f"{config}: step {t} differs. {m}")


@given(config=configs, data=batches(), seed=seeds())
def test_logits_at_step_t_do_not_depend_on_later_target_inputs(config, data, seed):
    """Causality: the decoder at t has read tgt_in[:, :t+1] only."""
    src, tgt_in = data
    model = model_for(config)
    t = torch.Generator().manual_seed(seed)
    cut = int(torch.randint(0, tgt_in.shape[1] - 1, (1,), generator=t))
    changed = tgt_in.clone()
    changed[:, cut + 1 :] = torch.randint(1, TGT_VOCAB, changed[:, cut + 1 :].shape, generator=t)
    torch.testing.assert_close(model(src, changed)[:, : cut + 1], model(src, tgt_in)[:, : cut + 1],
                               msg=lambda m: f"{config}: logits up to {cut} read later targets. {m}")


@given(config=configs, data=batches(), extra=st.integers(1, 3))
def test_extra_source_padding_does_not_change_the_logits(config, data, extra):
    """Padding is not input: a longer padded source gives the same translation scores."""
    src, tgt_in = data
    model = model_for(config)
    padded = F.pad(src, (0, extra), value=config.src_pad_id)
    torch.testing.assert_close(model(padded, tgt_in), model(src, tgt_in),
                               msg=lambda m: f"{config}: {extra} extra pad columns changed the logits. {m}")


@given(config=configs, data=batches())
def test_a_pair_result_does_not_depend_on_the_rest_of_its_batch(config, data):
    """Each source-target pair, run alone with its padding trimmed, gives the same logits."""
    src, tgt_in = data
    model = model_for(config)
    logits = model(src, tgt_in)
    for b in range(src.shape[0]):
        n = int((src[b] != config.src_pad_id).sum())
        alone = model(src[b : b + 1, :n], tgt_in[b : b + 1])
        torch.testing.assert_close(alone, logits[b : b + 1], msg=lambda m, b=b: f"{config}: pair {b} depends on its batch. {m}")


@given(variant=st.sampled_from(VARIANTS), data=batches())
def test_source_reversal_equals_feeding_the_reversed_source(variant, data):
    """`reverse_source=True` is Sutskever's trick and nothing else: same as reversing by hand,
    with attention weights reported in the source's own order."""
    src, tgt_in = data
    config = RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB, cell=variant[0], attention=variant[1], embedding_size=6,
                                  hidden_size=8)
    plain = model_for(config)
    reversing = model_for(dataclasses.replace(config, reverse_source=True))
    reversing.load_state_dict(plain.state_dict())
    lengths = (src != 0).sum(dim=1)
    by_hand = reverse_padded(src, lengths)
    torch.testing.assert_close(reversing(src, tgt_in), plain(by_hand, tgt_in),
                               msg=lambda m: f"{variant}: reverse_source is not the source reversed by hand. {m}")
    if variant[1] != "none":
        weights = rearrange(plain.attention_weights(by_hand, tgt_in), "batch tgt src -> batch src tgt")
        expected = rearrange(reverse_padded(weights, lengths), "batch src tgt -> batch tgt src")
        torch.testing.assert_close(reversing.attention_weights(src, tgt_in), expected,
                                   msg=lambda m: f"{variant}: weights are not in the source's own order. {m}")


@given(config=configs, data=batches())
def test_decoder_state_is_batch_first_so_beam_search_can_reorder_it(config, data):
    """Reordering the state, then stepping, equals stepping, then reordering the logits."""
    src, tgt_in = data
    model = model_for(config)
    state = model.start_decoding(src)
    for name, value in state.items():
        assert value.shape[0] == src.shape[0], f"state[{name!r}] has shape {tuple(value.shape)}: batch is not first"
    order = torch.tensor([2, 0, 0, 1])
    logits, _ = model.decode_step(tgt_in[:, 0], state)
    reordered_logits, _ = model.decode_step(tgt_in[order, 0], reorder_state(state, order))
    torch.testing.assert_close(reordered_logits, logits[order],
                               msg=lambda m: f"reorder_state({order.tolist()}) does not reorder the next logits. {m}")


@given(data=batches())
def test_decoder_starts_from_the_encoder_final_state(data):
    """Sutskever et al.: the source summary is the encoder's last state; a bidirectional
    encoder's two directions are concatenated per layer."""
    src, _ = data
    config = RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB, cell="gru", n_layers=2, hidden_size=8,
                                  bidirectional_encoder=True)
    model = model_for(config)
    memory, _ = model.encode(src)
    hidden = model.start_decoding(src)["hidden"]
    assert hidden.shape == (src.shape[0], 2, 8), (
        f"the decoder's start state has shape {tuple(hidden.shape)}, expected (batch, layers, hidden) = "
        f"{(src.shape[0], 2, 8)}")
    last = (src != 0).sum(dim=1) - 1
    torch.testing.assert_close(hidden[:, -1, :4], memory[torch.arange(src.shape[0]), last, :4],
                               msg=lambda m: f"top layer, forward half: not the state at the true length. {m}")
    torch.testing.assert_close(hidden[:, -1, 4:], memory[:, 0, 4:],
                               msg=lambda m: f"top layer, backward half: not the state at position 0. {m}")


def test_model_implements_the_shared_interface():
    model = build_recurrent(RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB))
    assert isinstance(model, Seq2Seq), f"a recurrent model should be a Seq2Seq, got {type(model).__name__}"
    pads = (model.src_pad_id, model.tgt_pad_id)
    assert pads == (0, 0), f"(src_pad_id, tgt_pad_id) is {pads}, expected PAD = 0 on both sides"


@pytest.mark.parametrize("cell, attention", VARIANTS)
def test_each_variant_overfits_a_tiny_fixed_batch(cell, attention, runtime_checks):
    """A baseline that cannot memorise 8 pairs cannot be trusted on a task: loss falls 10x.

    (Shape checks off: a training loop is not where they help, and they slow it 20-fold.)"""
    torch.manual_seed(0)
    config = RecurrentConfig.tiny(12, 12, cell=cell, attention=attention, embedding_size=16, hidden_size=32)
    model = build_recurrent(config)
    src = torch.randint(4, 12, (8, 5))
    tgt = torch.cat([torch.ones(8, 1, dtype=torch.long), src.flip(1), 2 * torch.ones(8, 1, dtype=torch.long)], 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(src, tgt[:, :-1]).flatten(0, 1), tgt[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, f"{cell}/{attention}: loss went {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_matched_hidden_size_is_the_closest_to_the_target_count():
    """The parameter-matching helper picks the hidden size whose count is nearest the target."""
    config = RecurrentConfig.tiny(100, 120, cell="lstm", attention="luong")
    target = 123_456
    matched = match_hidden_size(config, target)
    count = count_recurrent_parameters(matched)
    neighbours = [count_recurrent_parameters(dataclasses.replace(matched, hidden_size=matched.hidden_size + d))
                  for d in (-1, 1)]
    assert all(abs(count - target) <= abs(n - target) for n in neighbours), (count, neighbours, target)
    assert count == count_parameters(build_recurrent(matched)), "the meta-device count differs from a real model's"


def test_matched_hidden_size_stays_even_for_a_bidirectional_encoder():
    config = RecurrentConfig.tiny(50, 50, cell="gru", bidirectional_encoder=True, attention="bahdanau")
    hidden = match_hidden_size(config, 77_777).hidden_size
    assert hidden % 2 == 0, f"a bidirectional encoder splits hidden_size in two halves, got an odd {hidden}"


def test_presets_are_the_papers_sizes():
    """Sutskever: 4x1000 LSTM, reversed source; Bahdanau: bidirectional GRU, 1000 units; Luong: 4x1000, general."""
    sutskever = RecurrentConfig.sutskever(160_000, 80_000)
    ours = (sutskever.cell, sutskever.n_layers, sutskever.hidden_size, sutskever.reverse_source)
    assert ours == ("lstm", 4, 1000, True), (
        f"sutskever (cell, n_layers, hidden_size, reverse_source) is {ours}, expected ('lstm', 4, 1000, True)")
    bahdanau = RecurrentConfig.bahdanau(30_000, 30_000)
    ours = (bahdanau.attention, bahdanau.bidirectional_encoder, bahdanau.embedding_size)
    assert ours == ("bahdanau", True, 620), (
        f"bahdanau (attention, bidirectional_encoder, embedding_size) is {ours}, expected ('bahdanau', True, 620)")
    luong = RecurrentConfig.luong(50_000, 50_000)
    ours = (luong.attention, luong.score, luong.n_layers, luong.dropout)
    assert ours == ("luong", "general", 4, 0.2), (
        f"luong (attention, score, n_layers, dropout) is {ours}, expected ('luong', 'general', 4, 0.2)")
    # Sutskever et al. report 384M parameters; our count has two biases per gate and no softmax tricks
    count = count_recurrent_parameters(sutskever)
    assert 370e6 < count < 400e6, f"sutskever() has {count / 1e6:.1f}M parameters, expected 370M-400M (paper: 384M)"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(cell="lstn"), r"RecurrentConfig.cell: expected one of \['gru', 'lstm', 'rnn'\], got 'lstn'"),
        (dict(attention="luong_dot"), r"RecurrentConfig.attention: expected one of \['none', 'bahdanau', 'luong'\]"),
        (dict(score="concat"), r"RecurrentConfig.score: expected one of \['dot', 'general'\], got 'concat'"),
        (dict(hidden_size=0), "RecurrentConfig.hidden_size: expected a positive integer, got 0"),
        (dict(n_layers=1.5), "RecurrentConfig.n_layers: expected a positive integer, got 1.5"),
        (dict(dropout=1.0), r"RecurrentConfig.dropout: expected a value in \[0, 1\), got 1.0"),
        (dict(attention_size=0), "RecurrentConfig.attention_size: expected a positive integer or None, got 0"),
        (dict(bidirectional_encoder=True, hidden_size=7), "so it must be even, got 7"),
        (dict(src_pad_id=11), "pad ids must lie inside their vocabularies, got src_pad_id=11"),
    ],
)
def test_config_refuses_bad_values_with_one_clear_line(overrides, message, runtime_checks):
    with pytest.raises(ValueError, match=message):
        RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB, **overrides)


def test_config_round_trips_through_a_dict_and_refuses_unknown_fields():
    config = RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB, attention="bahdanau")
    again = RecurrentConfig.from_dict(config.to_dict())
    assert again == config, f"to_dict / from_dict does not round-trip: {config} came back as {again}"
    with pytest.raises(ValueError, match=r"unknown field\(s\) hidden; expected some of attention"):
        RecurrentConfig.from_dict({**config.to_dict(), "hidden": 3})


def test_out_of_vocabulary_ids_are_refused(runtime_checks):
    model = build_recurrent(RecurrentConfig.tiny(SRC_VOCAB, TGT_VOCAB))
    with pytest.raises(ValueError, match=r"src: expected token ids in \[0, 11\), got values in \[0, 11\]"):
        model(torch.tensor([[11, 0]]), torch.tensor([[1]]))
    with pytest.raises(ValueError, match=r"tgt_in: expected shape \(batch=1, tgt_seq\), got \(2, 1\)"):
        model(torch.tensor([[5, 0]]), torch.tensor([[1], [1]]))
