"""The decoder: masked self-attention, cross-attention to the encoder, feed-forward; the stack.

Chapter: walkthrough/08_decoder_and_model.md. Paper: Vaswani et al. 2017, §3.1:
"In addition to the two sub-layers in each encoder layer, the decoder inserts a third sub-layer,
which performs multi-head attention over the output of the encoder stack. [...] We also modify
the self-attention sub-layer in the decoder stack to prevent positions from attending to
subsequent positions."

Each sub-layer sits in the same `Residual` (post- or pre-norm) as the encoder's.
`step` runs one position at a time for incremental decoding, with a key/value cache: the
self-attention keys and values of earlier positions, and the cross-attention keys and values
of the source, which are computed once (see walkthrough/10_decoding.md).
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor, nn

from transformer.attention import AttentionFunction, MultiHeadAttention, scaled_dot_product_attention
from transformer.checks import expect_shape
from transformer.encoder import Residual
from transformer.feed_forward import PositionwiseFeedForward


class DecoderLayer(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        attention: AttentionFunction = scaled_dot_product_attention,
    ):
        super().__init__()
        self.d_model = d_model
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout, attention=attention)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout, attention=attention)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout)
        self.self_residual = Residual(d_model, dropout, norm_first)
        self.cross_residual = Residual(d_model, dropout, norm_first)
        self.ff_residual = Residual(d_model, dropout, norm_first)

    # exercise(decoder): three sub-layers, each in its Residual: masked self-attention over x
    #   (tgt_mask), cross-attention from x to memory (src_mask), the feed-forward network;
    #   return (output, the cross-attention weights).
    def forward(
        self,
        x: Float[Tensor, "batch tgt_seq d_model"],
        memory: Float[Tensor, "batch src_seq d_model"],
        src_mask: Bool[Tensor, "#batch #heads #tgt_seq src_seq"] | None,
        tgt_mask: Bool[Tensor, "#batch #heads #tgt_seq tgt_seq"] | None,
    ) -> tuple[Float[Tensor, "batch tgt_seq d_model"], Float[Tensor, "batch heads tgt_seq src_seq"] | None]:
        """Returns the layer's output and its cross-attention weights (for alignment plots)."""
        cross_weights = None

        def self_attention(h: Tensor) -> Tensor:
            return self.self_attn(h, h, h, tgt_mask)[0]

        def cross_attention(h: Tensor) -> Tensor:
            nonlocal cross_weights
            out, cross_weights = self.cross_attn(h, memory, memory, src_mask)
            return out

        x = self.self_residual(x, self_attention)
        x = self.cross_residual(x, cross_attention)
        return self.ff_residual(x, self.feed_forward), cross_weights

    # exercise(decoder): one new position with a key/value cache: append this position's projected
    #   self-attention keys/values (self_attn.project_key_value) to cache["self_k"/"self_v"] along
    #   the position axis and attend over them (self_attn.attend, no mask: the cache holds only the
    #   past); cross-attend with the cached cross_k/cross_v; return (output, new cache, cross weights).
    def step(
        self, x: Float[Tensor, "batch 1 d_model"], cache: dict[str, Tensor], src_mask: Tensor | None
    ) -> tuple[Float[Tensor, "batch 1 d_model"], dict[str, Tensor], Float[Tensor, "batch heads 1 src_seq"] | None]:
        """One new position. `cache` holds `self_k, self_v` (earlier positions, projected and
        split into heads) and `cross_k, cross_v` (the source); returns the updated cache.

        No causal mask is needed: the cache only holds the past.
        """
        new_cache = dict(cache)
        cross_weights = None

        def self_attention(h: Tensor) -> Tensor:
            k, v = self.self_attn.project_key_value(h, h)
            new_cache["self_k"] = torch.cat([cache["self_k"], k], dim=2)
            new_cache["self_v"] = torch.cat([cache["self_v"], v], dim=2)
            return self.self_attn.attend(h, new_cache["self_k"], new_cache["self_v"])[0]

        def cross_attention(h: Tensor) -> Tensor:
            nonlocal cross_weights
            out, cross_weights = self.cross_attn.attend(h, cache["cross_k"], cache["cross_v"], src_mask)
            return out

        x = self.self_residual(x, self_attention)
        x = self.cross_residual(x, cross_attention)
        return self.ff_residual(x, self.feed_forward), new_cache, cross_weights


class Decoder(nn.Module):
    """N identical decoder layers (the paper: N = 6), optionally followed by a final LayerNorm."""

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        final_norm: bool = False,
        attention: AttentionFunction = scaled_dot_product_attention,
    ):
        super().__init__()
        self.d_model = d_model
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff, dropout, norm_first, attention) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def forward(
        self,
        x: Float[Tensor, "batch tgt_seq d_model"],
        memory: Float[Tensor, "batch src_seq d_model"],
        src_mask: Bool[Tensor, "#batch #heads #tgt_seq src_seq"] | None = None,
        tgt_mask: Bool[Tensor, "#batch #heads #tgt_seq tgt_seq"] | None = None,
        return_weights: bool = False,
    ):
        """Decoder states for every target position; with `return_weights`, each layer's
        cross-attention weights too."""
        expect_shape("x", x, "batch tgt_seq d_model", d_model=self.d_model)
        expect_shape("memory", memory, "batch src_seq d_model", batch=x.shape[0], d_model=self.d_model)
        all_weights = []
        for layer in self.layers:
            x, weights = layer(x, memory, src_mask, tgt_mask)
            all_weights.append(weights)
        x = self.norm(x)
        return (x, all_weights) if return_weights else x
