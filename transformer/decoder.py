"""The decoder: masked self-attention, cross-attention to the encoder, feed-forward; the stack.

Chapter: walkthrough/08_decoder_and_model.md. Paper: Vaswani et al. 2017, §3.1:
"In addition to the two sub-layers in each encoder layer, the decoder inserts a third sub-layer,
which performs multi-head attention over the output of the encoder stack. [...] We also modify
the self-attention sub-layer in the decoder stack to prevent positions from attending to
subsequent positions."

Each sub-layer sits in the same `Residual` (post- or pre-norm) as the encoder's.

Incremental decoding belongs to the stack: `Decoder.start(memory, src_mask)` makes the
key/value cache, `Decoder.step(x, cache)` runs new positions through every layer and the final
norm. The cache holds, per layer, the self-attention keys and values of earlier positions and
the cross-attention keys and values of the source, which are computed once (see
walkthrough/10_decoding.md).

Without cross-attention (`cross_attention=False`) a decoder layer is masked self-attention and
the feed-forward network: the block of a decoder-only language model (chapter 14), which is
the encoder-decoder's decoder with nothing to attend to but its own past.
"""

import torch
from jaxtyping import Bool, Float
from torch import Tensor, nn

from transformer.attention import AttentionFunction, MultiHeadAttention, scaled_dot_product_attention
from transformer.checks import expect_dtype, expect_probability, expect_shape, expect_sizes
from transformer.feed_forward import PositionwiseFeedForward
from transformer.sublayer import Residual

Cache = dict[str, Tensor]


def _block_causal_mask(n_new: int, n_past: int, device) -> Bool[Tensor, "1 1 new all"] | None:
    """True where new position i (after `n_past` cached ones) may attend to key j: j <= n_past + i.

    One new position needs no mask: the cache holds only its past.
    """
    if n_new == 1:
        return None
    return torch.ones(n_new, n_past + n_new, dtype=torch.bool, device=device).tril(diagonal=n_past)[None, None]


