"""Character-level word features: a word's vector from its spelling.

Chapter: walkthrough/13_tagging.md. Paper: Lample et al. 2016, §4.1 (character-based models of
words, their Figure 4), following Ling et al. 2015; the same idea with a convolution is Ma &
Hovy 2016's char-CNN.

A word-embedding table gives every word it has not seen in training the one UNK vector, yet
"unfriendliness" tells a reader it is a noun, "quickly" an adverb, "1984" a number and "Paris"
a proper name. A character encoder reads each word's characters c_1 .. c_m and gives a vector
that depends on the spelling only:

    e_k = E[c_k]                                   (a character embedding)
    →h_k = LSTM(→h_{k-1}, e_k),  ←h_k = LSTM(←h_{k+1}, e_k)
    word vector = [→h_m ; ←h_1]                    (both directions' final states, concatenated)

The forward state ends on the word's last characters (suffixes: -ing, -ly, -ness), the backward
one on its first (prefixes, a capital letter). A tagger concatenates this vector with the word
embedding, so a known word gets both and an unknown word still gets the second.

Input: character ids (batch, seq, word_len), each word's characters right-padded with the pad
id (0), padding words all pad. Output (batch, seq, d_out), exactly zero at padding words. The
recurrence is our `transformer.rnn.RecurrentStack` (chapter 02), run over every real word of
the batch at once, `lengths` aware, so a word's vector never depends on its neighbours, its
position in the sentence or how much padding follows it.

The third kind, "cnn" (Ma & Hovy 2016, §2.1), slides `d_out` filters of width 3 over the
characters (chapter 12's `conv1d`, a zero vector beside each end of the word) and keeps each
filter's largest value over the windows centred on the word's characters (`max_over_time`):

    word vector = max_k  W [e_{k-1}; e_k; e_{k+1}] + b

A filter that fires on "ing" at the end or on a capital at the start finds it wherever the window
is, and every word costs one matrix multiply instead of a step per character, so it trains
several times faster than the recurrent kinds on a CPU.

Notation map: `d_char` is the character embedding size (Lample et al.: 25), `d_out` the word
vector's size, each direction's hidden state d_out / 2 (Lample et al.: 25 + 25 = 50), or the
number of filters of the char-CNN (Ma & Hovy: 30). `kind` is the encoder: "lstm" (Lample et al.),
"gru" (the same with GRU cells) or "cnn" (Ma & Hovy).

Deviations: none; one layer, no dropout inside (the tagger applies dropout to what it reads).
"""

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.classification.textcnn import Conv1d, max_over_time
from transformer.rnn.layers import RecurrentStack

CHARACTER_ENCODERS = ("lstm", "gru", "cnn")  # bidirectional recurrent encoders, or a char-CNN
CNN_WIDTH = 3  # the char-CNN's window (Ma & Hovy 2016)


class CharacterEncoder(nn.Module):
    """Each word's characters -> one vector of size `d_out` (zero for padding words)."""

    def __init__(self, n_chars: int, d_char: int, d_out: int, kind: str = "lstm", pad_id: int = 0):
        super().__init__()
        if kind not in CHARACTER_ENCODERS:
            raise ValueError(f"CharacterEncoder: expected kind in {CHARACTER_ENCODERS}, got {kind!r}")
        if kind != "cnn" and (d_out < 2 or d_out % 2):
            raise ValueError(f"CharacterEncoder: expected an even d_out >= 2 (d_out / 2 per direction), got {d_out}")
        if d_out < 1:
            raise ValueError(f"CharacterEncoder: expected d_out >= 1 filters, got {d_out}")
        if not 0 <= pad_id < n_chars:
            raise ValueError(f"CharacterEncoder: expected pad_id in [0, {n_chars}), got {pad_id}")
        self.n_chars, self.d_char, self.d_out, self.kind, self.pad_id = n_chars, d_char, d_out, kind, pad_id
        self.embedding = nn.Embedding(n_chars, d_char, padding_idx=pad_id)
        if kind == "cnn":
            self.encoder = Conv1d(d_char, d_out, CNN_WIDTH, padding=CNN_WIDTH // 2)
        else:
            self.encoder = RecurrentStack(kind, d_char, d_out // 2, bidirectional=True)

    def forward(self, chars: Int[Tensor, "batch seq word_len"]) -> Float[Tensor, "batch seq d_out"]:
        """The vector of each word; `chars[b, t]` holds word t's character ids, then pad ids."""
        expect_shape("chars", chars, "batch seq word_len")
        expect_ids("chars", chars, self.n_chars)
        real_chars = chars != self.pad_id
        if (real_chars[..., 1:] & ~real_chars[..., :-1]).any():
            raise ValueError("chars: expected each word's characters right-padded with the pad id, "
                             "got a character after a pad id inside a word")
        words = rearrange(chars, "batch seq word_len -> (batch seq) word_len")
        lengths = rearrange(real_chars.sum(dim=-1), "batch seq -> (batch seq)")
        real_words = lengths > 0
        vectors = self.embedding.weight.new_zeros(words.shape[0], self.d_out)
        if real_words.any():
            longest = int(lengths.max())
            vectors[real_words] = self._encode_words(words[real_words, :longest], lengths[real_words])
        return rearrange(vectors, "(batch seq) d_out -> batch seq d_out", batch=chars.shape[0])

    def _encode_words(
        self, words: Int[Tensor, "words word_len"], lengths: Int[Tensor, " words"]
    ) -> Float[Tensor, "words d_out"]:
        """[→h_m ; ←h_1] of each (non-empty) word: the two directions' final states (for "cnn": each
        filter's largest value over the word's windows)."""
        if self.kind == "cnn":
            real = torch.arange(words.shape[1], device=words.device) < lengths[:, None]
            embedded = self.embedding(words).masked_fill(~real[..., None], 0.0)
            # window k is centred on character k: only the windows centred on real characters count,
            # so a word's vector is the same however much character padding follows it
            return max_over_time(self.encoder(embedded), real)
        _, (h, *_) = self.encoder(self.embedding(words), lengths)
        return rearrange(h, "words directions hidden -> words (directions hidden)")

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, n_chars={self.n_chars}, d_char={self.d_char}, d_out={self.d_out}"
