"""Recurrent classifiers and taggers: a recurrent encoder with a linear layer on top.

Chapters: walkthrough/12_sentence_classification.md and 13_tagging.md. The same `RecurrentStack`
as chapters 02-03 reads the sentence; what is read off it depends on the shape:

    classifier  logits = W_o pool(h_0 .. h_{n-1})     one distribution per sentence
    tagger      logits_t = W_o h_t                    one distribution per token

For a classifier `pooling="last"` takes the final state at each sentence's true length (the
state carried past padding, chapter 02): "the last word's state is the sentence's meaning". A
bidirectional encoder (Schuster & Paliwal 1997) concatenates the forward direction's final state
with the backward direction's, which has read the sentence from its end to its first word.
`"mean"` and `"max"` pool the top layer's outputs over the real positions instead. A tagger reads
every position's output; bidirectional, each one has seen the words on both sides (Graves &
Schmidhuber 2005; the BiLSTM tagger of Huang et al. 2015).

`hidden_size` counts both directions, as in `RecurrentConfig`: a bidirectional encoder has
hidden_size / 2 units per direction. Dropout on the embeddings and on what the output layer reads.
"""

import dataclasses
from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.interface import SequenceClassifier, SequenceTagger
from transformer.pooling import POOLINGS, pool
from transformer.rnn.cells import CELLS
from transformer.rnn.layers import RecurrentStack
from transformer.tagging.characters import CHARACTER_ENCODERS, CharacterEncoder
from transformer.tagging.head import TagHead


