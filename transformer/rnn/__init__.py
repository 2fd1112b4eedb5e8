"""The recurrent baseline: RNN, LSTM and GRU cells, stacked layers, attention, and seq2seq.

Chapters 02-04 of the walkthrough. Modules:
  cells      the three cells, written from their equations
  layers     `RecurrentStack`: a cell run over padded batches, stacked, optionally bidirectional
  attention  Bahdanau (additive) and Luong (dot / general) attention over encoder outputs
  seq2seq    `RecurrentSeq2Seq` (the shared `Seq2Seq` interface), `RecurrentConfig`, the factory
"""

from transformer.rnn.attention import BahdanauAttention, LuongAttention
from transformer.rnn.cells import GRUCell, LSTMCell, RNNCell, make_cell
from transformer.rnn.layers import RecurrentStack, reverse_padded, run_cell
from transformer.rnn.seq2seq import RecurrentConfig, RecurrentSeq2Seq, build_recurrent

__all__ = [
    "BahdanauAttention",
    "GRUCell",
    "LSTMCell",
    "LuongAttention",
    "RNNCell",
    "RecurrentConfig",
    "RecurrentSeq2Seq",
    "RecurrentStack",
    "build_recurrent",
    "make_cell",
    "reverse_padded",
    "run_cell",
]
