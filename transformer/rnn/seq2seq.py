"""The recurrent encoder-decoder, with or without attention, behind the shared `Seq2Seq` interface.

Chapters: walkthrough/03_seq2seq.md (no attention) and 04_attention_for_rnns.md (attention).
Papers: Sutskever et al. 2014, §2-3 (an encoder reads the source into its final state, which
starts the decoder; the source read reversed); Bahdanau et al. 2015, §3 (a bidirectional
encoder, additive attention computed from the previous decoder state s_{i-1}, the context fed
into the decoder's input); Luong et al. 2015, §3 (attention from the current decoder state h_t,
the attentional state h̃_t = tanh(W_c [c_t; h_t]) predicts the word and is fed to the next step:
"input feeding", §3.3).

One decoder step, for each `attention` setting (e = embedding of the previous target token):

    "none"      h_t = RNN(h_{t-1}, e)                               logits = W_s h_t
    "bahdanau"  c = attend(h_{t-1}); h_t = RNN(h_{t-1}, [e; c])     logits = W_s tanh(W_c [h_t; c; e])
    "luong"     h_t = RNN(h_{t-1}, [e; h̃_{t-1}]); c = attend(h_t)  logits = W_s h̃_t, h̃_t = tanh(W_c [c; h_t])

With several layers, attention reads and writes the top layer. Teacher forcing: `forward` feeds
the true previous token at every step. The decoder starts from the encoder's final state at
each sequence's true length (layer by layer; so both stacks have `n_layers`). A bidirectional
encoder has hidden_size/2 units per direction and the two final states are concatenated.

Notation map: W_s -> `generator`; W_c -> `combine`; the paper's s_i / h_t -> the decoder
state's top layer. Deviations: Bahdanau et al. start the decoder from tanh(W_s h←_1) and use a
maxout output layer; we start from the encoder's final states and use a tanh layer. Luong's
input feeding is always on with Luong attention. Dropout (Zaremba et al. 2014; Luong used 0.2)
on embeddings, between layers and before the generator.
"""

import dataclasses
from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.interface import DecoderState, Seq2Seq
from transformer.rnn.attention import BahdanauAttention, LuongAttention
from transformer.rnn.cells import CELLS, State
from transformer.rnn.layers import RecurrentStack, reverse_padded

ATTENTION = ("none", "bahdanau", "luong")


