"""Token embedding: each token id looks up a learned vector, scaled by sqrt(d_model).

Chapter: walkthrough/05_embeddings_and_positions.md. Paper: Vaswani et al. 2017, §3.4:
"In the embedding layers, we multiply those weights by sqrt(d_model)."

Notation map: the paper's embedding matrix -> `table.weight` (vocab, d_model).
The padding id's row starts at zero and never receives a gradient (`nn.Embedding(padding_idx=...)`),
so padding contributes nothing a model could learn from.
"""

import math

from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_sizes


class TokenEmbedding(nn.Module):
    """`table[ids] * sqrt(d_model)`."""

    def __init__(self, vocab_size: int, d_model: int, pad_id: int | None = 0):
        super().__init__()
        expect_sizes("TokenEmbedding", vocab_size=vocab_size, d_model=d_model)
        if pad_id is not None and (isinstance(pad_id, bool) or not isinstance(pad_id, int) or not 0 <= pad_id < vocab_size):
            raise ValueError(f"TokenEmbedding.pad_id: expected None or an id in [0, {vocab_size}), got {pad_id!r}")
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.pad_id = pad_id
        self.table = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)

    # exercise(embeddings): §3.4: the embedding of each id, multiplied by sqrt(d_model) (section
    #   "Token embedding").
    #   hint: look the ids up in self.table; check them first with expect_ids, so an id outside the
    #     vocabulary gets one clear line.
    #   hint: §3.4: look the ids up in self.table and multiply by sqrt(d_model); start with
    #     expect_ids("ids", ids, self.vocab_size), so a bad id gets one clear line.
    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq d_model"]:
        expect_ids("ids", ids, self.vocab_size)
        return self.table(ids) * math.sqrt(self.d_model)
