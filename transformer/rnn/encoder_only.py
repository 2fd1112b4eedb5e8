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

from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, check_positive, from_dict
from transformer.interface import SequenceClassifier, SequenceTagger
from transformer.pooling import POOLINGS, pool
from transformer.rnn.cells import CELLS
from transformer.rnn.layers import RecurrentStack


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
    pooling: str = "last"  # classifier only: last | mean | max (first: the backward direction's end)
    forget_bias: float = 0.0
    pad_id: int = 0

    def __post_init__(self):
        check_fields(self)
        check_positive(self, "vocab_size", "n_outputs", "embedding_size", "hidden_size", "n_layers")
        check_choice(self, "cell", sorted(CELLS))
        check_choice(self, "pooling", POOLINGS)
        check_fraction(self, "dropout")
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
                 bidirectional: bool, dropout: float, forget_bias: float, pad_id: int):
        super().__init__()
        self.pad_id, self.vocab_size = pad_id, vocab_size
        self.embed = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        directions = 2 if bidirectional else 1
        self.stack = RecurrentStack(cell, embedding_size, hidden_size // directions, n_layers, dropout,
                                    bidirectional, forget_bias)
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size

    def forward(self, ids: Int[Tensor, "batch seq"]) -> tuple[Float[Tensor, "batch seq hidden"], Tensor, Tensor]:
        """Top-layer outputs (zero at padding), the top layer's final state(s) concatenated over
        directions (batch, hidden), and the mask of real tokens."""
        expect_shape("ids", ids, "batch seq")
        expect_ids("ids", ids, self.vocab_size)
        mask = ids != self.pad_id
        lengths = mask.sum(dim=1)
        if ids.shape[1] == 0 or not bool((lengths > 0).all()):
            raise ValueError(f"ids: expected every sentence to hold at least one real token, got shape "
                             f"{tuple(ids.shape)} with an empty row")
        outputs, state = self.stack(self.dropout(self.embed(ids)), lengths)
        directions = self.stack.n_directions
        top = state[0][:, -directions:]  # h of the last layer, one per direction
        return outputs, rearrange(top, "batch dirs hidden -> batch (dirs hidden)"), mask


class RecurrentClassifier(SequenceClassifier):
    """A recurrent encoder, its final state (or pooled outputs), then a linear layer."""

    def __init__(self, *, vocab_size: int, n_outputs: int, cell: str, embedding_size: int, hidden_size: int,
                 n_layers: int, bidirectional: bool, dropout: float, pooling: str, forget_bias: float, pad_id: int):
        super().__init__()
        if pooling == "first":
            raise ValueError("RecurrentClassifier: pooling 'first' reads one position; a recurrent encoder's "
                             "sentence vector is its final state ('last'), or 'mean' / 'max'")
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
    """A (bidirectional) recurrent encoder with a linear layer at every position."""

    def __init__(self, *, vocab_size: int, n_outputs: int, cell: str, embedding_size: int, hidden_size: int,
                 n_layers: int, bidirectional: bool, dropout: float, pooling: str, forget_bias: float, pad_id: int):
        super().__init__()
        del pooling  # a tagger reads every position
        self.pad_id, self.n_tags = pad_id, n_outputs
        self.encoder = RecurrentEncoder(vocab_size, cell, embedding_size, hidden_size, n_layers, bidirectional,
                                        dropout, forget_bias, pad_id)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, n_outputs)

    def forward(
        self, ids: Int[Tensor, "batch seq"], chars: Int[Tensor, "batch seq word_len"] | None = None
    ) -> Float[Tensor, "batch seq tags"]:
        outputs, _, _ = self.encoder(ids)
        return self.output(self.dropout(outputs))


def build_recurrent_classifier(config: RecurrentEncoderConfig) -> RecurrentClassifier:
    """The factory (PyTorch's default initialisation; the padding embedding starts at zero)."""
    return RecurrentClassifier(**config.to_dict())


def build_recurrent_tagger(config: RecurrentEncoderConfig) -> RecurrentTagger:
    return RecurrentTagger(**config.to_dict())
