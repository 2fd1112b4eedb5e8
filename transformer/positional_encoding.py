"""Positional encodings: telling a model that has no notion of order where each token sits.

Chapter: walkthrough/05_embeddings_and_positions.md. Paper: Vaswani et al. 2017, §3.5:

    PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

"for any fixed offset k, PE(pos+k) can be represented as a linear function of PE(pos)":
each (sin, cos) pair is a point on a circle turning at its own frequency, and moving k positions
on is the same rotation for every pos. `shift_matrix(k, d_model)` builds that map.

The encoding is added to the (scaled) token embeddings and the sum goes through dropout
(§5.4, P_drop = 0.1). `LearnedPositionalEmbedding` is the alternative the paper compared
(Table 3, row E: "nearly identical results").
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor, nn

from transformer.checks import expect_probability, expect_shape, expect_sizes


# exercise(embeddings): the sinusoidal table of §3.5: one row per position, sines in the even
#   columns and cosines in the odd ones, at frequencies that fall geometrically across the columns.
#   hint: column pair i turns at the angular frequency w_i = 10000^(-2i/d_model): row pos holds
#     sin(pos w_i), cos(pos w_i); an odd d_model cannot be cut into pairs and is refused; compute in
#     float64 and return float32.
#   hint: §3.5: PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same angle); refuse
#     an odd d_model with ValueError("sinusoidal_encoding: expected an even d_model (sine/cosine
#     pairs), got ..."); compute in float64, return float32.
def sinusoidal_encoding(max_len: int, d_model: int) -> Float[Tensor, "max_len d_model"]:
    """The table of §3.5: row `pos` is PE(pos); even columns are sines, odd columns cosines."""
    if d_model % 2 != 0:
        raise ValueError(f"sinusoidal_encoding: expected an even d_model (sine/cosine pairs), got {d_model}")
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table.float()


# exercise(embeddings): the matrix M with PE(pos + offset) = PE(pos) @ M at every position, in
#   float64 (section "Relative positions").
#   hint: M is block diagonal, one 2x2 block per sine/cosine pair: the rotation by w_i * offset that
#     the angle-addition formulas give; mind that PE(pos) is a row vector on the left of M.
#   hint: the block-diagonal M with PE(pos + offset) = PE(pos) @ M: for each frequency w a 2x2
#     rotation by w * offset (sin(a+b) = sin a cos b + cos a sin b, cos(a+b) = cos a cos b - sin a
#     sin b); float64.
def shift_matrix(offset: int, d_model: int) -> Float[Tensor, "d_model d_model"]:
    """The fixed linear map M with PE(pos + offset) = PE(pos) @ M for every pos.

    Block-diagonal: for each frequency w, the 2x2 block rotates (sin(w pos), cos(w pos)) by
    the angle w * offset, using sin(a + b) = sin a cos b + cos a sin b and
    cos(a + b) = cos a cos b - sin a sin b.
    """
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    angle = frequency * offset
    matrix = torch.zeros(d_model, d_model, dtype=torch.float64)
    matrix[0::2, 0::2] = torch.diag(torch.cos(angle))  # sin <- sin * cos(wk)
    matrix[1::2, 0::2] = torch.diag(torch.sin(angle))  # sin <- cos * sin(wk)
    matrix[0::2, 1::2] = torch.diag(-torch.sin(angle))  # cos <- -sin * sin(wk)
    matrix[1::2, 1::2] = torch.diag(torch.cos(angle))  # cos <- cos * cos(wk)
    return matrix


class _PositionsBase(nn.Module):
    max_len: int
    d_model: int

    def _check_sizes(self, d_model: int, max_len: int, dropout: float) -> None:
        expect_sizes(type(self).__name__, d_model=d_model, max_len=max_len)
        expect_probability(f"{type(self).__name__}.dropout", dropout)

    def _check(self, x: Tensor, start: int) -> None:
        expect_shape("x", x, "batch seq d_model", d_model=self.d_model)
        if start < 0 or start + x.shape[1] > self.max_len:
            raise ValueError(
                f"{type(self).__name__}: positions {start}..{start + x.shape[1] - 1} requested, "
                f"but max_len={self.max_len}; build the model with a larger max_len"
            )


class SinusoidalPositionalEncoding(_PositionsBase):
    """x + PE[start : start + seq], then dropout.

    The table is a buffer: it follows `.to()` and `.double()`, is never trained, and is rebuilt
    rather than saved (`persistent=False`, so it stays out of the state dict and checkpoints).
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0):
        super().__init__()
        self._check_sizes(d_model, max_len, dropout)
        self.d_model = d_model
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("encoding", sinusoidal_encoding(max_len, d_model), persistent=False)

    # exercise(embeddings): add to x the encoding of each of its positions, the first being `start`,
    #   then dropout (§3.5 and §5.4).
    #   hint: the table is the buffer self.encoding; take its rows start .. start + seq in x's
    #     dtype, after self._check(x, start), which refuses positions past max_len.
    #   hint: x + PE[start : start + seq] (in x's dtype), then dropout; call self._check(x, start)
    #     first so positions past max_len get one clear line.
    def forward(self, x: Float[Tensor, "batch seq d_model"], start: int = 0) -> Float[Tensor, "batch seq d_model"]:
        """`start` is the position of x's first row (non-zero when decoding one step at a time)."""
        self._check(x, start)
        return self.dropout(x + self.encoding[start : start + x.shape[1]].to(x.dtype))


class LearnedPositionalEmbedding(_PositionsBase):
    """x + P[start : start + seq], then dropout, where P is a trained (max_len, d_model) table."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self._check_sizes(d_model, max_len, dropout)
        self.d_model = d_model
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        self.table = nn.Embedding(max_len, d_model)

    def forward(self, x: Float[Tensor, "batch seq d_model"], start: int = 0) -> Float[Tensor, "batch seq d_model"]:
        self._check(x, start)
        return self.dropout(x + self.table.weight[start : start + x.shape[1]])
