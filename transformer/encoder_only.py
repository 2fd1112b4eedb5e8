"""The encoder-only Transformer: the encoder stack of chapter 07 with a classifier or a tagger on top.

Chapters: walkthrough/12_sentence_classification.md (classify a sentence) and 13_tagging.md (tag
each token). Paper: Vaswani et al. 2017, §3.1 (the encoder), used without a decoder as BERT does
(Devlin et al. 2019, §3): every position attends to every other, in both directions, so the
vector at position t has read the whole sentence.

    tagger      logits_t = W_o h_t                      one distribution over tags per token
    classifier  logits = W_o pool(h_0 .. h_{n-1})        one distribution over classes per sentence

`pooling` chooses the sentence vector (see `transformer.pooling`): "first" prepends the token
`cls_id` (BOS, unused otherwise in these tasks) to every sentence and reads its vector, the
[CLS] of BERT; "mean" and "max" pool over the real tokens. Nothing is copied from the other
chapters: `TokenEmbedding`, the positional encoding and `Encoder` are the same modules the
encoder-decoder uses, and the padding mask is `padding_mask`.

Deviations: dropout on the sentence vector before the output layer (as BERT's classifier);
Xavier-uniform initialisation of every matrix, as `build_transformer`.
"""

import dataclasses
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.attention import ATTENTION_FUNCTIONS
from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_choice, check_fields, check_fraction, from_dict
from transformer.embedding import TokenEmbedding
from transformer.encoder import Encoder
from transformer.interface import SequenceClassifier, SequenceTagger
from transformer.masks import padding_mask
from transformer.model import POSITIONAL
from transformer.pooling import POOLINGS, pool
from transformer.tagging.characters import CHARACTER_ENCODERS, CharacterEncoder
from transformer.tagging.head import TagHead


