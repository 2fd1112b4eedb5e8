"""The Transformer from scratch, as a course. See README.md for the map of modules and chapters.

The core (attention, embeddings, encoder, decoder, model) is exported here; the recurrent
baseline, tasks, training and decoding live in `transformer.rnn`, `transformer.tasks`,
`transformer.train` and `transformer.decoding`, and their main entry points are exported too.
"""

from transformer.attention import (
    MultiHeadAttention,
    fused_attention,
    merge_heads,
    scaled_dot_product_attention,
    split_heads,
)
from transformer.decoder import Decoder, DecoderLayer
from transformer.decoding import Hypothesis, beam_search, greedy_decode
from transformer.embedding import TokenEmbedding
from transformer.encoder import Encoder, EncoderLayer
from transformer.feed_forward import PositionwiseFeedForward
from transformer.masks import causal_mask, padding_mask, source_mask, target_mask
from transformer.interface import (
    DecoderState,
    LanguageModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceTagger,
    count_parameters,
    reorder_state,
)
from transformer.model import Transformer, TransformerConfig, build_transformer
from transformer.positional_encoding import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    shift_matrix,
    sinusoidal_encoding,
)
from transformer.rnn import (
    BahdanauAttention,
    GRUCell,
    LSTMCell,
    LuongAttention,
    RecurrentConfig,
    RecurrentSeq2Seq,
    RecurrentStack,
    RNNCell,
    build_recurrent,
)
from transformer.sublayer import Residual
from transformer.tasks import TaskData, load_task, make_batches
from transformer.train import TrainConfig, train
from transformer.experiments.recipes import match_hidden_size  # noqa: E402 (after the modules it builds on)

__all__ = [
    "BahdanauAttention",
    "Decoder",
    "DecoderLayer",
    "DecoderState",
    "Encoder",
    "EncoderLayer",
    "GRUCell",
    "Hypothesis",
    "LSTMCell",
    "LanguageModel",
    "LearnedPositionalEmbedding",
    "LuongAttention",
    "MultiHeadAttention",
    "PositionwiseFeedForward",
    "RNNCell",
    "RecurrentConfig",
    "RecurrentSeq2Seq",
    "RecurrentStack",
    "Residual",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceTagger",
    "SinusoidalPositionalEncoding",
    "TaskData",
    "TokenEmbedding",
    "TrainConfig",
    "Transformer",
    "TransformerConfig",
    "beam_search",
    "build_recurrent",
    "build_transformer",
    "causal_mask",
    "count_parameters",
    "fused_attention",
    "greedy_decode",
    "load_task",
    "make_batches",
    "match_hidden_size",
    "merge_heads",
    "padding_mask",
    "reorder_state",
    "scaled_dot_product_attention",
    "shift_matrix",
    "sinusoidal_encoding",
    "source_mask",
    "split_heads",
    "target_mask",
    "train",
]
