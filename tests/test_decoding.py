"""Spec for decoding: the cache changes nothing but speed; beam search scores what it claims."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transformer import TransformerConfig, build_transformer
from transformer.decoding import (
    beam_search,
    greedy_decode,
    length_penalty,
    sequence_log_prob,
    strip_special,
    translate_ids,
)

pytestmark = pytest.mark.decoding

BOS, EOS, PAD = 1, 2, 0
VOCAB = 9


def model_for(seed: int, norm_first: bool = False):
    torch.manual_seed(seed)
    config = TransformerConfig.tiny(VOCAB, VOCAB, d_model=16, n_heads=2, d_ff=24, dropout=0.0, norm_first=norm_first, final_norm=norm_first)
    model = build_transformer(config).double().eval()
    with torch.no_grad():  # a sharper model than Xavier init gives, so decisions are not near-ties
        model.generator.weight.mul_(3.0)
    return model


def sources(seed: int, batch: int = 3, length: int = 5):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, VOCAB, (batch, length), generator=g)
    src[0, length - 2 :] = PAD  # one padded row
    return src


@settings(max_examples=5)  # each example decodes a batch step by step; five seeds suffice
@given(st.integers(0, 1000), st.booleans())
def test_cached_and_uncached_decoding_give_the_same_logits(seed, norm_first):
    """decode_step with the key/value cache equals rerunning the decoder on the whole prefix."""
    model = model_for(seed, norm_first)
    src = sources(seed)
    tgt_in = torch.cat([torch.full((3, 1), BOS), torch.randint(3, VOCAB, (3, 6))], dim=1)
    full = model(src, tgt_in)
    state = model.start_decoding(src)
    for t in range(tgt_in.shape[1]):
        logits, state = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(logits, full[:, t], msg=lambda m: f"step {t}: cached logits differ: {m}")


def recurrent_for(seed: int, attention: str):
    from transformer.rnn import RecurrentConfig, build_recurrent

    torch.manual_seed(seed)
    config = RecurrentConfig.tiny(VOCAB, VOCAB, embedding_size=6, hidden_size=8, attention=attention,
                                  bidirectional_encoder=True)
    return build_recurrent(config).double().eval()


FAMILIES = ["transformer", "rnn-none", "lstm-bahdanau", "gru-luong"]


def any_family(name: str, seed: int):
    if name == "transformer":
        return model_for(seed)
    return recurrent_for(seed, name.split("-")[1])


@settings(max_examples=5)  # each example decodes a batch step by step; five seeds suffice
@pytest.mark.parametrize("family", FAMILIES)
@given(seed=st.integers(0, 1000))
def test_greedy_with_and_without_cache_agree_for_every_family(family, seed):
    """Through the interface only (`start_decoding(src, use_cache)`, `decode_step`): the same
    tokens and the same attention, whether the model reuses its state or reruns the prefix."""
    model, src = any_family(family, seed), sources(seed)
    cached, cached_attention = greedy_decode(model, src, BOS, EOS, max_len=8, use_cache=True, return_attention=True)
    uncached, uncached_attention = greedy_decode(model, src, BOS, EOS, max_len=8, use_cache=False, return_attention=True)
    assert torch.equal(cached, uncached), f"{family}: cached {cached.tolist()} vs uncached {uncached.tolist()}"
    if cached_attention is not None:  # compared while a row is still writing (after its EOS it reads padding)
        ended = (cached == EOS).long().cumsum(dim=1) - (cached == EOS).long() > 0
        live = ~ended[..., None].expand_as(cached_attention)
        torch.testing.assert_close(uncached_attention[live], cached_attention[live],
                                   msg=lambda m: f"{family}: attention differs without the cache: {m}")


@settings(max_examples=5)  # each example decodes a batch step by step; five seeds suffice
@given(st.integers(0, 1000))
def test_beam_size_one_equals_greedy(seed):
    """With one hypothesis kept, beam search takes the argmax at every step."""
    model, src = model_for(seed), sources(seed)
    greedy = [strip_special(row, EOS, PAD) for row in greedy_decode(model, src, BOS, EOS, 8).tolist()]
    beam = [strip_special(h[0].tokens, EOS, PAD) for h in beam_search(model, src, BOS, EOS, 8, beam_size=1)]
    assert beam == greedy, f"beam search with beam_size=1 should be greedy decoding: beam {beam}, greedy {greedy}"


@settings(max_examples=5)  # each example decodes a batch step by step; five seeds suffice
@given(st.integers(0, 1000), st.sampled_from([0.0, 0.6, 1.0]))
def test_beam_score_is_length_penalised_model_log_probability(seed, alpha):
    """Each hypothesis's score = log P(Y|X) recomputed by teacher forcing / lp(|Y|)."""
    model, src = model_for(seed), sources(seed)
    for b, hyps in enumerate(beam_search(model, src, BOS, EOS, 6, beam_size=3, alpha=alpha, n_best=3)):
        for h in hyps:
            recomputed = sequence_log_prob(model, src[b : b + 1], h.tokens, BOS)
            assert h.log_prob == pytest.approx(recomputed, abs=1e-5), f"source {b}, {h.tokens}"
            expected = recomputed / length_penalty(len(h.tokens), alpha)
            assert h.score == pytest.approx(expected, abs=1e-5), (
                f"source {b}, {h.tokens}: score {h.score} is not log P(Y|X) / lp(|Y|) = {expected} (alpha {alpha})")


