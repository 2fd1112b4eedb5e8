"""The whole Transformer: embeddings, encoder, decoder and generator, built from a config.

Chapter: walkthrough/08_decoder_and_model.md. Paper: Vaswani et al. 2017, §3 and Figure 1;
§3.4 for weight tying ("we share the same weight matrix between the two embedding layers and
the pre-softmax linear transformation"); Table 3 for the base model's sizes.

Notation map: N -> `n_encoder_layers`, `n_decoder_layers`; the "Linear" before the softmax in
Figure 1 -> `generator`. The model returns logits; the softmax lives in the loss and in decoding.

Deviations, each an explicit config field with the paper's value as default:
`norm_first` (False: post-norm), `attention_dropout` and `ff_dropout` (None: the residual
`dropout` rate, as the released code and `nn.Transformer`; the paper's text describes only the
residual and embedding dropout, which `0.0` for both gives), `final_norm` (False: no extra LayerNorm after each stack,
`nn.Transformer` has one), `tie_embeddings` (True: target embedding = generator weights),
`share_embeddings` (False; True: the source embedding is the target's too, as the paper's
three-way sharing over a joint BPE vocabulary, which it needs), `positional`
("sinusoidal"), `attention` ("explicit" maths, or "fused" PyTorch kernel).
Initialisation: Xavier-uniform for every matrix (as the paper's released code), padding rows 0.
"""

import dataclasses
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.attention import ATTENTION_FUNCTIONS
from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.decoder import Decoder
from transformer.embedding import TokenEmbedding
from transformer.encoder import Encoder
from transformer.masks import source_mask, target_mask
from transformer.positional_encoding import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from transformer.interface import DecoderState, Seq2Seq, count_parameters

POSITIONAL = {"sinusoidal": SinusoidalPositionalEncoding, "learned": LearnedPositionalEmbedding}


