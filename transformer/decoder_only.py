"""The decoder-only Transformer: a language model, the encoder-decoder's decoder with no encoder.

Chapter: walkthrough/14_language_models.md. Paper: Vaswani et al. 2017, §3.1 and §3.2.3 (masked
self-attention); used alone as a language model by Radford et al. 2018 (GPT).

    p(x_{t+1} | x_0..x_t) = softmax(W_e h_t),   h = DecoderStack(Embed(x) + PE)

Each block is masked self-attention and the feed-forward network, each in its `Residual`: the
`DecoderLayer` of chapter 08 built with `cross_attention=False`. We chose the decoder layer
without cross-attention over the encoder layer with a causal mask because the decoder stack
already owns what generation needs, the causal mask and the key/value cache of `Decoder.start`
and `Decoder.step`, so nothing is written twice. The output layer is tied to the token
embedding (`tie_embeddings`, §3.4).

The context window is `max_len`: the positional table covers positions 0..max_len-1, and the
model never reads more than `max_len` tokens. `start` and `step` keep the last `max_len` tokens
of the text; while the text fits, each step runs one new position through the cache. Once it
no longer fits, the window slides: the oldest token drops out, every position shifts by one,
and the cache is rebuilt from the window (a step then costs a whole window, as without a cache).
With `use_cache=False` every step reruns the window from scratch; both give the same logits.

Deviations: none in the block; pre-norm (`norm_first`) and a final LayerNorm (`final_norm`), as
GPT-2 uses, are options the recipes choose for speed of training.
"""

import dataclasses
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.attention import ATTENTION_FUNCTIONS
from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.decoder import Decoder
from transformer.embedding import TokenEmbedding
from transformer.interface import LanguageModel, State
from transformer.masks import target_mask
from transformer.model import POSITIONAL


