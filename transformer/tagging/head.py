"""A tagger's output layer: one score per tag at each position, read independently or by a CRF.

Chapter: walkthrough/13_tagging.md. Without a CRF each position's tag is its own softmax over the
scores (trained by token cross-entropy, decoded by argmax), so nothing stops a tagger from
writing a sequence no sentence has. With `crf=True` the scores become a linear-chain CRF's
emissions: training maximises the probability of the whole gold sequence and decoding is
Viterbi's best path (`transformer.tagging.crf`). Both taggers of the course (recurrent and
Transformer) end in this head, so they get the CRF the same way.
"""

from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.losses import label_smoothed_cross_entropy
from transformer.tagging.crf import LinearChainCRF


class TagHead(nn.Module):
    """Dropout, a linear layer to the tags, and optionally a CRF over the whole sequence."""

    def __init__(self, d_in: int, n_tags: int, dropout: float, crf: bool):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(d_in, n_tags)
        self.crf = LinearChainCRF(n_tags) if crf else None

    def forward(self, x: Float[Tensor, "batch seq d_in"]) -> Float[Tensor, "batch seq tags"]:
        """Each position's tag scores (a CRF's emissions)."""
        return self.linear(self.dropout(x))

    def loss(self, scores: Float[Tensor, "batch seq tags"], tags: Int[Tensor, "batch seq"], mask: Bool[Tensor, "batch seq"],
             smoothing: float = 0.0) -> Float[Tensor, ""]:
        """Token cross-entropy over the real positions, or the CRF's negative log-likelihood per
        real token (which takes no label smoothing: the whole sequence is its target)."""
        if self.crf is None:
            return label_smoothed_cross_entropy(scores, tags, smoothing, mask=mask)
        return self.crf.nll(scores.to(self.crf.transitions.dtype), tags, mask)

    def predict(self, scores: Float[Tensor, "batch seq tags"], mask: Bool[Tensor, "batch seq"]) -> Int[Tensor, "batch seq"]:
        """Argmax per position, or the Viterbi path; 0 at padding."""
        if self.crf is None:
            return scores.argmax(dim=-1).masked_fill(~mask, 0)
        return self.crf.decode(scores.to(self.crf.transitions.dtype), mask)[0]
