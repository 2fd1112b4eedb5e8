"""Scaled dot-product attention and multi-head attention.

Chapter: walkthrough/06_attention.md. Paper: Vaswani et al. 2017, §3.2.1 (equation 1) and
§3.2.2 (multi-head attention).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                                     (1)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,
        head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

Notation map: Q, K, V -> `query, key, value`; d_k -> `d_head`; h -> `n_heads`;
W^Q, W^K, W^V, W^O -> `w_q, w_k, w_v, w_o` (one `nn.Linear(d_model, d_model)` each, holding all
heads side by side; the paper's per-head matrices are its column blocks).

Masks are boolean, True = may attend (see `transformer.masks`). A masked score is set to the
dtype's most negative finite value before the softmax and its weight to exactly zero after it.
A query whose keys are *all* masked therefore gets all-zero weights and a zero output: finite
and defined, and the same result `torch.nn.functional.scaled_dot_product_attention` gives.

Deviations from the paper: dropout on the attention weights (as in the paper's released code and
in `nn.MultiheadAttention`); bias terms in the projections (`bias=True`, as `nn.MultiheadAttention`).
"""

import math
from collections.abc import Callable

import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float
from torch import Tensor, nn

from transformer.checks import expect_dtype, expect_mask, expect_probability, expect_shape, expect_sizes
from transformer.masks import masked_softmax

AttentionFunction = Callable[..., tuple[Tensor, Tensor | None]]


# exercise(attention): equation (1), Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, masked keys
#   getting weight exactly 0 and dropout_p acting on the weights; return (output, the weights before
#   dropout).
#   hint: the scores are query @ key^T divided by sqrt(d_head), the size of the last axis; chapter
#     04's masked_softmax gives masked keys exactly 0 and keeps a row with no real key finite (-inf
#     there gives NaN); dropout acts on the weights that multiply the values, not on those returned.
#   hint: start with expect_mask("mask", mask, (*query.shape[:-1], key.shape[-2])), so a mask that
#     is not boolean or does not fit the scores gets one clear line; equation (1): scores = query @
#     key^T / sqrt(d_head); weights = masked_softmax(scores, mask) (chapter 04's: masked keys get
#     exactly 0); apply dropout_p to the weights; return (weights @ value, weights before dropout).
def scaled_dot_product_attention(
    query: Float[Tensor, "*batch q_seq d_head"],
    key: Float[Tensor, "*batch kv_seq d_head"],
    value: Float[Tensor, "*batch kv_seq d_value"],
    mask: Bool[Tensor, "*#batch #q_seq #kv_seq"] | None = None,
    dropout_p: float = 0.0,
) -> tuple[Float[Tensor, "*batch q_seq d_value"], Float[Tensor, "*batch q_seq kv_seq"]]:
    """Equation (1): each query's output is a weighted mean of the values.

    `mask[..., i, j]` is True where query i may attend to key j. Returns the output and the
    attention weights: `weights[..., i, j]` is how much query i takes from value j (each row sums
    to 1, or is all zero when every key of that query is masked). The weights are returned before
    dropout, so they are the distribution a plot should show.
    """
    expect_mask("mask", mask, (*query.shape[:-1], key.shape[-2]))
    d_head = query.shape[-1]
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_head)
    # exact zeros on masked keys, and all-zero weights for a query with no key to attend to
    weights = masked_softmax(scores, mask)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    return dropped @ value, weights


def fused_attention(
    query: Float[Tensor, "*batch q_seq d_head"],
    key: Float[Tensor, "*batch kv_seq d_head"],
    value: Float[Tensor, "*batch kv_seq d_value"],
    mask: Bool[Tensor, "*#batch #q_seq #kv_seq"] | None = None,
    dropout_p: float = 0.0,
) -> tuple[Float[Tensor, "*batch q_seq d_value"], None]:
    """The same maths through PyTorch's fused kernel: faster, but it does not return weights.

    A drop-in replacement for `scaled_dot_product_attention` (the tests prove them equal). The
    mask is boolean here too: PyTorch would read a float mask as scores to add, not as a mask.
    """
    expect_mask("mask", mask, (*query.shape[:-1], key.shape[-2]))
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout_p)
    return output, None


ATTENTION_FUNCTIONS: dict[str, AttentionFunction] = {
    "explicit": scaled_dot_product_attention,
    "fused": fused_attention,
}


# exercise(attention): cut the model axis into n_heads heads of d_head columns each, the heads
#   before seq (§3.2.2, section "Multi-head attention").
#   hint: head h holds columns h*d_head:(h+1)*d_head of every position: split the last axis into
#     (heads, d_head), then move heads in front of seq; a reshape alone would mix positions into a
#     head.
#   hint: cut d_model into n_heads slices of d_head columns, head h taking columns h*d_head onwards:
#     one einops rearrange, "batch seq (heads d_head) -> batch heads seq d_head".
def split_heads(x: Float[Tensor, "batch seq d_model"], n_heads: int) -> Float[Tensor, "batch heads seq d_head"]:
    """Cut the model dimension into `n_heads` slices, one per head."""
    return rearrange(x, "batch seq (heads d_head) -> batch heads seq d_head", heads=n_heads)


