"""TextCNN: a sentence classifier from convolutions over word embeddings (Kim 2014).

Chapter: walkthrough/12_sentence_classification.md. Paper: Kim 2014, "Convolutional Neural
Networks for Sentence Classification", §2 (the model) and §3.1 (hyperparameters).

    c_i = f(w . x_{i:i+h-1} + b)              one feature map, filter width h, f = ReLU        (2)
    ĉ   = max{c_1, ..., c_{n-h+1}}            max-over-time pooling
    z   = [ĉ_1, ..., ĉ_m]                     m feature maps (100 of each width 3, 4, 5)
    y   = W (z ∘ r) + b                       dropout r ~ Bernoulli(0.5) while training       (5)

A 1-D convolution is a sliding window: `conv1d` cuts the sequence into every window of h words
(`unfold`), flattens each window into one vector of h * d features and multiplies it by the
filters, also flattened: one matrix multiply for all windows and all maps. Like `nn.Conv1d` it
is a cross-correlation (the window is not flipped), and the weights keep nn.Conv1d's layout
(out_channels, in_channels, width) so they copy across.

Padding. Each sentence is padded with h - 1 zero vectors on both sides (as Kim's code does), so
a sentence shorter than a filter still has windows and every word is seen by h windows. Batches
are right-padded: the embeddings at padding positions are zeroed, and a window counts for the
max only if it holds at least one real word (`window_mask`), so a sentence's vector never
depends on how much padding its batch adds, nor on its batch-mates.

Notation map: x_{i:i+h-1} -> a window of `unfold`; w, b -> `Conv1d.weight, Conv1d.bias`;
h -> `width`; m / 3 -> `n_filters`; W, b -> `output`. Deviations: Kim's CNN-rand with no
l2 max-norm constraint on W (s = 3) and no Adadelta: the training loop's optimiser is used.
"""

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_fields, from_dict
from transformer.interface import SequenceClassifier


# exercise(classification): the w . x_{i:i+h-1} + b inside equation (2) (no ReLU) for every window
#   of `width` positions and every filter, after `padding` zero vectors at both ends: a
#   cross-correlation as nn.Conv1d's, batch first and channels last; bad padding refused in one line.
#   hint: refuse padding < 0, and too short an input for one window (seq + 2 padding < width); pad
#     the seq axis only; Tensor.unfold cuts every window at once; flatten each window and each
#     filter into one vector of channels * width features, in the same order, and all the dot
#     products become one matrix multiply.
#   hint: refuse padding < 0 or seq + 2 padding < width with ValueError(f"conv1d:
#     expected padding >= 0 and seq + 2 * padding >= width = {width}, got seq {seq} and padding
#     {padding}"); zero-pad the seq axis by `padding` on both sides (F.pad), cut every window of
#     `width` positions with x.unfold(1, width, 1) -> (batch, positions, channels, width), flatten
#     each window and the weight to "(channels width)" with einops, matmul, add the bias (if any).
def conv1d(
    x: Float[Tensor, "batch seq in_channels"],
    weight: Float[Tensor, "out_channels in_channels width"],
    bias: Float[Tensor, " out_channels"] | None = None,
    padding: int = 0,
) -> Float[Tensor, "batch positions out_channels"]:
    """Each output position p is the filters' dot product with the window x[p : p + width].

    `padding` zero vectors are added at both ends first, so there are seq + 2 padding - width + 1
    windows. Batch first and channels last, unlike `nn.Conv1d`'s (batch, channels, seq).
    """
    width = weight.shape[-1]
    if padding < 0 or x.shape[1] + 2 * padding < width:
        raise ValueError(f"conv1d: expected padding >= 0 and seq + 2 * padding >= width = {width}, "
                         f"got seq {x.shape[1]} and padding {padding}")
    padded = F.pad(x, (0, 0, padding, padding))
    windows = padded.unfold(1, width, 1)  # windows[b, p, c, k] = padded[b, p + k, c]
    windows = rearrange(windows, "batch positions channels width -> batch positions (channels width)")
    filters = rearrange(weight, "out_channels channels width -> (channels width) out_channels")
    output = windows @ filters
    return output if bias is None else output + bias


def window_mask(real: Bool[Tensor, "batch seq"], width: int, padding: int) -> Bool[Tensor, "batch positions"]:
    """True for each window of `conv1d(..., padding)` that holds at least one real token."""
    padded = F.pad(real, (padding, padding), value=False)
    return padded.unfold(1, width, 1).any(dim=-1)