@settings(max_examples=5)  # each example decodes a batch step by step; five seeds suffice
@given(st.integers(0, 1000))
def test_beam_hypotheses_are_sorted_and_end_at_eos_or_max_len(seed):
    model, src = model_for(seed), sources(seed)
    for hyps in beam_search(model, src, BOS, EOS, 5, beam_size=4, n_best=4):
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True), f"hypotheses are not sorted best first: scores {scores}"
        for h in hyps:
            assert (h.tokens[-1] == EOS and EOS not in h.tokens[:-1]) or len(h.tokens) == 5, h.tokens


def test_wider_beam_never_finds_a_worse_best_score_on_this_model():
    """Beam 4's best score is at least greedy's (beam 1) score, for these sources."""
    model, src = model_for(7), sources(7, batch=5)
    one = beam_search(model, src, BOS, EOS, 6, beam_size=1)
    four = beam_search(model, src, BOS, EOS, 6, beam_size=4)
    for a, b in zip(one, four):
        assert b[0].score >= a[0].score - 1e-9, (
            f"beam 4's best score {b[0].score} is below greedy's {a[0].score} by {a[0].score - b[0].score:.3g}")


def test_greedy_stops_at_eos_and_pads_after_it():
    """Once a row emits EOS, only padding follows; decoding ends when every row has ended."""
    model = model_for(0)
    with torch.no_grad():
        model.generator.bias.zero_()
        model.generator.bias[EOS] = 100.0  # EOS always wins
    ids = greedy_decode(model, sources(0), BOS, EOS, max_len=10)
    assert ids.shape == (3, 1) and (ids == EOS).all(), (
        f"every row emits EOS first, so decoding should end after one step of EOS: got {ids.tolist()}")


def test_greedy_stops_at_max_len():
    model = model_for(0)
    with torch.no_grad():
        model.generator.bias.zero_()
        model.generator.bias[5] = 100.0  # never EOS
    ids = greedy_decode(model, sources(0), BOS, EOS, max_len=4)
    assert ids.shape == (3, 4) and (ids == 5).all(), (
        f"without EOS, greedy should stop at max_len 4 with token 5 everywhere: got {ids.tolist()}")
    hyps = beam_search(model, sources(0), BOS, EOS, max_len=4, beam_size=2)
    lengths = [len(h[0].tokens) for h in hyps]
    assert all(length == 4 for length in lengths), f"without EOS, beam search should stop at max_len 4: {lengths}"


def test_translate_ids_strips_specials():
    model = model_for(1)
    out = translate_ids(model, sources(1), BOS, EOS, 6, beam_size=2)
    assert all(EOS not in row and PAD not in row for row in out), f"EOS or PAD left in the translations: {out}"


@given(st.integers(0, 1000))
@settings(max_examples=5)
def test_decoders_never_emit_pad_or_bos_even_when_the_model_prefers_them(seed):
    """PAD and BOS are never chosen: a PAD inside an output would be masked when re-read."""
    model = model_for(seed)
    with torch.no_grad():
        model.generator.bias[PAD] = 50.0
        model.generator.bias[BOS] = 49.0
    greedy = greedy_decode(model, sources(seed), BOS, EOS, 6)
    assert not (greedy == BOS).any() and not (greedy[:, 0] == PAD).any(), greedy.tolist()
    for hyps in beam_search(model, sources(seed), BOS, EOS, 6, beam_size=3, n_best=3):
        assert all(PAD not in h.tokens and BOS not in h.tokens for h in hyps), (
            f"beam search emitted PAD or BOS: {[h.tokens for h in hyps]}")


