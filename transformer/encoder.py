"""The encoder: the encoder layer (self-attention and feed-forward, each in a `Residual`) and the stack.

Chapter: walkthrough/07_encoder.md. Paper: Vaswani et al. 2017, §3.1 and §5.4:

    "the output of each sub-layer is LayerNorm(x + Sublayer(x))"        (post-norm, the paper)
    "We apply dropout to the output of each sub-layer, before it is added to the sub-layer input"

Post-norm (`norm_first=False`, the paper and PyTorch's default):  x = LayerNorm(x + Dropout(Sublayer(x)))
Pre-norm  (`norm_first=True`, Xiong et al. 2020): x = x + Dropout(Sublayer(LayerNorm(x)))

Pre-norm keeps an un-normalised residual path from input to output, which makes deeper stacks
train without a careful warm-up; it then needs a final LayerNorm on the stack's output
(`final_norm=True`). `nn.Transformer` always puts a final norm on both stacks, whichever
`norm_first` it has: `final_norm` makes that an explicit choice here.
"""

from jaxtyping import Bool, Float
from torch import Tensor, nn

from transformer.attention import AttentionFunction, MultiHeadAttention, scaled_dot_product_attention
from transformer.checks import expect_dtype, expect_probability, expect_shape, expect_sizes
from transformer.feed_forward import PositionwiseFeedForward
from transformer.sublayer import Residual


class EncoderLayer(nn.Module):
    """Self-attention over the source, then the feed-forward network, each in a `Residual`."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        attention: AttentionFunction = scaled_dot_product_attention,
        attention_dropout: float | None = None,
        ff_dropout: float | None = None,
    ):
        """`dropout` is the paper's residual dropout (§5.4); `attention_dropout` (on the attention
        weights) and `ff_dropout` (on the feed-forward's hidden layer) default to the same rate."""
        super().__init__()
        expect_sizes("EncoderLayer", d_model=d_model, n_heads=n_heads, d_ff=d_ff)
        expect_probability("EncoderLayer.dropout", dropout)
        self.d_model = d_model
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        ff_dropout = dropout if ff_dropout is None else ff_dropout
        self.self_attn = MultiHeadAttention(d_model, n_heads, attention_dropout, attention=attention)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, ff_dropout)
        self.attn_residual = Residual(d_model, dropout, norm_first)
        self.ff_residual = Residual(d_model, dropout, norm_first)

    # exercise(encoder): one encoder layer (§3.1): self-attention, then the feed-forward network,
    #   each in its residual connection; return (output, the self-attention weights).
    #   hint: self-attention means query = key = value = x, with the mask; self.attn_residual and
    #     self.ff_residual wrap the two sub-layers (a Residual takes x and the sub-layer as a
    #     function of one tensor, so keep the attention weights aside).
    #   hint: self-attention (query = key = value = x, with mask) in self.attn_residual, then
    #     self.feed_forward in self.ff_residual; return (output, the self-attention weights).
    def forward(
        self, x: Float[Tensor, "batch src_seq d_model"], mask: Bool[Tensor, "#batch #heads #src_seq src_seq"] | None = None
    ) -> tuple[Float[Tensor, "batch src_seq d_model"], Float[Tensor, "batch heads src_seq src_seq"] | None]:
        """Returns the layer's output and its self-attention weights (for plots)."""
        weights = None

        def self_attention(h: Tensor) -> Tensor:
            nonlocal weights
            out, weights = self.self_attn(h, h, h, mask)
            return out

        x = self.attn_residual(x, self_attention)
        return self.ff_residual(x, self.feed_forward), weights


class Encoder(nn.Module):
    """N identical encoder layers (the paper: N = 6), optionally followed by a final LayerNorm."""

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
        attention_dropout: float | None = None,
        ff_dropout: float | None = None,
    ):
        super().__init__()
        expect_sizes("Encoder", n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_ff=d_ff)
        expect_probability("Encoder.dropout", dropout)
        self.d_model = d_model
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, dropout, norm_first, attention, attention_dropout, ff_dropout)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def forward(
        self,
        x: Float[Tensor, "batch src_seq d_model"],
        mask: Bool[Tensor, "#batch #heads #src_seq src_seq"] | None = None,
        return_weights: bool = False,
    ):
        """The memory the decoder attends to; with `return_weights`, also each layer's weights."""
        expect_shape("x", x, "batch src_seq d_model", d_model=self.d_model)
        expect_dtype("x", x, self.layers[0].self_attn.w_q.weight.dtype)
        all_weights = []
        for layer in self.layers:
            x, weights = layer(x, mask)
            all_weights.append(weights)
        x = self.norm(x)
        return (x, all_weights) if return_weights else x
