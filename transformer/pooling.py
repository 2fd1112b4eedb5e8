"""Pooling: one vector for a whole sentence, from the vectors of its real positions.

Chapter: walkthrough/12_sentence_classification.md. A many-to-one model reads a sentence into one
vector per position and must then say one thing about all of them. The ways of choosing:

    first   h_0: the first position's vector. An encoder that prepends a special token ([CLS],
            Devlin et al. 2019, §3) learns to gather the sentence there, since every position
            can attend to every other.
    last    h_{n-1}: the vector at each sentence's true last position, which a left-to-right
            RNN has read the whole sentence to reach ("the last word's state is the meaning").
    mean    (1/n) Σ_t h_t over the real positions.
    max     max_t h_t, element by element, over the real positions (Collobert et al. 2011).

Padding never counts: `mask` (batch, seq) is True at the real tokens, every row has at least
one, and the pooled vector is the same however much padding the batch adds.
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from transformer.checks import expect_shape

POOLINGS = ("first", "last", "mean", "max")


def pool(
    x: Float[Tensor, "batch seq d"], mask: Bool[Tensor, "batch seq"], how: str
) -> Float[Tensor, "batch d"]:
    """The sentence vector of each row of `x`: its first, last real, mean or max position."""
    expect_shape("mask", mask, "batch seq", batch=x.shape[0], seq=x.shape[1])
    if how == "first":
        return x[:, 0]
    if how == "last":
        last = mask.sum(dim=1).clamp(min=1) - 1  # index of each row's last real position
        return x[torch.arange(x.shape[0], device=x.device), last]
    if how == "mean":
        return mean_pool(x, mask)
    if how == "max":
        return max_pool(x, mask)
    raise ValueError(f"pool: expected one of {', '.join(POOLINGS)}, got {how!r}")


# exercise(classification): mean pooling, (1/n) sum_t h_t over each row's n real positions (mask
#   True) only, so the sentence vector does not change with the padding its batch adds.
#   hint: multiply by the mask to zero the padding rows before summing over seq, and divide by the
#     number of real positions (the mask's sum per row), not by seq; keep the divisor from being 0.
#   hint: (1/n) sum_t h_t over the real positions only: zero the padding rows
#     (mask as x's dtype), sum over seq, divide by the number of real positions (clamped at 1).
def mean_pool(x: Float[Tensor, "batch seq d"], mask: Bool[Tensor, "batch seq"]) -> Float[Tensor, "batch d"]:
    """(1/n) Σ_t h_t over the n real positions of each row."""
    weights = mask.to(x.dtype)[..., None]
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


# exercise(classification): max pooling (Collobert et al. 2011): max_t h_t over each row's real
#   positions (mask True), each feature on its own, so a padding position never wins.
#   hint: padding must lose every comparison: before the max over seq, give its positions a value
#     that no feature is below (a finite one), the mask broadcast over the features.
#   hint: the max over seq of each feature, where padding positions are first set
#     to torch.finfo(dtype).min so they never win.
def max_pool(x: Float[Tensor, "batch seq d"], mask: Bool[Tensor, "batch seq"]) -> Float[Tensor, "batch d"]:
    """max_t h_t over the real positions, each feature on its own: a padding position never wins."""
    return x.masked_fill(~mask[..., None], torch.finfo(x.dtype).min).amax(dim=1)
