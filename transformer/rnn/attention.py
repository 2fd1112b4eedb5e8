"""Attention for recurrent decoders: additive (Bahdanau) and multiplicative (Luong) scoring.

Chapter: walkthrough/04_attention_for_rnns.md. Papers: Bahdanau et al. 2015, §3.1 and
Appendix A.1.2; Luong et al. 2015, §3.1 (global attention), equations (7)-(8).

At each decoder step a query q (a decoder hidden state) scores every encoder output h_j
(the "annotations" or "memory"), the scores become weights by a softmax over the source, and
the context is the weighted mean of the encoder outputs:

    additive (Bahdanau)      e_j = v_a^T tanh(W_a q + U_a h_j)
    dot (Luong)              e_j = q^T h_j
    general (Luong)          e_j = q^T W_a h_j
    weights                  α_j = exp(e_j) / Σ_k exp(e_k)      over real source positions only
    context                  c = Σ_j α_j h_j

Notation map: W_a -> `w_query` (additive) or `w_a` (general); U_a -> `w_key`; v_a -> `v`.
The part of the score that depends only on the source (U_a h_j, or W_a h_j) is computed once
per sentence by `project_keys`, not at every decoder step.

Masks are boolean, True = a real source token that may be attended to (the package's one
convention). `transformer.masks.masked_softmax`, the one both attention families use, gives
masked scores the dtype's most negative value and sets their weights to exactly zero after the
softmax. No bias terms, as in both papers' equations.
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor, nn

from transformer.checks import expect_mask, expect_sizes
from transformer.masks import masked_softmax


# exercise(rnn_attention): the context vector c = sum_j alpha_j h_j: the mean of the memory under
#   the attention weights, one per batch row (section "The equations").
#   hint: c = sum_j alpha_j h_j for each batch row (einsum or a batched product).
def weighted_context(
    weights: Float[Tensor, "batch src_seq"], memory: Float[Tensor, "batch src_seq d_memory"]
) -> Float[Tensor, "batch d_memory"]:
    """c = Σ_j α_j h_j."""
    return torch.einsum("bs,bsd->bd", weights, memory)


# exercise(rnn_attention): Bahdanau's additive score e_j = v^T tanh(W_a q + U_a h_j) for every
#   source position j, from the projections already computed (section "The equations").
#   hint: query_proj = W_a q is one vector per batch row and keys = U_a h_j one per source position:
#     broadcast the query over the source axis, add, tanh, then the dot product with v.
#   hint: Bahdanau: e_j = v^T tanh(W_a q + U_a h_j), given query_proj = W_a q (batch, d_attention)
#     and keys = U_a h_j (batch, src_seq, d_attention).
def additive_scores(
    query_proj: Float[Tensor, "batch d_attention"],
    keys: Float[Tensor, "batch src_seq d_attention"],
    v: Float[Tensor, " d_attention"],
) -> Float[Tensor, "batch src_seq"]:
    """e_j = v^T tanh(W_a q + U_a h_j), given W_a q and the precomputed U_a h_j."""
    return torch.tanh(query_proj[:, None, :] + keys) @ v


# exercise(rnn_attention): Luong's multiplicative score of the query against each source position,
#   one score per (batch row, position) (section "The equations").
#   hint: Luong: e_j = q^T k_j for every source position j.
def dot_scores(
    query: Float[Tensor, "batch d_memory"], keys: Float[Tensor, "batch src_seq d_memory"]
) -> Float[Tensor, "batch src_seq"]:
    """e_j = q^T k_j, with k_j = h_j (dot) or W_a h_j (general)."""
    return torch.einsum("bd,bsd->bs", query, keys)


class BahdanauAttention(nn.Module):
    """Additive attention: a one-hidden-layer network scores each (query, source) pair."""

    def __init__(self, query_size: int, memory_size: int, attention_size: int):
        super().__init__()
        expect_sizes("BahdanauAttention", query_size=query_size, memory_size=memory_size, attention_size=attention_size)
        self.memory_size = memory_size
        self.w_query = nn.Linear(query_size, attention_size, bias=False)
        self.w_key = nn.Linear(memory_size, attention_size, bias=False)
        self.v = nn.Parameter(torch.empty(attention_size).uniform_(-attention_size**-0.5, attention_size**-0.5))

    def project_keys(self, memory: Float[Tensor, "batch src_seq d_memory"]) -> Float[Tensor, "batch src_seq d_attention"]:
        """U_a h_j for every source position: computed once per sentence."""
        return self.w_key(memory)

    def forward(
        self,
        query: Float[Tensor, "batch d_query"],
        keys: Float[Tensor, "batch src_seq d_keys"],
        memory: Float[Tensor, "batch src_seq d_memory"],
        mask: Bool[Tensor, "batch src_seq"],
    ) -> tuple[Float[Tensor, "batch d_memory"], Float[Tensor, "batch src_seq"]]:
        """The context vector and the weights α over the source."""
        expect_mask("mask", mask, keys.shape[:2], "batch src_seq")
        weights = masked_softmax(additive_scores(self.w_query(query), keys, self.v), mask)
        return weighted_context(weights, memory), weights


class LuongAttention(nn.Module):
    """Multiplicative attention: `score="dot"` (q^T h_j) or `"general"` (q^T W_a h_j)."""

    SCORES = ("dot", "general")

    def __init__(self, query_size: int, memory_size: int, score: str = "general"):
        super().__init__()
        expect_sizes("LuongAttention", query_size=query_size, memory_size=memory_size)
        if score not in self.SCORES:
            raise ValueError(f"LuongAttention: expected score in {self.SCORES}, got {score!r}")
        if score == "dot" and query_size != memory_size:
            raise ValueError(
                f"LuongAttention: the dot score needs query_size == memory_size, got {query_size} and {memory_size}"
            )
        self.score, self.memory_size = score, memory_size
        self.w_a = nn.Linear(memory_size, query_size, bias=False) if score == "general" else None

    def project_keys(self, memory: Float[Tensor, "batch src_seq d_memory"]) -> Float[Tensor, "batch src_seq d_query"]:
        """W_a h_j for every source position (general), or h_j itself (dot)."""
        return memory if self.w_a is None else self.w_a(memory)

    def forward(
        self,
        query: Float[Tensor, "batch d_query"],
        keys: Float[Tensor, "batch src_seq d_query"],
        memory: Float[Tensor, "batch src_seq d_memory"],
        mask: Bool[Tensor, "batch src_seq"],
    ) -> tuple[Float[Tensor, "batch d_memory"], Float[Tensor, "batch src_seq"]]:
        """The context vector and the weights α over the source."""
        expect_mask("mask", mask, keys.shape[:2], "batch src_seq")
        weights = masked_softmax(dot_scores(query, keys), mask)
        return weighted_context(weights, memory), weights
