"""Masks: which keys each query may attend to.

Chapter: walkthrough/06_attention.md. Paper: Vaswani et al. 2017, §3.2.3 (masking future
positions in the decoder) and the padding every batched implementation needs.

One convention everywhere, the same as `torch.nn.functional.scaled_dot_product_attention`:
a boolean mask, **True = may attend**. (`nn.MultiheadAttention`'s boolean masks mean the
opposite: True = *not* allowed. The tests convert with `~mask`.)

`masked_softmax` turns scores into attention weights under such a mask; it is the one both
attention families use (chapter 04 for the recurrent models, chapter 06 for the Transformer).

Masks are shaped to broadcast against attention scores `(batch, heads, q_seq, kv_seq)`:
a source mask is `(batch, 1, 1, src_seq)` (the same for every head and every query), a target
mask `(batch, 1, tgt_seq, tgt_seq)` (padding and the causal triangle combined).
"""

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from transformer.checks import expect_mask


def padding_mask(ids: Int[Tensor, "batch seq"], pad_id: int) -> Bool[Tensor, "batch seq"]:
    """True where `ids` holds a real token, False where it holds padding."""
    return ids != pad_id


# exercise(attention): the causal mask of decoder self-attention: a (size, size) bool tensor, True
#   where query i may attend to key j, that is where j is not in i's future (section "Masks").
#   hint: the lower triangle of a square of True, diagonal included (torch has a function for it); a
#     size below 1 is refused with a one-line ValueError that names it.
#   hint: a (size, size) bool tensor, True where key j <= query i (the lower triangle, diagonal
#     included); refuse size < 1 with ValueError(f"causal_mask: expected a size >= 1, got {size}").
def causal_mask(size: int, device: torch.device | str | None = None) -> Bool[Tensor, "seq seq"]:
    """True where query position i may attend to key position j, i.e. j <= i.

    The lower triangle: position i sees itself and the past, never the future, so the decoder
    cannot peek at the token it is asked to predict.
    """
    if size < 1:
        raise ValueError(f"causal_mask: expected a size >= 1, got {size}")
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def source_mask(src: Int[Tensor, "batch src_seq"], pad_id: int) -> Bool[Tensor, "batch 1 1 src_seq"]:
    """Mask for attention over the source: every query may attend to every real source token."""
    return padding_mask(src, pad_id)[:, None, None, :]


# exercise(attention): the mask of decoder self-attention over a padded target: True where key j is
#   a real token and not in query i's future, shaped to broadcast over the heads (section "Masks").
#   hint: combine the keys' padding mask and causal_mask with a logical and, by broadcasting; the
#     result is (batch, 1, tgt_seq, tgt_seq).
#   hint: padding and causality combined: True where key j is a real token and j <= i, shaped
#     (batch, 1, tgt_seq, tgt_seq) so it broadcasts over heads.
def target_mask(tgt: Int[Tensor, "batch tgt_seq"], pad_id: int) -> Bool[Tensor, "batch 1 tgt_seq tgt_seq"]:
    """Mask for decoder self-attention: real target tokens that are not in the future.

    `mask[b, 0, i, j]` is True when key j is a real token and j <= i.
    """
    keys_real = padding_mask(tgt, pad_id)[:, None, None, :]
    return keys_real & causal_mask(tgt.shape[1], tgt.device)


# exercise(rnn_attention): a softmax over the last axis in which masked positions (mask False) get
#   weight exactly 0 (section "The equations").
#   hint: check the mask first (expect_mask); push masked scores far down before the softmax, with
#     the dtype's most negative finite value rather than -inf (a row with no real key would give
#     0/0 = NaN), and set their weights to exactly 0 after it; without a mask it is a plain softmax.
#   hint: start with expect_mask("mask", mask, scores.shape); softmax over the last axis (in float32
#     at least, dtype=torch.promote_types(scores.dtype, torch.float32), then back to scores.dtype)
#     where mask is True: masked scores get torch.finfo(dtype).min before the softmax and their
#     weights are set to exactly 0 after it (no mask: a plain softmax).
def masked_softmax(
    scores: Float[Tensor, "*batch keys"], mask: Bool[Tensor, "*#batch #keys"] | None
) -> Float[Tensor, "*batch keys"]:
    """Softmax over the last axis where `mask` is True; exactly zero where it is False.

    Attention of both families turns scores into weights with this one function (chapter 04's
    Bahdanau and Luong attention, chapter 06's scaled dot-product attention). A masked score is
    set to the dtype's most negative finite value, not -inf, so a row whose keys are *all* masked
    stays finite: its weights come out all zero, as `F.scaled_dot_product_attention` gives them.
    The softmax runs in float32 at least (bfloat16 scores under autocast are widened for it) and
    the weights come back in the scores' dtype.
    """
    expect_mask("mask", mask, scores.shape)
    wide = torch.promote_types(scores.dtype, torch.float32)
    if mask is None:
        return scores.softmax(dim=-1, dtype=wide).to(scores.dtype)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return scores.softmax(dim=-1, dtype=wide).masked_fill(~mask, 0.0).to(scores.dtype)
