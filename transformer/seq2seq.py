"""The interface every model family shares: Transformer and recurrent seq2seq alike.

Tasks, training, decoding and comparison only ever talk to a `Seq2Seq`, so a Transformer and
an LSTM with attention are trained, decoded and scored by the same code.

* `forward(src, tgt_in)` -> logits, for teacher-forced training: position t of the logits
  predicts `tgt_out[:, t]`, the token after `tgt_in[:, t]`.
* `start_decoding(src)` -> a `DecoderState`, everything the decoder needs from the source.
* `decode_step(tokens, state)` -> (logits for the next token, new state): one step of
  incremental decoding, given the token just produced.

A `DecoderState` is a plain dict of tensors whose first axis is the batch, so beam search can
reorder any model's state with `reorder_state`. A state may carry `"attention"`: the weights
the last step put on each source position (batch, src_seq), for alignment plots.
"""

from abc import ABC, abstractmethod

from jaxtyping import Float, Int
from torch import Tensor, nn

DecoderState = dict[str, Tensor]


class Seq2Seq(nn.Module, ABC):
    """An encoder-decoder over token ids, with the padding ids it was built for."""

    src_pad_id: int
    tgt_pad_id: int

    @abstractmethod
    def forward(
        self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]
    ) -> Float[Tensor, "batch tgt_seq vocab"]:
        """Logits for every target position, with teacher forcing."""

    @abstractmethod
    def start_decoding(self, src: Int[Tensor, "batch src_seq"]) -> DecoderState:
        """Encode the source once; return the state the first `decode_step` starts from."""

    @abstractmethod
    def decode_step(
        self, tokens: Int[Tensor, " batch"], state: DecoderState
    ) -> tuple[Float[Tensor, "batch vocab"], DecoderState]:
        """Feed the latest target token; return logits for the next one and the new state."""


def reorder_state(state: DecoderState, indices: Int[Tensor, " new_batch"]) -> DecoderState:
    """Pick (and repeat) batch rows of every tensor in the state, as beam search needs."""
    return {name: value.index_select(0, indices) for name, value in state.items()}
