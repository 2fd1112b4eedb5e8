"""Spec for the encoder-only Transformer: a sentence classifier and a tagger on chapter 07's encoder.

Chapters: walkthrough/12_sentence_classification.md and 13_tagging.md.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import padded_ids, seeds

from transformer.encoder_only import EncoderOnlyConfig, build_transformer_classifier, build_transformer_tagger
from transformer.interface import SequenceClassifier, SequenceTagger

VOCAB, CLASSES, TAGS = 17, 3, 5


def classifier(pooling: str, seed: int = 0):
    torch.manual_seed(seed)
    config = EncoderOnlyConfig.tiny(VOCAB, CLASSES, d_model=16, n_heads=2, d_ff=24, dropout=0.0, pooling=pooling)
    return build_transformer_classifier(config).double().eval()


def tagger(seed: int = 0):
    torch.manual_seed(seed)
    config = EncoderOnlyConfig.tiny(VOCAB, TAGS, d_model=16, n_heads=2, d_ff=24, dropout=0.0)
    return build_transformer_tagger(config).double().eval()


@pytest.mark.classification
@given(pooling=st.sampled_from(["first", "mean", "max", "last"]), batch=st.integers(1, 4), seq=st.integers(1, 6),
       extra=st.integers(1, 4), data=st.data())
def test_padding_and_batch_mates_never_change_a_sentences_logits(pooling, batch, seq, extra, data):
    """Each sentence alone, or in a batch padded further: the same class logits."""
    model = classifier(pooling)
    ids = data.draw(padded_ids(batch, seq, VOCAB))
    padded = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    together = model(padded)
    for b in range(batch):
        alone = model(ids[b : b + 1, : int((ids[b] != 0).sum())])
        torch.testing.assert_close(together[b], alone[0], msg=lambda m, b=b: f"{pooling}: sentence {b} changed: {m}")


@pytest.mark.classification
def test_first_token_pooling_reads_a_prepended_cls_token():
    """pooling="first" prepends cls_id: the attention maps have one position more than the sentence."""
    model = classifier("first")
    maps = model.attention_maps(torch.tensor([[4, 5, 6]]))
    assert maps[0].shape == (1, 2, 4, 4), f"expected [CLS] + 3 tokens, got weights of shape {tuple(maps[0].shape)}"
    assert isinstance(model, SequenceClassifier), f"expected a SequenceClassifier, got {type(model).__name__}"
    vector = model.sentence_vector(torch.tensor([[4]]))
    assert vector.shape == (1, 16), f"a sentence vector has shape {tuple(vector.shape)}, expected (1, 16)"


@pytest.mark.tagging
@given(batch=st.integers(1, 4), seq=st.integers(1, 6), extra=st.integers(1, 4), seed=seeds(), data=st.data())
def test_tagger_scores_at_real_positions_ignore_padding(batch, seq, extra, seed, data):
    model = tagger(seed)
    ids = data.draw(padded_ids(batch, seq, VOCAB))
    padded = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    mask = ids != 0
    torch.testing.assert_close(model(padded)[:, :seq][mask], model(ids)[mask],
                               msg=lambda m: f"padding changed the tag scores of real tokens: {m}")
    assert isinstance(model, SequenceTagger) and model(ids).shape == (batch, seq, TAGS), "one score per tag per token"


@pytest.mark.tagging
def test_tagger_loss_and_accuracy_count_real_positions_only():
    """The default output layer: token cross-entropy over the mask, argmax tags, 0 at padding."""
    model = tagger()
    ids = torch.tensor([[3, 4, 0]])
    scores = model(ids)
    mask = ids != 0
    tags = torch.tensor([[1, 2, 4]])
    expected = torch.nn.functional.cross_entropy(scores[mask], tags[mask])
    torch.testing.assert_close(model.loss(scores, tags, mask), expected,
                               msg=lambda m: f"the loss must average over the 2 real tokens only: {m}")
    assert model.predict(scores, mask)[0, 2] == 0, "padding positions get tag 0"


@pytest.mark.classification
def test_an_empty_sentence_is_refused_in_one_line(runtime_checks):
    with pytest.raises(ValueError, match="at least one real token"):
        classifier("mean")(torch.tensor([[3, 4], [0, 0]]))
    with pytest.raises(ValueError, match="pooling"):
        EncoderOnlyConfig(VOCAB, CLASSES, pooling="median")