@dataclass(frozen=True)
class EncoderOnlyConfig:
    """Every number the encoder-only factories need. Paper (base model) values in the comments."""

    vocab_size: int
    n_outputs: int  # classes of a classifier, tags of a tagger
    d_model: int = 512  # 512
    n_heads: int = 8  # 8
    d_ff: int = 2048  # 2048
    n_layers: int = 6  # 6
    dropout: float = 0.1  # 0.1
    max_len: int = 512  # longest sentence the positional table covers ([CLS] included)
    norm_first: bool = False  # False: post-norm
    final_norm: bool = False
    positional: str = "sinusoidal"
    attention: str = "explicit"
    pooling: str = "first"  # classifier only: first ([CLS]) | last | mean | max
    pad_id: int = 0
    cls_id: int = 1  # the token prepended for pooling="first" (BOS)
    char_features: str = "none"  # tagger only: none | lstm | gru (a bidirectional encoder over each word's letters) | cnn
    char_vocab_size: int = 0  # the task's characters (set from the task's data)
    char_size: int = 32  # character embedding
    char_output: int = 64  # a word's vector from its characters, both directions
    crf: bool = False  # tagger only: a linear-chain CRF output layer
    attention_dropout: float | None = None  # on the attention weights; None: `dropout`
    ff_dropout: float | None = None  # on the feed-forward's hidden layer; None: `dropout`

    def __post_init__(self):
        check_fields(self, positive=("vocab_size", "n_outputs", "d_model", "n_heads", "d_ff", "n_layers", "max_len", "char_size", "char_output"))
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"EncoderOnlyConfig: d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.positional == "sinusoidal" and self.d_model % 2 != 0:
            raise ValueError(f"EncoderOnlyConfig: sinusoidal positions need an even d_model, got {self.d_model}")
        check_fraction(self, "dropout", "attention_dropout", "ff_dropout")
        check_choice(self, "positional", sorted(POSITIONAL))
        check_choice(self, "attention", sorted(ATTENTION_FUNCTIONS))
        check_choice(self, "pooling", POOLINGS)
        check_choice(self, "char_features", ("none", *CHARACTER_ENCODERS))
        if self.char_features != "none" and self.char_vocab_size < 5:
            raise ValueError(f"EncoderOnlyConfig.char_vocab_size: character features need the task's characters "
                             f"(at least the 4 specials and one letter), got {self.char_vocab_size}")
        for name in ("pad_id", "cls_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ValueError(f"EncoderOnlyConfig.{name}: expected an id in [0, {self.vocab_size}), got {getattr(self, name)}")

    @classmethod
    def tiny(cls, vocab_size: int, n_outputs: int, **overrides) -> "EncoderOnlyConfig":
        """For tests and the synthetic tasks: trains in seconds on a CPU."""
        sizes = dict(d_model=64, n_heads=4, d_ff=128, n_layers=2, dropout=0.1, max_len=256)
        return cls(vocab_size, n_outputs, **{**sizes, **overrides})

    @classmethod
    def small(cls, vocab_size: int, n_outputs: int, **overrides) -> "EncoderOnlyConfig":
        """For SST-2, tweets and EWT on a CPU: d_model 256, 2 layers."""
        sizes = dict(d_model=256, n_heads=4, d_ff=512, n_layers=2, dropout=0.1, max_len=512)
        return cls(vocab_size, n_outputs, **{**sizes, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "EncoderOnlyConfig":
        return from_dict(cls, values)


class EncoderOnly(nn.Module):
    """Token embedding, positions and the encoder stack: a vector per position that has read the whole input."""

    def __init__(self, vocab_size: int, d_model: int, n_heads: int, d_ff: int, n_layers: int, dropout: float,
                 max_len: int, norm_first: bool, final_norm: bool, positional: str, attention: str, pad_id: int,
                 attention_dropout: float | None = None, ff_dropout: float | None = None):
        super().__init__()
        self.pad_id = pad_id
        self.embed = TokenEmbedding(vocab_size, d_model, pad_id)
        self.position = POSITIONAL[positional](d_model, max_len, dropout)
        self.encoder = Encoder(n_layers, d_model, n_heads, d_ff, dropout, norm_first, final_norm,
                               ATTENTION_FUNCTIONS[attention], attention_dropout, ff_dropout)

    def forward(
        self, ids: Int[Tensor, "batch seq"], return_weights: bool = False
    ) -> tuple[Float[Tensor, "batch seq d_model"], Bool[Tensor, "batch seq"]] | tuple:
        """The encoder's vectors and the mask of real tokens (and each layer's weights)."""
        mask = padding_mask(ids, self.pad_id)
        encoded = self.encoder(self.position(self.embed(ids)), mask[:, None, None, :], return_weights=return_weights)
        if return_weights:
            return encoded[0], mask, encoded[1]
        return encoded, mask


def _check_sentences(ids: Tensor, vocab_size: int, pad_id: int) -> None:
    expect_shape("ids", ids, "batch seq")
    expect_ids("ids", ids, vocab_size)
    if ids.shape[1] == 0 or not bool((ids != pad_id).any(dim=1).all()):
        raise ValueError(f"ids: expected every sentence to hold at least one real token, got shape "
                         f"{tuple(ids.shape)} with an empty row")


class TransformerClassifier(SequenceClassifier):
    """Encoder-only Transformer, pooled to one vector per sentence, then a linear layer."""

    def __init__(self, *, vocab_size: int, n_outputs: int, d_model: int, n_heads: int, d_ff: int, n_layers: int,
                 dropout: float, max_len: int, norm_first: bool, final_norm: bool, positional: str, attention: str,
                 pooling: str, pad_id: int, cls_id: int, char_features: str = "none", char_vocab_size: int = 0,
                 char_size: int = 32, char_output: int = 64, crf: bool = False,
                 attention_dropout: float | None = None, ff_dropout: float | None = None):
        super().__init__()
        if char_features != "none" or crf:
            raise ValueError("TransformerClassifier: character features and a CRF are options of the tagger")
        self.pad_id, self.cls_id, self.pooling = pad_id, cls_id, pooling
        self.vocab_size, self.n_classes = vocab_size, n_outputs
        self.body = EncoderOnly(vocab_size, d_model, n_heads, d_ff, n_layers, dropout, max_len, norm_first,
                                final_norm, positional, attention, pad_id, attention_dropout, ff_dropout)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(d_model, n_outputs)

    def _with_cls(self, ids: Tensor) -> Tensor:
        _check_sentences(ids, self.vocab_size, self.pad_id)
        if self.pooling != "first":
            return ids
        return torch.cat([ids.new_full((ids.shape[0], 1), self.cls_id), ids], dim=1)

    def sentence_vector(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch d_model"]:
        x, mask = self.body(self._with_cls(ids))
        return pool(x, mask, self.pooling)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch classes"]:
        return self.output(self.dropout(self.sentence_vector(ids)))

    def attention_maps(self, ids: Int[Tensor, "batch seq"]) -> list[Tensor | None]:
        """Each layer's self-attention weights (batch, heads, seq, seq), [CLS] first when pooling is "first"."""
        return self.body(self._with_cls(ids), return_weights=True)[2]


class TransformerTagger(SequenceTagger):
    """Encoder-only Transformer with a tag head at every position (optionally character
    features added to each word's embedding, and a CRF over the tags)."""

    def __init__(self, *, vocab_size: int, n_outputs: int, d_model: int, n_heads: int, d_ff: int, n_layers: int,
                 dropout: float, max_len: int, norm_first: bool, final_norm: bool, positional: str, attention: str,
                 pooling: str, pad_id: int, cls_id: int, char_features: str = "none", char_vocab_size: int = 0,
                 char_size: int = 32, char_output: int = 64, crf: bool = False,
                 attention_dropout: float | None = None, ff_dropout: float | None = None):
        super().__init__()
        del pooling, cls_id  # a tagger reads every position, so it pools nothing
        self.pad_id, self.vocab_size, self.n_tags = pad_id, vocab_size, n_outputs
        self.body = EncoderOnly(vocab_size, d_model, n_heads, d_ff, n_layers, dropout, max_len, norm_first,
                                final_norm, positional, attention, pad_id, attention_dropout, ff_dropout)
        self.chars = None
        if char_features != "none":
            # a word's spelling, projected to d_model and added to its embedding, as positions are
            self.chars = CharacterEncoder(char_vocab_size, char_size, char_output, char_features, pad_id)
            self.char_projection = nn.Linear(char_output, d_model, bias=False)
        self.head = TagHead(d_model, n_outputs, dropout, crf)

    def forward(
        self, ids: Int[Tensor, "batch seq"], chars: Int[Tensor, "batch seq word_len"] | None = None
    ) -> Float[Tensor, "batch seq tags"]:
        """Tag scores; `chars` is read only by a tagger built with character features."""
        _check_sentences(ids, self.vocab_size, self.pad_id)
        body = self.body
        x = body.embed(ids)
        if self.chars is not None:
            if chars is None:
                raise ValueError("chars: this tagger reads each word's characters, got None")
            x = x + self.char_projection(self.chars(chars))
        mask = padding_mask(ids, self.pad_id)
        return self.head(body.encoder(body.position(x), mask[:, None, None, :]))

    def loss(self, scores, tags, mask, smoothing: float = 0.0):
        return self.head.loss(scores, tags, mask, smoothing)

    def predict(self, scores, mask):
        return self.head.predict(scores, mask)


def _initialise(model: nn.Module, embedding: TokenEmbedding) -> nn.Module:
    """Xavier-uniform for every matrix, as `build_transformer`; the padding row starts at zero."""
    for parameter in model.parameters():
        if parameter.dim() > 1:
            nn.init.xavier_uniform_(parameter)
    with torch.no_grad():
        if embedding.pad_id is not None:
            embedding.table.weight[embedding.pad_id].zero_()
    return model


def build_transformer_classifier(config: EncoderOnlyConfig) -> TransformerClassifier:
    model = TransformerClassifier(**config.to_dict())
    return _initialise(model, model.body.embed)


def build_transformer_tagger(config: EncoderOnlyConfig) -> TransformerTagger:
    model = TransformerTagger(**config.to_dict())
    return _initialise(model, model.body.embed)
