"""Spec for the character encoder (chapter 13): a word's vector comes from its own characters only,
padding words are zero, the final states are packed PyTorch's (nn.LSTM / nn.GRU, weights copied),
and the char-CNN is nn.Conv1d and a max over the word's characters."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import lengths, seeds
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from transformer.tagging.characters import CHARACTER_ENCODERS, CharacterEncoder

pytestmark = pytest.mark.tagging

N_CHARS = 9
THEIRS = {"lstm": nn.LSTM, "gru": nn.GRU}


@st.composite
def char_batches(draw, max_seq: int = 4, max_word_len: int = 5) -> torch.Tensor:
    """Character ids (batch, seq, word_len): sentences right-padded with all-pad words, each real word
    1..word_len characters in [1, N_CHARS) followed by pad ids (0)."""
    batch, seq, word_len = draw(st.integers(1, 3)), draw(st.integers(1, max_seq)), draw(st.integers(1, max_word_len))
    sentence_lengths = draw(lengths(batch, seq))
    generator = torch.Generator().manual_seed(draw(seeds()))
    chars = torch.randint(1, N_CHARS, (batch, seq, word_len), generator=generator)
    word_lengths = torch.randint(1, word_len + 1, (batch, seq), generator=generator)
    word_lengths = word_lengths.masked_fill(torch.arange(seq)[None, :] >= sentence_lengths[:, None], 0)
    return chars.masked_fill(torch.arange(word_len) >= word_lengths[..., None], 0)


def encoder(kind: str, d_out: int = 6) -> CharacterEncoder:
    return CharacterEncoder(N_CHARS, 4, d_out, kind=kind).double().eval()


@given(chars=char_batches(), kind=st.sampled_from(sorted(THEIRS)))
def test_final_states_equal_packed_pytorch_with_copied_weights(chars, kind):
    """[→h_m ; ←h_1] at each word's true length is what nn.LSTM / nn.GRU give a packed batch of words."""
    ours = encoder(kind)
    theirs = THEIRS[kind](4, 3, batch_first=True, bidirectional=True).double().eval()
    with torch.no_grad():
        for direction, cell in enumerate(ours.encoder.cells):
            suffix = "_l0" + ("_reverse" if direction else "")
            getattr(theirs, "weight_ih" + suffix).copy_(cell.w_ih.weight)
            getattr(theirs, "weight_hh" + suffix).copy_(cell.w_hh.weight)
            getattr(theirs, "bias_ih" + suffix).copy_(cell.w_ih.bias)
            getattr(theirs, "bias_hh" + suffix).copy_(cell.w_hh.bias)
    words = chars.reshape(-1, chars.shape[-1])
    word_lengths = (words != 0).sum(dim=1)
    real = word_lengths > 0
    packed = pack_padded_sequence(ours.embedding(words[real]), word_lengths[real], batch_first=True, enforce_sorted=False)
    _, final = theirs(packed)
    h = final[0] if kind == "lstm" else final
    expected = torch.cat([h[0], h[1]], dim=-1)
    actual = ours(chars).reshape(-1, 6)[real]
    torch.testing.assert_close(actual, expected, msg=lambda m: f"{kind}: word vectors differ from packed PyTorch. {m}")


@given(chars=char_batches(), kind=st.sampled_from(CHARACTER_ENCODERS))
def test_padding_words_give_exactly_zero(chars, kind):
    """A word with no characters has no spelling to encode: its vector is 0, real words' are not all 0."""
    vectors = encoder(kind)(chars)
    padding = (chars == 0).all(dim=-1)
    assert vectors.shape == (*chars.shape[:2], 6), f"expected (batch, seq, d_out=6), got {tuple(vectors.shape)}"
    assert (vectors[padding] == 0).all(), "a padding word's vector is not zero"
    assert (vectors[~padding].abs().sum(dim=-1) > 0).all(), "a real word's vector is all zero"