@dataclass(frozen=True)
class TransformerConfig:
    """Every number the model factory needs. Paper (base model) values in the comments."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 512  # 512
    n_heads: int = 8  # 8
    d_ff: int = 2048  # 2048
    n_encoder_layers: int = 6  # 6
    n_decoder_layers: int = 6  # 6
    dropout: float = 0.1  # 0.1
    max_len: int = 512  # longest sequence the positional table covers
    norm_first: bool = False  # False: post-norm
    final_norm: bool = False  # False
    tie_embeddings: bool = True  # True
    positional: str = "sinusoidal"  # sinusoidal
    attention: str = "explicit"
    src_pad_id: int = 0
    tgt_pad_id: int = 0
    attention_dropout: float | None = None  # on the attention weights; None: `dropout` (as nn.Transformer)
    ff_dropout: float | None = None  # on the feed-forward's hidden layer; None: `dropout`
    share_embeddings: bool = False  # True in the paper (source = target embedding, a joint vocabulary)

    def __post_init__(self):
        check_fields(self, positive=("src_vocab_size", "tgt_vocab_size", "d_model", "n_heads", "d_ff",
                                     "n_encoder_layers", "n_decoder_layers", "max_len"))
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"TransformerConfig: d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.positional == "sinusoidal" and self.d_model % 2 != 0:
            raise ValueError(f"TransformerConfig: sinusoidal positions need an even d_model, got {self.d_model}")
        check_fraction(self, "dropout", "attention_dropout", "ff_dropout")
        check_choice(self, "positional", sorted(POSITIONAL))
        check_choice(self, "attention", sorted(ATTENTION_FUNCTIONS))
        if not 0 <= self.src_pad_id < self.src_vocab_size or not 0 <= self.tgt_pad_id < self.tgt_vocab_size:
            raise ValueError("TransformerConfig: pad ids must lie inside their vocabularies, "
                             f"got src_pad_id={self.src_pad_id}, tgt_pad_id={self.tgt_pad_id}")
        if self.share_embeddings and (self.src_vocab_size, self.src_pad_id) != (self.tgt_vocab_size, self.tgt_pad_id):
            raise ValueError("TransformerConfig: share_embeddings needs one vocabulary for both sides, got "
                             f"src_vocab_size={self.src_vocab_size}, tgt_vocab_size={self.tgt_vocab_size} "
                             "(load the task with shared_vocab=true)")

    @classmethod
    def tiny(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "TransformerConfig":
        """For tests and the copy task: trains in seconds on a CPU."""
        sizes = dict(d_model=64, n_heads=4, d_ff=128, n_encoder_layers=2, n_decoder_layers=2, dropout=0.1, max_len=256)
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def small(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "TransformerConfig":
        """For Multi30k on a CPU: d_model 256, 3 + 3 layers."""
        sizes = dict(d_model=256, n_heads=8, d_ff=1024, n_encoder_layers=3, n_decoder_layers=3, dropout=0.1, max_len=256)
        return cls(src_vocab_size, tgt_vocab_size, **{**sizes, **overrides})

    @classmethod
    def base(cls, src_vocab_size: int, tgt_vocab_size: int, **overrides) -> "TransformerConfig":
        """The paper's base model (Table 3)."""
        return cls(src_vocab_size, tgt_vocab_size, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TransformerConfig":
        return from_dict(cls, values)


class Transformer(Seq2Seq):
    """Encoder-decoder Transformer (Figure 1). `forward(src, tgt_in)` returns logits."""

    def __init__(
        self,
        *,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        n_encoder_layers: int,
        n_decoder_layers: int,
        dropout: float,
        max_len: int,
        norm_first: bool,
        final_norm: bool,
        tie_embeddings: bool,
        positional: str,
        attention: str,
        src_pad_id: int,
        tgt_pad_id: int,
        attention_dropout: float | None = None,
        ff_dropout: float | None = None,
        share_embeddings: bool = False,
    ):
        super().__init__()
        self.src_pad_id, self.tgt_pad_id = src_pad_id, tgt_pad_id
        self.d_model, self.n_heads, self.max_len = d_model, n_heads, max_len
        attention_fn = ATTENTION_FUNCTIONS[attention]
        self.src_embed = TokenEmbedding(src_vocab_size, d_model, src_pad_id)
        self.tgt_embed = self.src_embed if share_embeddings else TokenEmbedding(tgt_vocab_size, d_model, tgt_pad_id)
        self.src_position = POSITIONAL[positional](d_model, max_len, dropout)
        self.tgt_position = POSITIONAL[positional](d_model, max_len, dropout)
        self.encoder = Encoder(n_encoder_layers, d_model, n_heads, d_ff, dropout, norm_first, final_norm, attention_fn,
                               attention_dropout, ff_dropout)
        self.decoder = Decoder(n_decoder_layers, d_model, n_heads, d_ff, dropout, norm_first, final_norm, attention_fn,
                               True, attention_dropout, ff_dropout)
        self.generator = nn.Linear(d_model, tgt_vocab_size)
        if tie_embeddings:
            self.generator.weight = self.tgt_embed.table.weight

    # exercise(encoder): the source's memory: the encoder's output over the embedded, positioned
    #   source, its padding masked (the left half of Figure 1; section "The encoder layer and the
    #   stack").
    #   hint: self.src_embed, then self.src_position, then self.encoder with the source mask of src
    #     (chapter 06's source_mask, with self.src_pad_id); return_weights goes on to the encoder.
    #   hint: the source's memory: embed src, add positions, run the encoder with source_mask(src,
    #     self.src_pad_id); pass return_weights on to the encoder.
    def encode(self, src: Int[Tensor, "batch src_seq"], return_weights: bool = False):
        """The encoder's memory of the source (and each layer's self-attention weights)."""
        mask = source_mask(src, self.src_pad_id)
        return self.encoder(self.src_position(self.src_embed(src)), mask, return_weights=return_weights)

    # exercise(decoder): the decoder's output over the embedded, positioned target, attending to the
    #   memory (the right half of Figure 1 up to the generator).
    #   hint: self.tgt_embed, then self.tgt_position, then self.decoder with memory, src_mask and
    #     the target mask of tgt_in (padding and causal, with self.tgt_pad_id); return_weights goes
    #     on.
    #   hint: embed tgt_in, add positions, run the decoder over memory with src_mask and
    #     target_mask(tgt_in, self.tgt_pad_id); pass return_weights on.
    def decode(
        self,
        tgt_in: Int[Tensor, "batch tgt_seq"],
        memory: Float[Tensor, "batch src_seq d_model"],
        src_mask: Bool[Tensor, "batch 1 1 src_seq"],
        return_weights: bool = False,
    ):
        """Decoder states for every target position (and each layer's cross-attention weights).

        `src_mask` is `source_mask(src, src_pad_id)`: True at the real source tokens.
        """
        x = self.tgt_position(self.tgt_embed(tgt_in))
        return self.decoder(x, memory, src_mask, target_mask(tgt_in, self.tgt_pad_id), return_weights)

    def forward(
        self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]
    ) -> Float[Tensor, "batch tgt_seq vocab"]:
        self._check_inputs(src, tgt_in)
        return self.generator(self.decode(tgt_in, self.encode(src), source_mask(src, self.src_pad_id)))

    def attention_maps(self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]) -> dict:
        """Every layer's attention weights for one teacher-forced pass, for plots.

        `{"encoder": [per layer (batch, heads, src_seq, src_seq)],
          "cross": [per layer (batch, heads, tgt_seq, src_seq)]}`; None entries with the fused kernel.
        """
        self._check_inputs(src, tgt_in)
        memory, encoder_weights = self.encode(src, return_weights=True)
        _, cross_weights = self.decode(tgt_in, memory, source_mask(src, self.src_pad_id), return_weights=True)
        return {"encoder": encoder_weights, "cross": cross_weights}

    def start_decoding(self, src: Int[Tensor, "batch src_seq"], use_cache: bool = True) -> DecoderState:
        """Encode once. With the cache, the decoder stack precomputes every layer's cross-attention
        keys and values (`Decoder.start`); without it, the state keeps the memory and the prefix."""
        self._check_inputs(src, None)
        memory, src_mask = self.encode(src), source_mask(src, self.src_pad_id)
        if use_cache:
            return self.decoder.start(memory, src_mask)
        return {"memory": memory, "src_mask": src_mask, "prefix": src.new_zeros(src.shape[0], 0)}

    def decode_step(
        self, tokens: Int[Tensor, " batch"], state: DecoderState
    ) -> tuple[Float[Tensor, "batch vocab"], DecoderState]:
        """One position of the decoder: from the key/value cache (`Decoder.step`), or, without
        it, by rerunning the decoder over the whole prefix."""
        expect_shape("tokens", tokens, "batch")
        expect_ids("tokens", tokens, self.tgt_embed.vocab_size)
        if "prefix" in state:  # no cache: O(t) positions at step t
            prefix = torch.cat([state["prefix"], tokens[:, None]], dim=1)
            x, weights = self.decode(prefix, state["memory"], state["src_mask"], return_weights=True)
            new_state = dict(state, prefix=prefix)
            x, weights = x[:, -1:], weights[-1]
            weights = None if weights is None else weights[:, :, -1:]
        else:
            position = self.decoder.cached_length(state)
            x = self.tgt_position(self.tgt_embed(tokens[:, None]), start=position)
            x, new_state, weights = self.decoder.step(x, state)
        if weights is not None:
            new_state["attention"] = weights.mean(dim=1)[:, 0]  # last layer, averaged over heads
        return self.generator(x)[:, 0], new_state

    def _check_inputs(self, src: Tensor, tgt_in: Tensor | None) -> None:
        expect_shape("src", src, "batch src_seq")
        if src.shape[1] == 0:
            raise ValueError(f"src: expected at least one source token, got an empty source of shape {tuple(src.shape)}")
        expect_ids("src", src, self.src_embed.vocab_size)
        if tgt_in is not None:
            expect_shape("tgt_in", tgt_in, "batch tgt_seq", batch=src.shape[0])
            if tgt_in.shape[1] == 0:
                raise ValueError(f"tgt_in: expected at least one target token, got an empty target of shape {tuple(tgt_in.shape)}")
            expect_ids("tgt_in", tgt_in, self.tgt_embed.vocab_size)


def build_transformer(config: TransformerConfig) -> Transformer:
    """The model factory: build from a config, then Xavier-initialise every matrix."""
    model = Transformer(**config.to_dict())
    for parameter in model.parameters():
        if parameter.dim() > 1:
            nn.init.xavier_uniform_(parameter)
    with torch.no_grad():
        for embedding in (model.src_embed, model.tgt_embed):
            if embedding.pad_id is not None:
                embedding.table.weight[embedding.pad_id].zero_()
    return model


__all__ = ["POSITIONAL", "Transformer", "TransformerConfig", "build_transformer", "count_parameters"]