@dataclass(frozen=True)
class DecoderOnlyConfig:
    """Every number the decoder-only factory needs. Paper (base model) values in the comments."""

    vocab_size: int
    d_model: int = 512  # 512
    n_heads: int = 8  # 8
    d_ff: int = 2048  # 2048
    n_layers: int = 6  # 6
    dropout: float = 0.1  # 0.1
    max_len: int = 256  # the context window
    norm_first: bool = False  # False: post-norm
    final_norm: bool = False
    tie_embeddings: bool = True  # True
    positional: str = "sinusoidal"
    attention: str = "explicit"
    pad_id: int = 0
    attention_dropout: float | None = None  # on the attention weights; None: `dropout`
    ff_dropout: float | None = None  # on the feed-forward's hidden layer; None: `dropout`

    def __post_init__(self):
        check_fields(self, positive=("vocab_size", "d_model", "n_heads", "d_ff", "n_layers", "max_len"))
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"DecoderOnlyConfig: d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.positional == "sinusoidal" and self.d_model % 2 != 0:
            raise ValueError(f"DecoderOnlyConfig: sinusoidal positions need an even d_model, got {self.d_model}")
        check_fraction(self, "dropout", "attention_dropout", "ff_dropout")
        check_choice(self, "positional", sorted(POSITIONAL))
        check_choice(self, "attention", sorted(ATTENTION_FUNCTIONS))
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"DecoderOnlyConfig.pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")

    @classmethod
    def tiny(cls, vocab_size: int, **overrides) -> "DecoderOnlyConfig":
        """For tests and the synthetic grammar: trains in seconds on a CPU."""
        sizes = dict(d_model=64, n_heads=4, d_ff=128, n_layers=2, dropout=0.1, max_len=64)
        return cls(vocab_size, **{**sizes, **overrides})

    @classmethod
    def small(cls, vocab_size: int, **overrides) -> "DecoderOnlyConfig":
        """For Tiny Shakespeare on a CPU: d_model 256, 4 layers, a window of 256 characters."""
        sizes = dict(d_model=256, n_heads=4, d_ff=1024, n_layers=4, dropout=0.1, max_len=256,
                     norm_first=True, final_norm=True)
        return cls(vocab_size, **{**sizes, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DecoderOnlyConfig":
        return from_dict(cls, values)


class TransformerLanguageModel(LanguageModel):
    """Embedding + positions -> decoder blocks without cross-attention -> tied output layer."""

    def __init__(self, *, vocab_size: int, d_model: int, n_heads: int, d_ff: int, n_layers: int, dropout: float,
                 max_len: int, norm_first: bool, final_norm: bool, tie_embeddings: bool, positional: str,
                 attention: str, pad_id: int, attention_dropout: float | None = None, ff_dropout: float | None = None):
        super().__init__()
        self.pad_id, self.vocab_size, self.max_len = pad_id, vocab_size, max_len
        self.embed = TokenEmbedding(vocab_size, d_model, pad_id)
        self.position = POSITIONAL[positional](d_model, max_len, dropout)
        self.decoder = Decoder(n_layers, d_model, n_heads, d_ff, dropout, norm_first, final_norm,
                               ATTENTION_FUNCTIONS[attention], cross_attention=False,
                               attention_dropout=attention_dropout, ff_dropout=ff_dropout)
        self.generator = nn.Linear(d_model, vocab_size)
        if tie_embeddings:
            self.generator.weight = self.embed.table.weight

    def hidden(self, ids: Int[Tensor, "batch seq"], return_weights: bool = False):
        """The top block's vectors (and each block's self-attention weights)."""
        self._check(ids, "ids")
        return self.decoder(self.position(self.embed(ids)), tgt_mask=target_mask(ids, self.pad_id),
                            return_weights=return_weights)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq vocab"]:
        return self.generator(self.hidden(ids))

    def attention_maps(self, ids: Int[Tensor, "batch seq"]) -> list[Tensor | None]:
        """Each block's self-attention weights (batch, heads, seq, seq), for plots."""
        return self.hidden(ids, return_weights=True)[1]

    def start(self, prefix: Int[Tensor, "batch prefix"], use_cache: bool = True) -> tuple[Float[Tensor, "batch vocab"], State]:
        self._check(prefix, "prefix")
        if bool((prefix == self.pad_id).any()):
            raise ValueError(f"prefix: expected real tokens only (no padding id {self.pad_id}): the rows of a "
                             "batch to generate from must have the same length")
        return self._read_window(prefix[:, -self.max_len :], use_cache)

    # exercise(language_models): one step of generation (module docstring, the context window): the
    #   logits after `tokens` is appended to the text of `state`, and the new state; while the text fits
    #   in max_len only the new position runs, through the key/value cache; past it the window slides.
    #   hint: check tokens first (one id per row of the state's batch); the state holds the window so
    #     far under "tokens" and, when the model caches, the decoder's keys and values ("self_k.0", ...);
    #     with no cache, or a window longer than max_len (every position shifts), reread the last
    #     max_len tokens; else embed the new token at the position the cache has reached, one decoder step.
    #   hint: check tokens with expect_shape (batch = state["tokens"].shape[0]) and expect_ids; append
    #     tokens to the window state["tokens"]; without a cache (no
    #     "self_k.0" in state) or once the window is longer than self.max_len, reread the last max_len
    #     tokens with self._read_window (the window slides); else embed the one new token at position
    #     Decoder.cached_length(state), run self.decoder.step on the cache (state without "tokens"),
    #     and return (self.generator of its output, the new cache with the window as "tokens").
    def step(self, tokens: Int[Tensor, " batch"], state: State) -> tuple[Float[Tensor, "batch vocab"], State]:
        expect_shape("tokens", tokens, "batch", batch=state["tokens"].shape[0])
        expect_ids("tokens", tokens, self.vocab_size)
        window = torch.cat([state["tokens"], tokens[:, None]], dim=1)
        if "self_k.0" not in state or window.shape[1] > self.max_len:  # no cache, or the window slides
            return self._read_window(window[:, -self.max_len :], use_cache="self_k.0" in state)
        position = Decoder.cached_length(state)
        x = self.position(self.embed(tokens[:, None]), start=position)
        x, cache, _ = self.decoder.step(x, {k: v for k, v in state.items() if k != "tokens"})
        return self.generator(x[:, -1]), dict(cache, tokens=window)

    def _read_window(self, window: Tensor, use_cache: bool) -> tuple[Tensor, State]:
        """Logits after `window` (at most max_len tokens), and a state holding the window (and its cache)."""
        if not use_cache:
            return self.forward(window)[:, -1], {"tokens": window}
        cache = self.decoder.start(batch_size=window.shape[0])
        x, cache, _ = self.decoder.step(self.position(self.embed(window)), cache)
        return self.generator(x[:, -1]), dict(cache, tokens=window)

    def _check(self, ids: Tensor, name: str) -> None:
        expect_shape(name, ids, "batch seq")
        expect_ids(name, ids, self.vocab_size)
        if ids.shape[1] == 0:
            raise ValueError(f"{name}: expected at least one token, got shape {tuple(ids.shape)}")
        if name == "ids" and ids.shape[1] > self.max_len:
            raise ValueError(f"{name}: expected at most max_len={self.max_len} positions (the context window), "
                             f"got {ids.shape[1]}")


def build_transformer_language_model(config: DecoderOnlyConfig) -> TransformerLanguageModel:
    """The factory: Xavier-uniform for every matrix, as `build_transformer`; the padding row at zero."""
    model = TransformerLanguageModel(**config.to_dict())
    for parameter in model.parameters():
        if parameter.dim() > 1:
            nn.init.xavier_uniform_(parameter)
    with torch.no_grad():
        model.embed.table.weight[config.pad_id].zero_()
    return model
