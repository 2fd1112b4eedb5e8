"""Spec for `transformer.classification.textcnn`: the 1-D convolution as unfold + matmul,
max-over-time pooling that padding never wins, and Kim 2014's TextCNN.

Chapter: walkthrough/12_sentence_classification.md. Run with `pytest -m classification`.
"""

import pytest
import torch
from einops import rearrange
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, padded_ids, seeds
from torch import nn

from transformer.classification import Conv1d, TextCNN, TextCNNConfig, build_textcnn, conv1d, max_over_time, window_mask

pytestmark = pytest.mark.classification

F64 = torch.float64


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def assert_close(actual, expected, what: str, **tolerances) -> None:
    """`torch.testing.assert_close`, with the property that broke in front of its diagnostic."""
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def small_textcnn(vocab_size: int, widths=(2, 3, 5), seed: int = 0) -> TextCNN:
    torch.manual_seed(seed)
    return TextCNN(vocab_size, 3, embedding_size=6, filter_widths=widths, n_filters=4, dropout=0.5).double().eval()


# ---------------------------------------------------------------- the convolution


@given(sizes=distinct_sizes(4, max_value=6), width=st.integers(1, 5), data=st.data(), seed=seeds())
def test_conv1d_equals_torch_conv1d_with_copied_weights(sizes, width, data, seed):
    """Sliding a window (unfold) and multiplying by the flattened filters is nn.Conv1d's
    cross-correlation, for every width and every zero padding."""
    batch, seq, in_channels, out_channels = sizes
    padding = data.draw(st.integers(max(0, (width - seq + 1) // 2), width - 1), label="padding")
    torch.manual_seed(seed % 1000)
    theirs = nn.Conv1d(in_channels, out_channels, width, padding=padding).double()
    ours = Conv1d(in_channels, out_channels, width, padding=padding).double()
    ours.load_state_dict(theirs.state_dict())  # the same names and the same layout
    x = randn(batch, seq, in_channels, seed=seed)
    expected = rearrange(theirs(rearrange(x, "batch seq channels -> batch channels seq")),
                         "batch channels positions -> batch positions channels")
    assert_close(ours(x), expected, f"width {width}, padding {padding}: differs from nn.Conv1d")
    assert_close(conv1d(x, theirs.weight, None, padding), expected - theirs.bias,
                 f"width {width}, padding {padding}, no bias: differs from nn.Conv1d less its bias")


def test_conv1d_output_is_a_filter_dot_a_window():
    """Output position p is w . x[p : p + width] + b: here the sum of a window of ones, plus 1."""
    x = torch.arange(1.0, 6.0, dtype=F64)[None, :, None]  # the sequence 1, 2, 3, 4, 5
    output = conv1d(x, torch.ones(1, 1, 3, dtype=F64), torch.ones(1, dtype=F64))
    expected = torch.tensor([[[7.0], [10.0], [13.0]]], dtype=F64)  # 1+2+3+1, 2+3+4+1, 3+4+5+1
    assert_close(output, expected, "window sums of (1, 2, 3, 4, 5) with width 3, bias 1")


def test_conv1d_refuses_a_window_longer_than_the_padded_sequence(runtime_checks):
    with pytest.raises(ValueError, match=r"conv1d: expected padding >= 0 and seq \+ 2 \* padding >= width = 5, "
                                         r"got seq 2 and padding 1"):
        conv1d(torch.zeros(1, 2, 3), torch.zeros(4, 3, 5), padding=1)


# ---------------------------------------------------------------- max over time


@given(sizes=distinct_sizes(3, min_value=2), seed=seeds(), data=st.data())
def test_padding_positions_never_win_the_max(sizes, seed, data):
    """A masked position is left out of the max however large its value; a row with no allowed
    position gets 0."""
    batch, positions, channels = sizes
    features = randn(batch, positions, channels, seed=seed)
    mask = data.draw(st.lists(st.lists(st.booleans(), min_size=positions, max_size=positions),
                              min_size=batch, max_size=batch).map(torch.tensor), label="mask")
    pooled = max_over_time(features.masked_fill(~mask[..., None], 1e6), mask)
    for b in range(batch):
        allowed = features[b][mask[b]]
        expected = allowed.amax(dim=0) if len(allowed) else torch.zeros(channels, dtype=F64)
        assert_close(pooled[b], expected, f"sentence {b} (allowed positions {mask[b].tolist()}): a masked value won")


@given(seq=st.integers(6, 12), width=st.integers(1, 5), channels=st.integers(1, 4), seed=seeds(), data=st.data())
def test_max_over_time_is_invariant_to_where_a_pattern_occurs(seq, width, channels, seed, data):
    """With zero padding of width - 1, a pattern on a zero background meets the same windows
    wherever it sits, so the pooled features cannot tell where it was."""
    pattern = randn(width, channels, seed=seed)
    weight, bias = randn(5, channels, width, seed=seed + 1), randn(5, seed=seed + 2)
    first, second = data.draw(st.lists(st.integers(0, seq - width), min_size=2, max_size=2), label="offsets")

    def pooled_with_pattern_at(offset: int) -> torch.Tensor:
        x = torch.zeros(1, seq, channels, dtype=F64)
        x[0, offset : offset + width] = pattern
        return max_over_time(conv1d(x, weight, bias, padding=width - 1))

    assert_close(pooled_with_pattern_at(second), pooled_with_pattern_at(first),
                 f"moving the pattern from position {first} to {second} changed the pooled features")


@given(length=st.integers(1, 6), extra=st.integers(0, 4), width=st.integers(1, 5))
def test_a_window_counts_when_it_holds_a_real_token(length, extra, width):
    """Padded by width - 1 on both sides, window p covers positions p - width + 1 .. p, so it holds
    a real token exactly when p < length + width - 1."""
    real = (torch.arange(length + extra) < length)[None, :]
    mask = window_mask(real, width, padding=width - 1)
    expected = (torch.arange(length + extra + width - 1) < length + width - 1)[None, :]
    assert torch.equal(mask, expected), (
        f"length {length}, width {width}: windows {mask.int().tolist()}, expected {expected.int().tolist()}")


# ---------------------------------------------------------------- the model


@given(sizes=distinct_sizes(2, min_value=2, max_value=7), extra=st.integers(0, 4), seed=seeds(), data=st.data())
def test_padding_and_batch_mates_never_change_a_sentences_logits(sizes, extra, seed, data):
    """Padding embeds as zero vectors and only windows with a real word count for the max, so a
    sentence alone, or in a batch padded further, gets the same logits (eval: no dropout)."""
    batch, max_len = sizes
    model = small_textcnn(vocab_size=11, seed=seed % 1000)
    with torch.no_grad():  # a padding embedding that is not zero (loaded weights, say) must not matter either
        model.embedding.weight[0] = randn(6, seed=seed)
    ids = data.draw(padded_ids(batch, max_len, vocab=11))
    longer = torch.cat([ids, torch.zeros(batch, extra, dtype=torch.long)], dim=1)
    with torch.no_grad():
        together = model(longer)
        for b in range(batch):
            alone = model(ids[b : b + 1, : int((ids[b] != 0).sum())])
            assert_close(together[b : b + 1], alone, f"sentence {b}: its logits change with padding or batch-mates")


def test_a_sentence_shorter_than_every_filter_is_still_read():
    """One word, filters of width 3, 4, 5: the zero padding gives it windows, and different words
    give different sentence vectors."""
    model = small_textcnn(vocab_size=9, widths=(3, 4, 5))
    with torch.no_grad():
        vectors = model.sentence_vector(torch.tensor([[4], [5]]))
    assert torch.isfinite(vectors).all(), "a one-word sentence gives a non-finite sentence vector"
    assert not torch.equal(vectors[0], vectors[1]), "two different one-word sentences get the same vector"


def test_gradient_reaches_every_parameter():
    """Training moves every part: the output layer, every filter bank, and the embeddings of the words read."""
    model = small_textcnn(vocab_size=9).train()
    ids = torch.tensor([[1, 2, 3, 4, 0], [5, 6, 7, 0, 0]])
    nn.functional.cross_entropy(model(ids), torch.tensor([0, 2])).backward()
    for name, parameter in model.named_parameters():
        grad = parameter.grad if name != "embedding.weight" else parameter.grad[1:8]
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, f"no gradient reaches {name}"
    assert (model.embedding.weight.grad[0] == 0).all(), "the padding embedding got a gradient"


def test_dropout_acts_in_training_only():
    """Kim's dropout (p = 0.5) on the sentence vector: random while training, off in eval."""
    model = small_textcnn(vocab_size=9)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.equal(model(ids), model(ids)), "eval-mode logits differ between two runs"
        model.train()
        assert not torch.equal(model(ids), model(ids)), "training-mode logits do not vary: dropout is off"


def test_config_defaults_are_kims_and_round_trip():
    config = TextCNNConfig(vocab_size=50, n_classes=2)
    kim = (config.embedding_size, config.filter_widths, config.n_filters, config.dropout)
    assert kim == (300, (3, 4, 5), 100, 0.5), f"defaults {kim}, expected Kim's (300, (3, 4, 5), 100, 0.5)"
    values = {**TextCNNConfig.tiny(50, 2).to_dict(), "filter_widths": [2, 3]}  # as JSON gives it back
    restored = TextCNNConfig.from_dict(values)
    assert restored == TextCNNConfig.tiny(50, 2), f"from_dict(to_dict()) gives {restored}"
    model = build_textcnn(restored)
    assert [c.width for c in model.convolutions] == [2, 3], "the factory did not build one filter bank per width"
    with pytest.raises(ValueError, match=r"TextCNNConfig.filter_widths: expected one or more positive integers, got \(\)"):
        TextCNNConfig(50, 2, filter_widths=())
    with pytest.raises(ValueError, match=r"TextCNNConfig.dropout: expected a value in \[0, 1\), got 1.0"):
        TextCNNConfig(50, 2, dropout=1.0)
