"""Spec for the recurrent models of the other shapes: classifier, tagger, language model.

Chapters: walkthrough/12_sentence_classification.md, 13_tagging.md, 14_language_models.md.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_stack_weights
from strategies import padded_ids, seeds
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from transformer.rnn.encoder_only import RecurrentEncoderConfig, build_recurrent_classifier, build_recurrent_tagger
from transformer.rnn.language_model import RecurrentLMConfig, build_recurrent_language_model

VOCAB, CLASSES = 15, 3
THEIRS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def recurrent_classifier(cell, bidirectional, pooling="last", seed=0):
    torch.manual_seed(seed)
    config = RecurrentEncoderConfig(VOCAB, CLASSES, cell=cell, embedding_size=5, hidden_size=8, n_layers=2,
                                    bidirectional=bidirectional, pooling=pooling)
    return build_recurrent_classifier(config).double().eval()


@pytest.mark.classification
@given(cell=st.sampled_from(sorted(THEIRS)), bidirectional=st.booleans(), batch=st.integers(1, 4),
       seq=st.integers(1, 6), data=st.data())
def test_final_state_equals_torch_rnn_on_a_packed_batch(cell, bidirectional, batch, seq, data):
    """The sentence vector of pooling="last" is what nn.LSTM/GRU/RNN's h_n holds for a packed batch:
    the top layer's state at each true length (and, backwards, after reading the first word)."""
    model = recurrent_classifier(cell, bidirectional)
    stack = model.encoder.stack
    theirs = THEIRS[cell](5, stack.hidden_size, 2, batch_first=True, bidirectional=bidirectional).double().eval()
    copy_stack_weights(stack, theirs)
    ids = data.draw(padded_ids(batch, seq, VOCAB))
    lengths = (ids != 0).sum(dim=1)
    packed = pack_padded_sequence(model.encoder.embed(ids), lengths, batch_first=True, enforce_sorted=False)
    h_n = theirs(packed)[1]
    h_n = h_n[0] if cell == "lstm" else h_n
    directions = 2 if bidirectional else 1
    expected = torch.cat([h_n[-directions + d] for d in range(directions)], dim=-1)
    torch.testing.assert_close(model.sentence_vector(ids), expected,
                               msg=lambda m: f"{cell} (bidirectional={bidirectional}) final state differs from torch's: {m}")


@pytest.mark.classification
@given(cell=st.sampled_from(sorted(THEIRS)), pooling=st.sampled_from(["last", "mean", "max"]), bidirectional=st.booleans(),
       batch=st.integers(1, 3), seq=st.integers(1, 5), extra=st.integers(1, 3), data=st.data())
def test_classifier_ignores_padding_and_batch_mates(cell, pooling, bidirectional, batch, seq, extra, data):
    model = recurrent_classifier(cell, bidirectional, pooling)
    ids = data.draw(padded_ids(batch, seq, VOCAB))
    padded = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    together = model(padded)
    for b in range(batch):
        alone = model(ids[b : b + 1, : int((ids[b] != 0).sum())])
        torch.testing.assert_close(together[b], alone[0], msg=lambda m, b=b: f"{cell}/{pooling}: row {b} changed: {m}")


@pytest.mark.tagging
@given(cell=st.sampled_from(sorted(THEIRS)), batch=st.integers(1, 3), seq=st.integers(1, 5), extra=st.integers(1, 3),
       data=st.data())
def test_bidirectional_tagger_scores_at_real_positions_ignore_padding(cell, batch, seq, extra, data):
    torch.manual_seed(0)
    config = RecurrentEncoderConfig(VOCAB, 4, cell=cell, embedding_size=5, hidden_size=8, bidirectional=True)
    model = build_recurrent_tagger(config).double().eval()
    ids = data.draw(padded_ids(batch, seq, VOCAB))
    padded = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    mask = ids != 0
    torch.testing.assert_close(model(padded)[:, :seq][mask], model(ids)[mask],
                               msg=lambda m: f"{cell}: padding changed real tag scores: {m}")


def language_model(cell: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_recurrent_language_model(RecurrentLMConfig(VOCAB, cell=cell, embedding_size=6, hidden_size=7,
                                                            n_layers=2)).double().eval()


@pytest.mark.language_models
@given(cell=st.sampled_from(sorted(THEIRS)), seq=st.integers(2, 7), cut=st.integers(0, 5), seed=seeds())
def test_language_model_output_at_t_never_depends_on_later_tokens(cell, seq, cut, seed):
    cut = min(cut, seq - 2)
    model = language_model(cell, seed)
    ids = torch.randint(1, VOCAB, (2, seq), generator=torch.Generator().manual_seed(seed))
    changed = ids.clone()
    changed[:, cut + 1 :] = (changed[:, cut + 1 :] % (VOCAB - 1)) + 1
    torch.testing.assert_close(model(changed)[:, : cut + 1], model(ids)[:, : cut + 1],
                               msg=lambda m: f"{cell}: tokens after {cut} changed earlier logits: {m}")


@pytest.mark.language_models
@given(cell=st.sampled_from(sorted(THEIRS)), prefix=st.integers(1, 4), steps=st.integers(1, 6), seed=seeds(),
       use_cache=st.booleans())
def test_stepwise_generation_equals_the_full_forward_pass(cell, prefix, steps, seed, use_cache):
    """Carrying the state step by step (or rereading everything, without the cache) gives forward's logits."""
    model = language_model(cell, seed)
    text = torch.randint(1, VOCAB, (2, prefix + steps), generator=torch.Generator().manual_seed(seed))
    full = model(text)
    logits, state = model.start(text[:, :prefix], use_cache=use_cache)
    for t in range(prefix, prefix + steps):
        torch.testing.assert_close(logits, full[:, t - 1], msg=lambda m, t=t: f"{cell}: step before token {t}: {m}")
        logits, state = model.step(text[:, t], state)
    torch.testing.assert_close(logits, full[:, -1], msg=lambda m: f"{cell}: the last step: {m}")
    assert model.max_len is None, "a recurrent language model has no context window"
