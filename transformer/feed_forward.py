"""Position-wise feed-forward network: the same two-layer MLP applied at every position.

Chapter: walkthrough/07_encoder.md. Paper: Vaswani et al. 2017, §3.3, equation (2):

    FFN(x) = max(0, x W_1 + b_1) W_2 + b_2

Notation map: W_1, b_1 -> `w_1` (d_model -> d_ff); W_2, b_2 -> `w_2` (d_ff -> d_model).
Deviation: dropout on the hidden activations (as the paper's released code and
`nn.TransformerEncoderLayer` do); `dropout=0` gives equation (2) exactly.
"""

from jaxtyping import Float
from torch import Tensor, nn

from transformer.checks import expect_dtype, expect_probability, expect_shape, expect_sizes


class PositionwiseFeedForward(nn.Module):
    """w_2(dropout(relu(w_1(x)))), with no interaction between positions."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        expect_sizes("PositionwiseFeedForward", d_model=d_model, d_ff=d_ff)
        expect_probability("PositionwiseFeedForward.dropout", dropout)
        self.d_model = d_model
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    # exercise(encoder): equation (2), FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, at every position,
    #   with dropout on the hidden activations (section "The position-wise feed-forward network").
    #   hint: self.w_1 and self.w_2 are the two linear maps, with a ReLU and then self.dropout
    #     between them; check x's shape and dtype first with expect_shape and expect_dtype.
    #   hint: equation (2): FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, with self.dropout on the hidden
    #     activations; start with expect_shape("x", x, "batch seq d_model", d_model=self.d_model) and
    #     expect_dtype("x", x, self.w_1.weight.dtype).
    def forward(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch seq d_model"]:
        expect_shape("x", x, "batch seq d_model", d_model=self.d_model)
        expect_dtype("x", x, self.w_1.weight.dtype)
        return self.w_2(self.dropout(self.w_1(x).relu()))