def test_bad_arguments_are_named(runtime_checks):
    model = model_for(0)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, sources(0), BOS, EOS, max_len=0)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, sources(0), BOS, EOS, 5, beam_size=0)
    with pytest.raises(ValueError, match=r"src: expected shape \(batch, src_seq\)"):
        greedy_decode(model, sources(0)[0], BOS, EOS, 5)


def test_rows_that_end_early_get_only_padding_after_their_eos():
    """Each row stops at its own EOS; later steps of that row are PAD while others go on."""
    model = model_for(3)
    src = sources(3)
    with torch.no_grad():  # make EOS likely for the first source row only: tie it to source token 3
        model.generator.bias.zero_()
    ids = greedy_decode(model, src, BOS, EOS, max_len=8)
    for row in ids.tolist():
        if EOS in row:
            after = row[row.index(EOS) + 1 :]
            assert all(t == PAD for t in after), f"tokens after EOS: {row}"
    reference = [strip_special(r, EOS, PAD) for r in ids.tolist()]
    for b in range(src.shape[0]):  # each row decoded alone gives the same tokens
        alone = greedy_decode(model, src[b : b + 1], BOS, EOS, max_len=8)
        tokens = strip_special(alone[0].tolist(), EOS, PAD)
        assert tokens == reference[b], f"row {b} decoded alone gives {tokens}, in the batch {reference[b]}"


def _eos_friendly_model(seed):
    model = model_for(seed)
    with torch.no_grad():
        model.generator.bias[EOS] = 6.0  # hypotheses end at different lengths
    return model


@given(st.integers(0, 1000), st.sampled_from([0.6, 1.0]))
@settings(max_examples=5)
def test_finished_hypotheses_are_ranked_by_penalised_score(seed, alpha):
    """With alpha > 0 and hypotheses of different lengths, the ranking follows log P / lp."""
    model, src = _eos_friendly_model(seed), sources(seed)
    results = beam_search(model, src, BOS, EOS, 6, beam_size=4, alpha=alpha, n_best=4)
    lengths = {len(h.tokens) for hyps in results for h in hyps if h.tokens[-1] == EOS}
    assume(len(lengths) > 1)  # the property is only interesting when finished lengths differ
    for b, hyps in enumerate(results):
        for h in hyps:
            recomputed = sequence_log_prob(model, src[b : b + 1], h.tokens, BOS)
            assert h.score == pytest.approx(recomputed / length_penalty(len(h.tokens), alpha), abs=1e-5), h.tokens
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True), f"n-best not ordered by score: {scores}"


def test_beam_finds_the_best_scoring_hypothesis_among_all_short_sequences():
    """On a tiny vocabulary, a wide beam finds the best penalised score over every sequence up to
    length 3 (found by brute force)."""
    import itertools

    torch.manual_seed(0)
    config = TransformerConfig.tiny(5, 5, d_model=8, n_heads=2, d_ff=8, n_encoder_layers=1, n_decoder_layers=1, dropout=0.0)
    model = build_transformer(config).double().eval()
    with torch.no_grad():
        model.generator.weight.mul_(4.0)
        model.generator.bias[EOS] = 1.0
    src = torch.tensor([[3, 4, 3]])
    finished = [list(body) + [EOS] for n in range(3) for body in itertools.product([3, 4], repeat=n)]
    cut_at_max_len = [list(body) for body in itertools.product([3, 4, EOS], repeat=3) if EOS not in body[:2]]
    candidates = finished + [c for c in cut_at_max_len if c not in finished]
    best = max(sequence_log_prob(model, src, c, BOS) / length_penalty(len(c), 0.6) for c in candidates)
    found = beam_search(model, src, BOS, EOS, 3, beam_size=5, alpha=0.6)[0][0]
    assert found.score == pytest.approx(best, abs=1e-9), f"beam found {found.tokens} ({found.score}), best is {best}"
