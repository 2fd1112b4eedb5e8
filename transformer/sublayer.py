"""A sub-layer's residual connection with dropout and layer norm, post-norm or pre-norm.

Chapter: walkthrough/07_encoder.md. Paper: Vaswani et al. 2017, §3.1 and §5.4:

    "the output of each sub-layer is LayerNorm(x + Sublayer(x))"        (post-norm, the paper)
    "We apply dropout to the output of each sub-layer, before it is added to the sub-layer input"

Post-norm (`norm_first=False`, the paper and PyTorch's default):  x = LayerNorm(x + Dropout(Sublayer(x)))
Pre-norm  (`norm_first=True`, Xiong et al. 2020): x = x + Dropout(Sublayer(LayerNorm(x)))

Every layer of every stack (encoder, decoder, decoder-only) wraps each of its sub-layers in one.
"""

from collections.abc import Callable

from jaxtyping import Float
from torch import Tensor, nn

from transformer.checks import expect_probability, expect_sizes


class Residual(nn.Module):
    """A sub-layer wrapped in its residual connection, dropout and layer norm."""

    def __init__(self, d_model: int, dropout: float, norm_first: bool):
        super().__init__()
        expect_sizes("Residual", d_model=d_model)
        expect_probability("Residual.dropout", dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    # exercise(encoder): a sub-layer in its residual connection with layer normalisation, in the
    #   paper's post-norm order or, with self.norm_first, the pre-norm order (§3.1 and §5.4).
    #   hint: post-norm normalises the sum x + Dropout(sublayer(x)); pre-norm normalises only the
    #     sub-layer's input and leaves the residual path un-normalised; self.norm and self.dropout
    #     are the parts.
    #   hint: post-norm (the paper) LayerNorm(x + Dropout(sublayer(x))); pre-norm (self.norm_first)
    #     x + Dropout(sublayer(LayerNorm(x))).
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], sublayer: Callable[[Tensor], Tensor]
    ) -> Float[Tensor, "batch seq d_model"]:
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        return self.norm(x + self.dropout(sublayer(x)))