class DecoderLayer(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        attention: AttentionFunction = scaled_dot_product_attention,
        cross_attention: bool = True,
        attention_dropout: float | None = None,
        ff_dropout: float | None = None,
    ):
        """`dropout` is the paper's residual dropout (§5.4); `attention_dropout` (on the attention
        weights) and `ff_dropout` (on the feed-forward's hidden layer) default to the same rate."""
        super().__init__()
        expect_sizes("DecoderLayer", d_model=d_model, n_heads=n_heads, d_ff=d_ff)
        expect_probability("DecoderLayer.dropout", dropout)
        self.d_model = d_model
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        ff_dropout = dropout if ff_dropout is None else ff_dropout
        self.self_attn = MultiHeadAttention(d_model, n_heads, attention_dropout, attention=attention)
        self.self_residual = Residual(d_model, dropout, norm_first)
        self.cross_attn = (MultiHeadAttention(d_model, n_heads, attention_dropout, attention=attention)
                           if cross_attention else None)
        self.cross_residual = Residual(d_model, dropout, norm_first) if cross_attention else None
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, ff_dropout)
        self.ff_residual = Residual(d_model, dropout, norm_first)

    # exercise(decoder): one decoder layer (§3.1): masked self-attention, cross-attention to the
    #   memory and the feed-forward network, each in its residual connection; return (output, the
    #   cross-attention weights).
    #   hint: the self-attention takes tgt_mask (causal and padding); the cross-attention takes its
    #     queries from x and its keys and values from memory, with src_mask; a layer built without
    #     cross-attention (self.cross_attn None) skips it and returns the self-attention weights.
    #   hint: three sub-layers, each in its Residual: masked self-attention over x (tgt_mask),
    #     cross-attention from x to memory (src_mask), the feed-forward network; return (output, the
    #     cross-attention weights). A layer built without cross-attention (self.cross_attn is None)
    #     skips the middle one and returns its self-attention weights.
    def forward(
        self,
        x: Float[Tensor, "batch tgt_seq d_model"],
        memory: Float[Tensor, "batch src_seq d_model"] | None,
        src_mask: Bool[Tensor, "#batch #heads #tgt_seq src_seq"] | None,
        tgt_mask: Bool[Tensor, "#batch #heads #tgt_seq tgt_seq"] | None,
    ) -> tuple[Float[Tensor, "batch tgt_seq d_model"], Float[Tensor, "batch heads tgt_seq kv_seq"] | None]:
        """Returns the layer's output and its cross-attention weights (for alignment plots); a
        layer without cross-attention returns its self-attention weights instead."""
        weights = None

        def self_attention(h: Tensor) -> Tensor:
            nonlocal weights
            out, weights = self.self_attn(h, h, h, tgt_mask)
            return out

        def cross_attention(h: Tensor) -> Tensor:
            nonlocal weights
            out, weights = self.cross_attn(h, memory, memory, src_mask)
            return out

        x = self.self_residual(x, self_attention)
        if self.cross_attn is not None:
            x = self.cross_residual(x, cross_attention)
        return self.ff_residual(x, self.feed_forward), weights

    # exercise(decoder): the decoder layer on new target positions only, with a key/value cache of
    #   the earlier ones (section "Incremental decoding"): the output forward would give at those
    #   positions; return (output, new cache, weights).
    #   hint: project the new positions' keys and values, append them to the cached ones along the
    #     position axis and attend over them all; the memory's cross-attention keys and values are
    #     in the cache already; several new positions at once still need a causal mask among
    #     themselves.
    #   hint: new positions with a key/value cache: append their projected self-attention
    #     keys/values (self_attn.project_key_value) to cache["self_k"/"self_v"] along the position
    #     axis and attend over them (self_attn.attend; one new position needs no mask, several need
    #     _block_causal_mask); cross-attend with the cached cross_k/cross_v (if the layer has
    #     cross-attention); return (output, new cache, the weights forward would return).
    def step(
        self, x: Float[Tensor, "batch new d_model"], cache: Cache, src_mask: Tensor | None
    ) -> tuple[Float[Tensor, "batch new d_model"], Cache, Float[Tensor, "batch heads new kv_seq"] | None]:
        """New positions, after those in the cache. `cache` holds `self_k, self_v` (earlier
        positions, projected and split into heads) and, with cross-attention, `cross_k, cross_v`
        (the source); returns the output, the updated cache and the attention weights.
        """
        new_cache = dict(cache)
        weights = None
        mask = _block_causal_mask(x.shape[1], cache["self_k"].shape[2], x.device)

        def self_attention(h: Tensor) -> Tensor:
            nonlocal weights
            k, v = self.self_attn.project_key_value(h, h)
            new_cache["self_k"] = torch.cat([cache["self_k"], k], dim=2)
            new_cache["self_v"] = torch.cat([cache["self_v"], v], dim=2)
            out, weights = self.self_attn.attend(h, new_cache["self_k"], new_cache["self_v"], mask)
            return out

        def cross_attention(h: Tensor) -> Tensor:
            nonlocal weights
            out, weights = self.cross_attn.attend(h, cache["cross_k"], cache["cross_v"], src_mask)
            return out

        x = self.self_residual(x, self_attention)
        if self.cross_attn is not None:
            x = self.cross_residual(x, cross_attention)
        return self.ff_residual(x, self.feed_forward), new_cache, weights


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
        cross_attention: bool = True,
        attention_dropout: float | None = None,
        ff_dropout: float | None = None,
    ):
        super().__init__()
        expect_sizes("Decoder", n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_ff=d_ff)
        expect_probability("Decoder.dropout", dropout)
        self.d_model, self.n_heads = d_model, n_heads
        self.cross_attention = cross_attention
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff, dropout, norm_first, attention, cross_attention, attention_dropout,
                         ff_dropout)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def forward(
        self,
        x: Float[Tensor, "batch tgt_seq d_model"],
        memory: Float[Tensor, "batch src_seq d_model"] | None = None,
        src_mask: Bool[Tensor, "#batch #heads #tgt_seq src_seq"] | None = None,
        tgt_mask: Bool[Tensor, "#batch #heads #tgt_seq tgt_seq"] | None = None,
        return_weights: bool = False,
    ):
        """Decoder states for every target position; with `return_weights`, each layer's
        cross-attention weights too (self-attention weights for a decoder without cross-attention)."""
        expect_shape("x", x, "batch tgt_seq d_model", d_model=self.d_model)
        expect_dtype("x", x, self._dtype())
        self._check_memory(memory, x.shape[0])
        all_weights = []
        for layer in self.layers:
            x, weights = layer(x, memory, src_mask, tgt_mask)
            all_weights.append(weights)
        x = self.norm(x)
        return (x, all_weights) if return_weights else x

    def start(
        self,
        memory: Float[Tensor, "batch src_seq d_model"] | None = None,
        src_mask: Bool[Tensor, "batch 1 1 src_seq"] | None = None,
        batch_size: int | None = None,
    ) -> Cache:
        """The key/value cache before the first position: the source's cross-attention keys and
        values of every layer (computed once), and empty self-attention keys and values.

        A decoder without cross-attention takes no memory, only `batch_size`.
        """
        if self.cross_attention:
            self._check_memory(memory, None)
            batch_size = memory.shape[0]
        elif batch_size is None or memory is not None:
            raise ValueError("Decoder.start: a decoder without cross-attention takes batch_size, not memory")
        weight = self.layers[0].self_attn.w_k.weight
        empty = weight.new_zeros(batch_size, self.n_heads, 0, self.d_model // self.n_heads)
        cache: Cache = {} if src_mask is None else {"src_mask": src_mask}
        for i, layer in enumerate(self.layers):
            cache[f"self_k.{i}"], cache[f"self_v.{i}"] = empty, empty
            if layer.cross_attn is not None:
                cache[f"cross_k.{i}"], cache[f"cross_v.{i}"] = layer.cross_attn.project_key_value(memory, memory)
        return cache

    def step(
        self, x: Float[Tensor, "batch new d_model"], cache: Cache
    ) -> tuple[Float[Tensor, "batch new d_model"], Cache, Float[Tensor, "batch heads new kv_seq"] | None]:
        """New positions through every layer and the final norm, reusing and extending the cache.

        Returns the output, the new cache and the last layer's attention weights (cross-attention,
        or self-attention without it). `cached_length(cache)` positions came before `x`.
        """
        expect_shape("x", x, "batch new d_model", d_model=self.d_model)
        expect_dtype("x", x, self._dtype())
        src_mask = cache.get("src_mask")
        new_cache: Cache = {} if src_mask is None else {"src_mask": src_mask}
        weights = None
        names = ("self_k", "self_v", "cross_k", "cross_v") if self.cross_attention else ("self_k", "self_v")
        for i, layer in enumerate(self.layers):
            x, layer_cache, weights = layer.step(x, {name: cache[f"{name}.{i}"] for name in names}, src_mask)
            new_cache.update({f"{name}.{i}": layer_cache[name] for name in names})
        return self.norm(x), new_cache, weights

    @staticmethod
    def cached_length(cache: Cache) -> int:
        """How many positions the cache holds."""
        return cache["self_k.0"].shape[2]

    def _check_memory(self, memory: Tensor | None, batch: int | None) -> None:
        if not self.cross_attention:
            if memory is not None:
                raise ValueError("memory: this decoder has no cross-attention, so it takes no memory, got a tensor")
            return
        if memory is None:
            raise ValueError("memory: expected the encoder's output (batch, src_seq, d_model), got None")
        sizes = {"d_model": self.d_model} if batch is None else {"batch": batch, "d_model": self.d_model}
        expect_shape("memory", memory, "batch src_seq d_model", **sizes)
        expect_dtype("memory", memory, self._dtype())

    def _dtype(self) -> torch.dtype:
        """The dtype of the weights: inputs must have it (outside autocast)."""
        return self.layers[0].self_attn.w_q.weight.dtype