# exercise(attention): the Concat(head_1, ..., head_h) of §3.2.2: (batch, heads, seq, d_head) back
#   to (batch, seq, d_model) (section "Multi-head attention").
#   hint: the inverse of split_heads: put the heads back side by side along d_model.
def merge_heads(x: Float[Tensor, "batch heads seq d_head"]) -> Float[Tensor, "batch seq d_model"]:
    """Concatenate the heads back side by side: the inverse of `split_heads`."""
    return rearrange(x, "batch heads seq d_head -> batch seq (heads d_head)")


class MultiHeadAttention(nn.Module):
    """Multi-head attention (§3.2.2): `n_heads` attentions in parallel, each on its own projection.

    `attention` is the function that does equation (1); the explicit one by default, or
    `fused_attention` for speed.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        attention: AttentionFunction = scaled_dot_product_attention,
    ):
        super().__init__()
        expect_sizes("MultiHeadAttention", d_model=d_model, n_heads=n_heads)
        expect_probability("MultiHeadAttention.dropout", dropout)
        if d_model % n_heads != 0:
            raise ValueError(f"MultiHeadAttention: d_model={d_model} must be divisible by n_heads={n_heads}")
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.dropout = dropout
        self.attention = attention
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, d_model, bias=bias)
        self.w_v = nn.Linear(d_model, d_model, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)

    def forward(
        self,
        query: Float[Tensor, "batch q_seq d_model"],
        key: Float[Tensor, "batch kv_seq d_model"],
        value: Float[Tensor, "batch kv_seq d_model"],
        mask: Bool[Tensor, "#batch #heads #q_seq #kv_seq"] | None = None,
    ) -> tuple[Float[Tensor, "batch q_seq d_model"], Float[Tensor, "batch heads q_seq kv_seq"] | None]:
        """Attend from each query position to the key/value positions.

        Returns the output and the per-head weights (None with a kernel that does not give them).
        """
        expect_shape("query", query, "batch q_seq d_model", d_model=self.d_model)
        expect_shape("key", key, "batch kv_seq d_model", batch=query.shape[0], d_model=self.d_model)
        expect_shape("value", value, "batch kv_seq d_model", batch=query.shape[0], kv_seq=key.shape[1], d_model=self.d_model)
        dtype = self.w_q.weight.dtype
        expect_dtype("query", query, dtype)
        expect_dtype("key", key, dtype)
        expect_dtype("value", value, dtype)
        scores = (query.shape[0], self.n_heads, query.shape[1], key.shape[1])
        expect_mask("mask", mask, scores, "batch heads q_seq kv_seq")
        keys, values = self.project_key_value(key, value)
        return self.attend(query, keys, values, mask)

    # exercise(attention): K W^K and V W^V of §3.2.2, split into heads: the part of multi-head
    #   attention that depends on the keys and values only, which a decoder caches (section
    #   "Multi-head attention").
    #   hint: K W^K and V W^V (self.w_k, self.w_v), each split into self.n_heads heads.
    def project_key_value(
        self, key: Float[Tensor, "batch kv_seq d_model"], value: Float[Tensor, "batch kv_seq d_model"]
    ) -> tuple[Float[Tensor, "batch heads kv_seq d_head"], Float[Tensor, "batch heads kv_seq d_head"]]:
        """K W^K and V W^V, split into heads. A decoder caches these between steps."""
        return split_heads(self.w_k(key), self.n_heads), split_heads(self.w_v(value), self.n_heads)

    # exercise(attention): multi-head attention with keys and values already projected and split
    #   (§3.2.2): MultiHead = Concat(head_1..head_h) W^O; return (output, the per-head weights).
    #   hint: the query still needs its projection and its split into heads; self.attention runs
    #     equation (1) for all heads at once; dropout on the weights only while the module trains
    #     (self.training); merge the heads before W^O.
    #   hint: MultiHead = Concat(head_1..head_h) W^O: project the query with w_q and split it into
    #     heads, run self.attention(queries, keys, values, mask, dropout_p) with dropout_p =
    #     self.dropout only in training, merge the heads, apply w_o; return (output, weights).
    def attend(
        self,
        query: Float[Tensor, "batch q_seq d_model"],
        keys: Float[Tensor, "batch heads kv_seq d_head"],
        values: Float[Tensor, "batch heads kv_seq d_head"],
        mask: Bool[Tensor, "#batch #heads #q_seq #kv_seq"] | None = None,
    ) -> tuple[Float[Tensor, "batch q_seq d_model"], Float[Tensor, "batch heads q_seq kv_seq"] | None]:
        """Attend with keys and values that are already projected (and possibly cached)."""
        queries = split_heads(self.w_q(query), self.n_heads)
        dropout_p = self.dropout if self.training else 0.0
        heads, weights = self.attention(queries, keys, values, mask, dropout_p)
        return self.w_o(merge_heads(heads)), weights