@dataclass(frozen=True)
class RecurrentConfig:
    """Every number the recurrent model factory needs."""

    src_vocab_size: int
    tgt_vocab_size: int
    cell: str = "lstm"  # rnn | lstm | gru
    embedding_size: int = 256
    hidden_size: int = 256  # decoder units per layer (encoder: the same, split over directions)
    n_layers: int = 1
    dropout: float = 0.0
    attention: str = "none"  # none | bahdanau | luong
    score: str = "general"  # Luong's score: dot | general
    attention_size: int | None = None  # Bahdanau's scoring layer; None: hidden_size
    bidirectional_encoder: bool = False
    reverse_source: bool = False
    forget_bias: float = 0.0  # added to the LSTM forget-gate bias at initialisation
    src_pad_id: int = 0
    tgt_pad_id: int = 0

    def __post_init__(self):
        check_fields(self, positive=("src_vocab_size", "tgt_vocab_size", "embedding_size", "hidden_size", "n_layers",
                                     "attention_size"))
        check_choice(self, "cell", sorted(CELLS))
        check_choice(self, "attention", ATTENTION)
        check_choice(self, "score", LuongAttention.SCORES)
        check_fraction(self, "dropout")
        name = type(self).__name__
        if self.bidirectional_encoder and self.hidden_size % 2:
            raise ValueError(
                f"{name}: a bidirectional encoder splits hidden_size over two directions, "
                f"so it must be even, got {self.hidden_size}"
            )
        if not 0 <= self.src_pad_id < self.src_vocab_size or not 0 <= self.tgt_pad_id < self.tgt_vocab_size:
            raise ValueError(f"{name}: pad ids must lie inside their vocabularies, "
                             f"got src_pad_id={self.src_pad_id}, tgt_pad_id={self.tgt_pad_id}")

    @classmethod
    def tiny(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "RecurrentConfig":
        """For tests and the toy tasks: trains in seconds on a CPU."""
        sizes = dict(embedding_size=32, hidden_size=64, n_layers=1)
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def small(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "RecurrentConfig":
        """For Multi30k on a CPU: a 2-layer LSTM, 256 units, Luong attention, dropout 0.2."""
        sizes = dict(embedding_size=256, hidden_size=256, n_layers=2, dropout=0.2, attention="luong")
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def sutskever(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "RecurrentConfig":
        """Sutskever et al. 2014 (§3.4): 4-layer LSTM, 1000 units, 1000-d embeddings, source reversed."""
        sizes = dict(cell="lstm", embedding_size=1000, hidden_size=1000, n_layers=4, reverse_source=True)
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def bahdanau(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "RecurrentConfig":
        """RNNsearch (Bahdanau et al. 2015, A.2): GRU-like cells, 620-d embeddings, 1000 units."""
        sizes = dict(cell="gru", embedding_size=620, hidden_size=1000, n_layers=1, attention="bahdanau",
                     attention_size=1000, bidirectional_encoder=True)
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def luong(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "RecurrentConfig":
        """Luong et al. 2015 (§4.1): 4-layer LSTM, 1000 units, general score, dropout 0.2."""
        sizes = dict(cell="lstm", embedding_size=1000, hidden_size=1000, n_layers=4, dropout=0.2,
                     attention="luong", score="general")
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RecurrentConfig":
        return from_dict(cls, values)


class RecurrentSeq2Seq(Seq2Seq):
    """Encoder RNN -> decoder RNN (-> attention), with the Transformer's interface."""

    max_len = None  # no table of positions: any length can be read and written

    def __init__(self, *, src_vocab_size: int, tgt_vocab_size: int, cell: str, embedding_size: int,
                 hidden_size: int, n_layers: int, dropout: float, attention: str, score: str,
                 attention_size: int | None, bidirectional_encoder: bool, reverse_source: bool,
                 forget_bias: float, src_pad_id: int, tgt_pad_id: int):
        super().__init__()
        self.src_pad_id, self.tgt_pad_id = src_pad_id, tgt_pad_id
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.attention_kind, self.reverse_source = attention, reverse_source
        self.bidirectional_encoder = bidirectional_encoder
        self.src_embed = nn.Embedding(src_vocab_size, embedding_size, padding_idx=src_pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embedding_size, padding_idx=tgt_pad_id)
        encoder_hidden = hidden_size // 2 if bidirectional_encoder else hidden_size
        self.encoder = RecurrentStack(cell, embedding_size, encoder_hidden, n_layers, dropout,
                                      bidirectional_encoder, forget_bias)
        fed_back = 0 if attention == "none" else hidden_size  # the context (Bahdanau) or h̃ (Luong)
        self.decoder = RecurrentStack(cell, embedding_size + fed_back, hidden_size, n_layers, dropout,
                                      False, forget_bias)
        self.attention: BahdanauAttention | LuongAttention | None = None
        self.combine: nn.Linear | None = None
        if attention == "bahdanau":
            self.attention = BahdanauAttention(hidden_size, hidden_size, attention_size or hidden_size)
            self.combine = nn.Linear(2 * hidden_size + embedding_size, hidden_size)
        elif attention == "luong":
            self.attention = LuongAttention(hidden_size, hidden_size, score)
            self.combine = nn.Linear(2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(hidden_size, tgt_vocab_size)

    # exercise(seq2seq): encode the sources: the encoder's outputs at every position (the memory)
    #   and its final state at each sequence's true length (sections "The model" and "Reversing the
    #   source"); return (memory, final state).
    #   hint: check the ids, count each row's real tokens, embed with dropout and run self.encoder
    #     with those lengths; with reverse_source the encoder reads each source backwards (padding
    #     left in place) and the memory comes back in source order; a bidirectional encoder's two
    #     directions are joined per layer.
    #   hint: start with self._check_ids("src", src, self.src_vocab_size); lengths = real tokens per
    #     row (not self.src_pad_id); with self.reverse_source reverse each source (reverse_padded)
    #     before self.encoder(self.dropout(self.src_embed(src)), lengths) and the memory back after
    #     it; for a bidirectional encoder, concatenate each layer's two directions: "batch (layers
    #     dirs) hidden -> batch layers (dirs hidden)". Return (memory, final state).
    def encode(self, src: Int[Tensor, "batch src_seq"]) -> tuple[Float[Tensor, "batch src_seq hidden"], State]:
        """Encoder outputs at every source position (in the source's own order, zero at padding)
        and the final state that starts the decoder, each tensor (batch, layers, hidden)."""
        self._check_ids("src", src, self.src_vocab_size)
        lengths = (src != self.src_pad_id).sum(dim=1)
        if self.reverse_source:
            src = reverse_padded(src, lengths)
        memory, final = self.encoder(self.dropout(self.src_embed(src)), lengths)
        if self.reverse_source:
            memory = reverse_padded(memory, lengths)
        if self.bidirectional_encoder:
            final = tuple(rearrange(s, "batch (layers dirs) hidden -> batch layers (dirs hidden)", dirs=2)
                          for s in final)
        return memory, final

    def start_decoding(self, src: Int[Tensor, "batch src_seq"], use_cache: bool = True) -> DecoderState:
        """The decoder's first state: `hidden` (and `cell` for an LSTM), each (batch, layers,
        hidden); with attention also the encoder outputs `memory`, their projections `keys`,
        `src_mask` (True at real tokens) and, for Luong, the fed-back `feed` (h̃_0 = 0).

        With `use_cache=False` the state keeps that first state (as `first.*`) and the prefix, and
        every step reruns the decoder from the first state over the whole prefix: the recurrent
        model's own state *is* its cache, and this is what decoding without it costs.
        """
        memory, final = self.encode(src)
        state: DecoderState = dict(zip(("hidden", "cell"), final))
        if self.attention is not None:
            state.update(memory=memory, keys=self.attention.project_keys(memory), src_mask=src != self.src_pad_id)
        if self.attention_kind == "luong":
            state["feed"] = memory.new_zeros(memory.shape[0], self.decoder.hidden_size)
        if not use_cache:
            state = {f"first.{name}": value for name, value in state.items()}
            state["prefix"] = src.new_zeros(src.shape[0], 0)
        return state

    def decode_step(
        self, tokens: Int[Tensor, " batch"], state: DecoderState
    ) -> tuple[Float[Tensor, "batch vocab"], DecoderState]:
        """One decoder step; with attention, `new_state["attention"]` holds its weights (batch, src_seq)."""
        self._check_ids("tokens", tokens, self.tgt_vocab_size, axes="batch")
        if "prefix" in state:  # no cache: rerun every step from the first state
            prefix = torch.cat([state["prefix"], tokens[:, None]], dim=1)
            step_state = {name[len("first."):]: value for name, value in state.items() if name.startswith("first.")}
            for t in range(prefix.shape[1]):
                features, step_state = self._step(self.dropout(self.tgt_embed(prefix[:, t])), step_state)
            new_state = {name: value for name, value in state.items() if name.startswith("first.")}
            new_state["prefix"] = prefix
            if "attention" in step_state:
                new_state["attention"] = step_state["attention"]
        else:
            features, new_state = self._step(self.dropout(self.tgt_embed(tokens)), state)
        return self.generator(self.dropout(features)), new_state

    def forward(
        self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]
    ) -> Float[Tensor, "batch tgt_seq vocab"]:
        """Teacher forcing: the decoder reads the true previous token at every position."""
        features, _ = self._teacher_forced(src, tgt_in)
        return self.generator(self.dropout(features))

    def attention_weights(
        self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]
    ) -> Float[Tensor, "batch tgt_seq src_seq"]:
        """Each target position's weights over the source, with teacher forcing (for plots)."""
        if self.attention is None:
            raise ValueError("attention_weights: this model was built with attention='none'")
        return self._teacher_forced(src, tgt_in)[1]

    def _teacher_forced(self, src: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor | None]:
        self._check_ids("tgt_in", tgt_in, self.tgt_vocab_size, axes="batch tgt_seq", batch=src.shape[0])
        state = self.start_decoding(src)
        embedded = self.dropout(self.tgt_embed(tgt_in))
        if self.attention is None:  # no feedback between steps: run the stack over all positions at once
            hidden, _ = self.decoder(embedded, state=tuple(state[k] for k in ("hidden", "cell") if k in state))
            return hidden, None
        features, weights = [], []
        for t in range(tgt_in.shape[1]):
            step_features, state = self._step(embedded[:, t], state)
            features.append(step_features)
            weights.append(state["attention"])
        return torch.stack(features, dim=1), torch.stack(weights, dim=1)

    def _step(self, embedded: Float[Tensor, "batch embed"], state: DecoderState) -> tuple[Tensor, DecoderState]:
        """Everything of one decoder step before the generator: the features W_s reads."""
        rnn_state = tuple(state[k] for k in ("hidden", "cell") if k in state)
        new_state = dict(state)
        if self.attention_kind == "none":
            features, rnn_state = self.decoder.step(embedded, rnn_state)
        elif self.attention_kind == "bahdanau":  # attend from s_{i-1}, then step
            context, weights = self.attention(state["hidden"][:, -1], state["keys"], state["memory"], state["src_mask"])
            top, rnn_state = self.decoder.step(torch.cat([embedded, context], dim=-1), rnn_state)
            features = torch.tanh(self.combine(torch.cat([top, context, embedded], dim=-1)))
            new_state["attention"] = weights
        else:  # luong: step with input feeding, then attend from h_t
            top, rnn_state = self.decoder.step(torch.cat([embedded, state["feed"]], dim=-1), rnn_state)
            context, weights = self.attention(top, state["keys"], state["memory"], state["src_mask"])
            features = torch.tanh(self.combine(torch.cat([context, top], dim=-1)))
            new_state.update(feed=features, attention=weights)
        new_state.update(zip(("hidden", "cell"), rnn_state))
        return features, new_state

    def _check_ids(self, name: str, ids: Tensor, vocab_size: int, axes: str = "batch src_seq", **sizes: int) -> None:
        expect_shape(name, ids, axes, **sizes)
        if ids.dim() == 2 and ids.shape[1] == 0:  # a source or a target with no position at all
            what = "source" if name == "src" else "target"
            raise ValueError(f"{name}: expected at least one {what} token, got an empty {what} of shape {tuple(ids.shape)}")
        expect_ids(name, ids, vocab_size)


def build_recurrent(config: RecurrentConfig) -> RecurrentSeq2Seq:
    """The model factory (PyTorch's default initialisation; padding embeddings start at zero)."""
    return RecurrentSeq2Seq(**config.to_dict())
