"""The bigram language model: the next token's logits depend on the current token only.

Chapter: walkthrough/14_language_models.md (the simplest language model, before the Transformer
and the recurrent ones). Not from a paper: the bigram model of every text on n-grams (e.g.
Jurafsky & Martin, Speech and Language Processing, ch. 3), and nanoGPT's first model.

    P(x_{t+1} = b | x_1..x_t) = softmax(W[x_t])_b

W is a (vocab, vocab) table of logits, row a holding the logits of the token after a: an
`nn.Embedding(vocab, vocab)` looked up at the current token. Its context is one token, so its
state is just the last token and its `max_len` is None (any length, nothing to slide).

Trained by cross-entropy, W tends to the log of the bigram frequencies; `from_counts` builds
that maximum-likelihood table directly by counting (with add-alpha smoothing), and the spec
checks that counting is where training's gradient vanishes.

Notation: W = `next_token_logits.weight`, a = current token, b = next token.
"""

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.interface import LanguageModel, State
from transformer.tasks.vocab import PAD


def bigram_counts(ids: Int[Tensor, "batch seq"], vocab_size: int, pad_id: int = PAD) -> Float[Tensor, "vocab vocab"]:
    """counts[a, b]: how often token b follows token a in the rows of `ids` (pairs with padding left out)."""
    expect_shape("bigram_counts: ids", ids, "batch seq")
    expect_ids("bigram_counts: ids", ids, vocab_size)
    current = rearrange(ids[:, :-1], "batch seq -> (batch seq)")
    following = rearrange(ids[:, 1:], "batch seq -> (batch seq)")
    real = (current != pad_id) & (following != pad_id)
    pairs = current[real] * vocab_size + following[real]  # one index per (a, b) pair
    counts = torch.bincount(pairs, minlength=vocab_size * vocab_size).double()
    return rearrange(counts, "(current following) -> current following", following=vocab_size)


class BigramLanguageModel(LanguageModel):
    """A table of next-token logits per current token; see the module docstring."""

    max_len = None

    def __init__(self, vocab_size: int, pad_id: int = PAD):
        super().__init__()
        if vocab_size < 2 or not 0 <= pad_id < vocab_size:
            raise ValueError(
                f"BigramLanguageModel: expected vocab_size >= 2 and pad_id in [0, vocab_size), got {vocab_size}, {pad_id}"
            )
        self.vocab_size, self.pad_id = vocab_size, pad_id
        self.next_token_logits = nn.Embedding(vocab_size, vocab_size)  # row a: logits of the token after a

    @classmethod
    def from_table(cls, table: Float[Tensor, "vocab vocab"], pad_id: int = PAD) -> "BigramLanguageModel":
        """A model whose row a of logits is `table[a]` (dtype kept): a distribution known exactly."""
        if table.dim() != 2 or table.shape[0] != table.shape[1]:
            raise ValueError(f"BigramLanguageModel.from_table: expected a square (vocab, vocab) table, got {tuple(table.shape)}")
        model = cls(table.shape[0], pad_id).to(table.dtype)
        with torch.no_grad():
            model.next_token_logits.weight.copy_(table)
        return model

    @classmethod
    def from_counts(
        cls, ids: Int[Tensor, "batch seq"], vocab_size: int, pad_id: int = PAD, smoothing: float = 1.0
    ) -> "BigramLanguageModel":
        """The maximum-likelihood table of `ids`, add-`smoothing` (Laplace at 1): W[a] = log((c[a] + alpha) / (n_a + V alpha)).

        With smoothing 0 a pair never seen gets logit -inf (probability 0), and a token never
        followed by anything a row of NaN: use smoothing > 0 for generation.
        """
        if not smoothing >= 0:
            raise ValueError(f"BigramLanguageModel.from_counts: expected smoothing >= 0, got {smoothing}")
        counts = bigram_counts(ids, vocab_size, pad_id) + smoothing
        return cls.from_table((counts / counts.sum(dim=-1, keepdim=True)).log(), pad_id)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq vocab"]:
        """Logits at every position: position t predicts token t + 1 from token t alone."""
        expect_shape("ids", ids, "batch seq")
        expect_ids("ids", ids, self.vocab_size)
        return self.next_token_logits(ids)

    def start(self, prefix: Int[Tensor, "batch prefix"], use_cache: bool = True) -> tuple[Float[Tensor, "batch vocab"], State]:
        """The logits after the prefix and the state: the last token (use_cache) or every token so far."""
        expect_shape("prefix", prefix, "batch prefix")
        if prefix.shape[1] < 1:
            raise ValueError(f"prefix: expected at least one token (batch, prefix >= 1), got shape {tuple(prefix.shape)}")
        logits = self.forward(prefix)[:, -1]
        return logits, ({"last_token": prefix[:, -1]} if use_cache else {"tokens": prefix})

    def step(self, tokens: Int[Tensor, " batch"], state: State) -> tuple[Float[Tensor, "batch vocab"], State]:
        """Append one token per row. Without the cache, rerun `forward` over the whole text, as a
        model without a cache must (the same logits, O(t) work at step t)."""
        batch = next(iter(state.values())).shape[0]
        expect_shape("tokens", tokens, "batch", batch=batch)
        if "tokens" in state:
            text = torch.cat([state["tokens"], tokens[:, None]], dim=1)
            return self.forward(text)[:, -1], {"tokens": text}
        return self.forward(tokens[:, None])[:, 0], {"last_token": tokens}
