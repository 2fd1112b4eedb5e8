"""Text <-> ids for one side of a task: a tokenizer and a vocabulary, and what a checkpoint stores of them.

Chapter: walkthrough/01_tokens_and_batches.md.
"""

from dataclasses import dataclass

from transformer.tasks.tokenize import Tokenizer, tokenizer_from_dict, tokenizer_to_dict
from transformer.tasks.vocab import Vocabulary


@dataclass(frozen=True)
class TextCodec:
    """Text <-> ids for one side of a task: a tokenizer and a vocabulary."""

    tokenizer: Tokenizer
    vocab: Vocabulary

    def encode(self, text: str) -> list[int]:
        """Ids of the tokens of `text` (unknown ones UNK), without specials."""
        return self.vocab.encode(self.tokenizer.tokenize(text))

    def decode(self, ids) -> str:
        """Text of `ids`: PAD and BOS dropped, cut at the first EOS, detokenized."""
        return self.tokenizer.detokenize(self.vocab.decode(ids))

    def to_dict(self) -> dict:
        """JSON-serialisable; `TextCodec.from_dict` rebuilds the codec."""
        return {"tokenizer": tokenizer_to_dict(self.tokenizer), "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, state: dict) -> "TextCodec":
        return cls(tokenizer_from_dict(state["tokenizer"]), Vocabulary.from_dict(state["vocab"]))
