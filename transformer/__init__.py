"""The Transformer from scratch, as a course. See README.md for the map of modules and chapters."""

from transformer.attention import (
    MultiHeadAttention,
    fused_attention,
    merge_heads,
    scaled_dot_product_attention,
    split_heads,
)
from transformer.decoder import Decoder, DecoderLayer
from transformer.embedding import TokenEmbedding
from transformer.encoder import Encoder, EncoderLayer, Residual
from transformer.feed_forward import PositionwiseFeedForward
from transformer.masks import causal_mask, padding_mask, source_mask, target_mask
from transformer.model import Transformer, TransformerConfig, build_transformer, count_parameters
from transformer.positional_encoding import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    shift_matrix,
    sinusoidal_encoding,
)
from transformer.seq2seq import DecoderState, Seq2Seq, reorder_state

__all__ = [
    "Decoder",
    "DecoderLayer",
    "DecoderState",
    "Encoder",
    "EncoderLayer",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "PositionwiseFeedForward",
    "Residual",
    "Seq2Seq",
    "SinusoidalPositionalEncoding",
    "TokenEmbedding",
    "Transformer",
    "TransformerConfig",
    "build_transformer",
    "causal_mask",
    "count_parameters",
    "fused_attention",
    "merge_heads",
    "padding_mask",
    "reorder_state",
    "scaled_dot_product_attention",
    "shift_matrix",
    "sinusoidal_encoding",
    "source_mask",
    "split_heads",
    "target_mask",
]