# exercise(classification): max-over-time pooling (the line after equation (2) in the module
#   docstring): each channel's largest value over the positions `mask` allows (True), all positions
#   without a mask; a row with no allowed position gets 0.
#   hint: the positions not allowed must never win: before the max, give them a value that no
#     feature is below (a finite one); a row with nothing allowed then returns that value, so set
#     such rows to 0 after the max.
#   hint: the largest value of each channel over the positions where mask is True: fill the other
#     positions with torch.finfo(dtype).min, take amax over positions, and give a row with no True
#     position 0 (not the fill value); without a mask, a plain amax over positions.
def max_over_time(
    features: Float[Tensor, "batch positions channels"], mask: Bool[Tensor, "batch positions"] | None = None
) -> Float[Tensor, "batch channels"]:
    """Each feature map's largest value over the positions `mask` allows (True = a real window).

    Padding positions never win. A sentence with no allowed position gets 0 (finite, defined).
    """
    if mask is None:
        return features.amax(dim=1)
    allowed = mask[..., None]
    pooled = features.masked_fill(~allowed, torch.finfo(features.dtype).min).amax(dim=1)
    return torch.where(allowed.any(dim=1), pooled, torch.zeros_like(pooled))


class Conv1d(nn.Module):
    """A bank of 1-D filters, weights in `nn.Conv1d`'s layout and initialisation."""

    def __init__(self, in_channels: int, out_channels: int, width: int, padding: int = 0, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels, self.width, self.padding = in_channels, out_channels, width, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, width))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv1d's initialisation
        if self.bias is not None:
            bound = 1 / math.sqrt(in_channels * width)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Float[Tensor, "batch seq in_channels"]) -> Float[Tensor, "batch positions out_channels"]:
        expect_shape("Conv1d: x", x, "batch seq in_channels", in_channels=self.in_channels)
        return conv1d(x, self.weight, self.bias, self.padding)


class TextCNN(SequenceClassifier):
    """Embeddings -> one Conv1d per filter width -> ReLU -> max over time -> dropout -> linear."""

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        embedding_size: int = 300,
        filter_widths: Sequence[int] = (3, 4, 5),
        n_filters: int = 100,
        dropout: float = 0.5,
        pad_id: int = 0,
    ):
        super().__init__()
        self.vocab_size, self.n_classes, self.pad_id = vocab_size, n_classes, pad_id
        self.filter_widths = tuple(filter_widths)
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.convolutions = nn.ModuleList(
            Conv1d(embedding_size, n_filters, width, padding=width - 1) for width in self.filter_widths
        )
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(len(self.filter_widths) * n_filters, n_classes)

    def sentence_vector(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch features"]:
        """z: every feature map's max over the sentence's windows, all widths side by side."""
        expect_shape("TextCNN: ids", ids, "batch seq")
        expect_ids("TextCNN: ids", ids, self.vocab_size)
        real = ids != self.pad_id
        embedded = self.embedding(ids).masked_fill(~real[..., None], 0.0)  # padding reads as zero vectors
        pooled = [
            max_over_time(F.relu(convolution(embedded)), window_mask(real, convolution.width, convolution.padding))
            for convolution in self.convolutions
        ]
        return torch.cat(pooled, dim=-1)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch classes"]:
        return self.output(self.dropout(self.sentence_vector(ids)))


@dataclass(frozen=True)
class TextCNNConfig:
    """Every number the TextCNN factory needs; the defaults are Kim's (§3.1, CNN-rand)."""

    vocab_size: int
    n_classes: int
    embedding_size: int = 300  # Kim: 300 (word2vec's size)
    filter_widths: tuple[int, ...] = (3, 4, 5)  # Kim: 3, 4, 5
    n_filters: int = 100  # Kim: 100 feature maps per width
    dropout: float = 0.5  # Kim: 0.5
    pad_id: int = 0

    def __post_init__(self):
        name = type(self).__name__
        check_fields(self)
        object.__setattr__(self, "filter_widths", tuple(self.filter_widths))  # JSON gives a list
        for field in ("vocab_size", "n_classes", "embedding_size", "n_filters"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}.{field}: expected a positive integer, got {value!r}")
        if not self.filter_widths or any(not isinstance(w, int) or w < 1 for w in self.filter_widths):
            raise ValueError(f"{name}.filter_widths: expected one or more positive integers, got {self.filter_widths}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{name}.dropout: expected a value in [0, 1), got {self.dropout}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"{name}.pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")

    @classmethod
    def tiny(cls, vocab_size: int, n_classes: int, **overrides) -> "TextCNNConfig":
        """For tests and chapter runs: trains in seconds on a CPU."""
        sizes = dict(embedding_size=16, filter_widths=(2, 3), n_filters=8, dropout=0.0)
        return cls(vocab_size, n_classes, **{**sizes, **overrides})

    @classmethod
    def kim(cls, vocab_size: int, n_classes: int, **overrides) -> "TextCNNConfig":
        """Kim 2014's CNN-rand: 300-d embeddings, widths 3/4/5 with 100 maps each, dropout 0.5."""
        return cls(vocab_size, n_classes, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TextCNNConfig":
        return from_dict(cls, values)


def build_textcnn(config: TextCNNConfig) -> TextCNN:
    """The model factory (PyTorch's default initialisation; the padding embedding starts at zero)."""
    return TextCNN(**config.to_dict())