@given(chars=char_batches(), kind=st.sampled_from(CHARACTER_ENCODERS), extra=st.integers(1, 3), seed=seeds())
def test_a_word_vector_depends_only_on_its_own_characters(chars, kind, extra, seed):
    """Alone in a batch of one, after more character padding, among other neighbours: the same vector."""
    model = encoder(kind)
    vectors = model(chars)
    wider = torch.cat([chars, torch.zeros(*chars.shape[:2], extra, dtype=torch.long)], dim=-1)
    torch.testing.assert_close(model(wider), vectors, msg=lambda m: f"extra character padding changed the vectors. {m}")
    generator = torch.Generator().manual_seed(seed)
    neighbours = torch.randint(1, N_CHARS, chars.shape, generator=generator).masked_fill(chars == 0, 0)
    for b, t in (chars != 0).any(dim=-1).nonzero().tolist():
        alone = model(chars[b : b + 1, t : t + 1])[0, 0]
        torch.testing.assert_close(alone, vectors[b, t], msg=lambda m, b=b, t=t: f"word ({b}, {t}) depends on its batch. {m}")
        mirror = chars.shape[1] - 1 - t  # another position (unless it is the middle one), new neighbours
        moved = neighbours.clone()
        moved[b, mirror] = chars[b, t]
        torch.testing.assert_close(model(moved)[b, mirror], vectors[b, t],
                                   msg=lambda m, b=b, t=t: f"word ({b}, {t}) depends on its position or neighbours. {m}")


@given(chars=char_batches())
def test_char_cnn_is_pytorch_conv1d_then_the_max_over_each_word(chars):
    """Ma & Hovy's char-CNN: nn.Conv1d (width 3, padding 1) over each word alone, max over its characters."""
    ours = encoder("cnn")
    theirs = nn.Conv1d(4, 6, 3, padding=1).double()
    with torch.no_grad():
        theirs.weight.copy_(ours.encoder.weight)
        theirs.bias.copy_(ours.encoder.bias)
    vectors = ours(chars)
    for b, t in (chars != 0).any(dim=-1).nonzero().tolist():
        word = chars[b, t][chars[b, t] != 0]
        maps = theirs(ours.embedding(word).T[None])[0]  # (filters, characters)
        torch.testing.assert_close(vectors[b, t], maps.amax(dim=-1),
                                   msg=lambda m, b=b, t=t: f"cnn: word ({b}, {t}) differs from nn.Conv1d + max. {m}")


@pytest.mark.parametrize("kind", CHARACTER_ENCODERS)
def test_spelling_reaches_the_vector_from_both_ends(kind):
    """Changing the first or the last character changes the vector: both ends of the word are read."""
    model = encoder(kind)
    word = torch.tensor([[[1, 2, 3, 4, 5]]])
    first, last = word.clone(), word.clone()
    first[..., 0], last[..., -1] = 6, 6
    base = model(word)
    for name, changed in (("first", first), ("last", last)):
        assert not torch.allclose(model(changed), base), f"changing the {name} character left the vector unchanged"


def test_gradients_reach_the_character_embedding():
    """Training a tagger through its character features updates the characters' embedding."""
    model = CharacterEncoder(N_CHARS, 4, 6)
    model(torch.tensor([[[1, 2, 0], [3, 0, 0]], [[4, 5, 6], [0, 0, 0]]])).sum().backward()
    grad = model.embedding.weight.grad
    assert grad[1:7].abs().sum(dim=1).gt(0).all(), "a character that was read got no gradient"
    assert (grad[0] == 0).all() and (grad[7:] == 0).all(), "the pad id or an unread character got a gradient"


def test_bad_arguments_and_input_are_refused_in_one_line(runtime_checks):
    with pytest.raises(ValueError, match=r"CharacterEncoder: expected kind in \('lstm', 'gru', 'cnn'\), got 'rnn'"):
        CharacterEncoder(N_CHARS, 4, 6, kind="rnn")
    with pytest.raises(ValueError, match=r"expected an even d_out >= 2 .*got 5"):
        CharacterEncoder(N_CHARS, 4, 5)
    model = CharacterEncoder(N_CHARS, 4, 6)
    with pytest.raises(ValueError, match=r"chars: expected shape \(batch, seq, word_len\), got \(2, 3\)"):
        model(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"chars: expected token ids in \[0, 9\), got values in \[0, 9\]"):
        model(torch.tensor([[[1, 9, 0]]]))
    with pytest.raises(ValueError, match="right-padded with the pad id, got a character after a pad id"):
        model(torch.tensor([[[1, 0, 2]]]))
