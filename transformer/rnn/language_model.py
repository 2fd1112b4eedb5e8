"""Recurrent language models: an RNN, LSTM or GRU that predicts each next token and carries its state.

Chapter: walkthrough/14_language_models.md. Papers: Elman 1990; Mikolov et al. 2010 (a recurrent
language model); Graves 2013 (generating sequences with an LSTM, character by character);
Zaremba et al. 2014 (dropout between layers).

    h_t = Cell(h_{t-1}, E x_t),   p(x_{t+1} | x_0..x_t) = softmax(W_o h_t)

The model is the decoder of chapter 03 with nothing to decode from: its state is all it knows of
the past, so `start` reads a prefix into the state and `step` carries it one token on, at the
same cost whatever the length (no context window: `max_len` is None). Training reads windows of
the text, each from a zero state, and backpropagates through the window only (truncated
backpropagation through time, the window being the truncation). `use_cache=False` reruns the
whole text at every step instead of carrying the state: the same logits, for the spec.

`tie_embeddings` shares the output layer with the embedding (Press & Wolf 2017; Inan et al.
2017), which needs embedding_size == hidden_size.
"""

import dataclasses
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.interface import LanguageModel, State
from transformer.rnn.cells import CELLS
from transformer.rnn.layers import RecurrentStack


@dataclass(frozen=True)
class RecurrentLMConfig:
    """Every number the recurrent language-model factory needs."""

    vocab_size: int
    cell: str = "lstm"  # rnn | lstm | gru
    embedding_size: int = 256
    hidden_size: int = 256
    n_layers: int = 1
    dropout: float = 0.0
    tie_embeddings: bool = False
    forget_bias: float = 0.0
    pad_id: int = 0

    def __post_init__(self):
        check_fields(self, positive=("vocab_size", "embedding_size", "hidden_size", "n_layers"))
        check_choice(self, "cell", sorted(CELLS))
        check_fraction(self, "dropout")
        if self.tie_embeddings and self.embedding_size != self.hidden_size:
            raise ValueError(f"RecurrentLMConfig: tied embeddings need embedding_size == hidden_size, "
                             f"got {self.embedding_size} and {self.hidden_size}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"RecurrentLMConfig.pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")

    @classmethod
    def tiny(cls, vocab_size: int, **overrides) -> "RecurrentLMConfig":
        return cls(vocab_size, **{**dict(embedding_size=32, hidden_size=64), **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RecurrentLMConfig":
        return from_dict(cls, values)


class RecurrentLanguageModel(LanguageModel):
    """Embedding -> `RecurrentStack` (left to right) -> linear layer over the vocabulary."""

    max_len = None  # the state summarises any length of past

    def __init__(self, *, vocab_size: int, cell: str, embedding_size: int, hidden_size: int, n_layers: int,
                 dropout: float, tie_embeddings: bool, forget_bias: float, pad_id: int):
        super().__init__()
        self.pad_id, self.vocab_size = pad_id, vocab_size
        self.embed = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.stack = RecurrentStack(cell, embedding_size, hidden_size, n_layers, dropout, False, forget_bias)
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(hidden_size, vocab_size)
        if tie_embeddings:
            self.generator.weight = self.embed.weight

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq vocab"]:
        """Teacher forcing over whole windows; padding (at the end of a row) is carried past, never read."""
        self._check(ids, "ids")
        outputs, _ = self.stack(self.dropout(self.embed(ids)), (ids != self.pad_id).sum(dim=1))
        return self.generator(self.dropout(outputs))

    def start(self, prefix: Int[Tensor, "batch prefix"], use_cache: bool = True) -> tuple[Float[Tensor, "batch vocab"], State]:
        self._check(prefix, "prefix")
        if bool((prefix == self.pad_id).any()):
            raise ValueError(f"prefix: expected real tokens only (no padding id {self.pad_id}): the rows of a "
                             "batch to generate from must have the same length")
        if not use_cache:
            return self.forward(prefix)[:, -1], {"tokens": prefix}
        outputs, state = self.stack(self.dropout(self.embed(prefix)))
        return self.generator(self.dropout(outputs[:, -1])), dict(zip(("hidden", "cell"), state))

    def step(self, tokens: Int[Tensor, " batch"], state: State) -> tuple[Float[Tensor, "batch vocab"], State]:
        expect_shape("tokens", tokens, "batch")
        expect_ids("tokens", tokens, self.vocab_size)
        if "tokens" in state:  # no state carried: reread everything
            text = torch.cat([state["tokens"], tokens[:, None]], dim=1)
            return self.forward(text)[:, -1], {"tokens": text}
        output, new = self.stack.step(self.dropout(self.embed(tokens)), tuple(state[k] for k in ("hidden", "cell")
                                                                            if k in state))
        return self.generator(self.dropout(output)), dict(zip(("hidden", "cell"), new))

    def _check(self, ids: Tensor, name: str) -> None:
        expect_shape(name, ids, "batch seq")
        expect_ids(name, ids, self.vocab_size)
        if ids.shape[1] == 0:
            raise ValueError(f"{name}: expected at least one token, got shape {tuple(ids.shape)}")


def build_recurrent_language_model(config: RecurrentLMConfig) -> RecurrentLanguageModel:
    """The factory (PyTorch's default initialisation; the padding embedding starts at zero)."""
    return RecurrentLanguageModel(**config.to_dict())