@dataclass(frozen=True)
class RecurrentEncoderConfig:
    """Every number the recurrent classifier and tagger factories need."""

    vocab_size: int
    n_outputs: int  # classes of a classifier, tags of a tagger
    cell: str = "lstm"  # rnn | lstm | gru
    embedding_size: int = 128
    hidden_size: int = 256  # both directions together
    n_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    pooling: str = "last"  # classifier only: last | mean | max
    forget_bias: float = 0.0
    pad_id: int = 0
    char_features: str = "none"  # tagger only: none | lstm | gru (a bidirectional encoder over each word's letters) | cnn
    char_vocab_size: int = 0  # the task's characters (set from the task's data)
    char_size: int = 32  # character embedding
    char_output: int = 64  # a word's vector from its characters, both directions
    crf: bool = False  # tagger only: a linear-chain CRF output layer

    def __post_init__(self):
        check_fields(self, positive=("vocab_size", "n_outputs", "embedding_size", "hidden_size", "n_layers", "char_size", "char_output"))
        check_choice(self, "cell", sorted(CELLS))
        check_choice(self, "pooling", POOLINGS)
        check_choice(self, "char_features", ("none", *CHARACTER_ENCODERS))
        check_fraction(self, "dropout")
        if self.char_features != "none" and self.char_vocab_size < 5:
            raise ValueError(f"RecurrentEncoderConfig.char_vocab_size: character features need the task's characters "
                             f"(at least the 4 specials and one letter), got {self.char_vocab_size}")
        if self.bidirectional and self.hidden_size % 2:
            raise ValueError(f"RecurrentEncoderConfig: a bidirectional encoder splits hidden_size over two "
                             f"directions, so it must be even, got {self.hidden_size}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"RecurrentEncoderConfig.pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")

    @classmethod
    def tiny(cls, vocab_size: int, n_outputs: int, **overrides) -> "RecurrentEncoderConfig":
        """For tests and the synthetic tasks: trains in seconds on a CPU."""
        return cls(vocab_size, n_outputs, **{**dict(embedding_size=32, hidden_size=64), **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RecurrentEncoderConfig":
        return from_dict(cls, values)


class RecurrentEncoder(nn.Module):
    """Embedding, dropout and a (bi)directional `RecurrentStack` over the real tokens of each sentence."""

    def __init__(self, vocab_size: int, cell: str, embedding_size: int, hidden_size: int, n_layers: int,
                 bidirectional: bool, dropout: float, forget_bias: float, pad_id: int, extra_size: int = 0):
        super().__init__()
        self.pad_id, self.vocab_size = pad_id, vocab_size
        self.embed = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        directions = 2 if bidirectional else 1
        self.stack = RecurrentStack(cell, embedding_size + extra_size, hidden_size // directions, n_layers, dropout,
                                    bidirectional, forget_bias)
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size

    def forward(
        self, ids: Int[Tensor, "batch seq"], extra: Float[Tensor, "batch seq extra"] | None = None
    ) -> tuple[Float[Tensor, "batch seq hidden"], Tensor, Tensor]:
        """Top-layer outputs (zero at padding), the top layer's final state(s) concatenated over
        directions (batch, hidden), and the mask of real tokens. `extra` features of each word
        (its spelling, for a tagger) are read beside its embedding."""
        expect_shape("ids", ids, "batch seq")
        expect_ids("ids", ids, self.vocab_size)
        mask = ids != self.pad_id
        lengths = mask.sum(dim=1)
        if ids.shape[1] == 0 or not bool((lengths > 0).all()):
            raise ValueError(f"ids: expected every sentence to hold at least one real token, got shape "
                             f"{tuple(ids.shape)} with an empty row")
        x = self.embed(ids) if extra is None else torch.cat([self.embed(ids), extra], dim=-1)
        outputs, state = self.stack(self.dropout(x), lengths)
        directions = self.stack.n_directions
        top = state[0][:, -directions:]  # h of the last layer, one per direction
        return outputs, rearrange(top, "batch dirs hidden -> batch (dirs hidden)"), mask


class RecurrentClassifier(SequenceClassifier):
    """A recurrent encoder, its final state (or pooled outputs), then a linear layer."""

    def __init__(self, *, vocab_size: int, n_outputs: int, cell: str, embedding_size: int, hidden_size: int,
                 n_layers: int, bidirectional: bool, dropout: float, pooling: str, forget_bias: float, pad_id: int,
                 char_features: str = "none", char_vocab_size: int = 0, char_size: int = 32, char_output: int = 64,
                 crf: bool = False):
        super().__init__()
        if pooling == "first":
            raise ValueError("RecurrentClassifier: pooling 'first' reads one position; a recurrent encoder's "
                             "sentence vector is its final state ('last'), or 'mean' / 'max'")
        if char_features != "none" or crf:
            raise ValueError("RecurrentClassifier: character features and a CRF are options of the tagger")
        self.pad_id, self.n_classes, self.pooling = pad_id, n_outputs, pooling
        self.encoder = RecurrentEncoder(vocab_size, cell, embedding_size, hidden_size, n_layers, bidirectional,
                                        dropout, forget_bias, pad_id)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, n_outputs)

    def sentence_vector(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch hidden"]:
        outputs, final, mask = self.encoder(ids)
        return final if self.pooling == "last" else pool(outputs, mask, self.pooling)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch classes"]:
        return self.output(self.dropout(self.sentence_vector(ids)))


class RecurrentTagger(SequenceTagger):
    """A (bidirectional) recurrent encoder with a tag head at every position (optionally reading
    each word's characters beside its embedding, and a CRF over the tags)."""

    def __init__(self, *, vocab_size: int, n_outputs: int, cell: str, embedding_size: int, hidden_size: int,
                 n_layers: int, bidirectional: bool, dropout: float, pooling: str, forget_bias: float, pad_id: int,
                 char_features: str = "none", char_vocab_size: int = 0, char_size: int = 32, char_output: int = 64,
                 crf: bool = False):
        super().__init__()
        del pooling  # a tagger reads every position
        self.pad_id, self.n_tags = pad_id, n_outputs
        self.chars = (CharacterEncoder(char_vocab_size, char_size, char_output, char_features, pad_id)
                      if char_features != "none" else None)
        self.encoder = RecurrentEncoder(vocab_size, cell, embedding_size, hidden_size, n_layers, bidirectional,
                                        dropout, forget_bias, pad_id, char_output if self.chars is not None else 0)
        self.head = TagHead(hidden_size, n_outputs, dropout, crf)

    def forward(
        self, ids: Int[Tensor, "batch seq"], chars: Int[Tensor, "batch seq word_len"] | None = None
    ) -> Float[Tensor, "batch seq tags"]:
        """Tag scores; `chars` is read only by a tagger built with character features."""
        spelling = None
        if self.chars is not None:
            if chars is None:
                raise ValueError("chars: this tagger reads each word's characters, got None")
            spelling = self.chars(chars)
        outputs, _, _ = self.encoder(ids, spelling)
        return self.head(outputs)

    def loss(self, scores, tags, mask, smoothing: float = 0.0):
        return self.head.loss(scores, tags, mask, smoothing)

    def predict(self, scores, mask):
        return self.head.predict(scores, mask)


def build_recurrent_classifier(config: RecurrentEncoderConfig) -> RecurrentClassifier:
    """The factory (PyTorch's default initialisation; the padding embedding starts at zero)."""
    return RecurrentClassifier(**config.to_dict())


def build_recurrent_tagger(config: RecurrentEncoderConfig) -> RecurrentTagger:
    return RecurrentTagger(**config.to_dict())
