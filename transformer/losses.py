"""Losses: cross-entropy against label-smoothed targets, over the positions that count.

Chapter: walkthrough/09_training.md. Paper: Vaswani et al. 2017, §5.4 ("During training, we
employed label smoothing of value eps_ls = 0.1"), after Szegedy et al. 2016, §7.

One function serves every task shape: token positions of a translation or a language model
(padding left out by `pad_id`), the tags of a sentence (padding left out by `mask`), and a
sentence's class (one position per row, nothing left out).
"""

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor


# exercise(training): the cross-entropy against label-smoothed targets q'(k) = (1 - eps) delta_{k,y}
#   + eps / K (Szegedy et al. 2016; section "Label smoothing"), averaged over the positions that
#   count.
#   hint: the loss splits into (1 - eps) times the usual -log p(y) plus eps times the mean of -log
#     p(k) over the vocabulary; log-softmax in float32 at least; the positions that count are `mask`,
#     if given, else the targets that are not pad_id (all of them when pad_id is None too).
#   hint: log-softmax the logits in float32 at least (float64 stays float64); loss per position =
#     (1 - eps) * (-log p[target]) + eps * mean over the vocabulary of (-log p[v]); average over the
#     positions that count: where `mask` is True if a mask is given, else where the target is not
#     pad_id (every position if pad_id is None).
def label_smoothed_cross_entropy(
    logits: Float[Tensor, "batch seq vocab"],
    target: Int[Tensor, "batch seq"],
    smoothing: float,
    pad_id: int | None = None,
    mask: Bool[Tensor, "batch seq"] | None = None,
) -> Float[Tensor, ""]:
    """Cross-entropy against smoothed targets, averaged over the positions that count.

    The target distribution puts 1 - smoothing on the correct token and spreads `smoothing`
    evenly over the whole vocabulary (as `F.cross_entropy(label_smoothing=...)` does):

        loss = (1 - eps) * (-log p[target]) + eps * mean_v(-log p[v])

    The positions that count are those where `mask` is True, else those whose target is not
    `pad_id` (all of them when neither is given). The log-softmax runs in float32 at least, so
    bfloat16 logits (under autocast) lose nothing.
    """
    log_probs = logits.to(torch.promote_types(logits.dtype, torch.float32)).log_softmax(dim=-1)
    nll = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    loss = (1.0 - smoothing) * nll + smoothing * uniform
    if mask is not None:
        real = mask
    elif pad_id is not None:
        real = target != pad_id
    else:
        real = torch.ones_like(target, dtype=torch.bool)
    return loss.masked_select(real).sum() / real.sum().clamp(min=1)
