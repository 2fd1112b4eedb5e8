"""Vocabularies: the table between tokens (strings) and the integer ids a model sees.

Chapter: walkthrough/01_tokens_and_batches.md.

Four special tokens have fixed ids in every vocabulary, so masks, batching and decoding never
need to ask a vocabulary where they are:

| id | token   | role |
|----|---------|------|
| 0  | `<pad>` | fills a batch row after the sequence ends; masked out of attention and loss |
| 1  | `<bos>` | begin-of-sequence, the decoder's first input |
| 2  | `<eos>` | end-of-sequence, appended to every source and target; decoding stops at it |
| 3  | `<unk>` | any token the vocabulary does not hold |

A vocabulary is built from the *training* split only: a word that appears only in the test
set maps to `<unk>`, exactly as it would for a sentence the model meets after training.
"""

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class Vocabulary:
    """Tokens <-> ids, with the four specials at ids 0-3 and `tokens` after them, in order."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        clashes = sorted(set(tokens) & set(SPECIALS))
        if clashes:
            raise ValueError(f"Vocabulary: tokens may not repeat the specials {SPECIALS}, got {clashes}")
        if len(set(tokens)) != len(tokens):
            repeated = sorted(t for t, n in Counter(tokens).items() if n > 1)
            raise ValueError(f"Vocabulary: expected distinct tokens, got repeats {repeated[:5]}")
        self._tokens = [*SPECIALS, *tokens]
        self._ids = {token: i for i, token in enumerate(self._tokens)}

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> "Vocabulary":
        """Count the tokens of `sequences` (the training split); keep the frequent ones.

        A token is kept when it occurs at least `min_freq` times. The most frequent come
        first (ties in alphabetical order, so the ids never depend on the order of the data);
        `max_size` caps the whole vocabulary, the four specials included.
        """
        if min_freq < 1:
            raise ValueError(f"Vocabulary.build: expected min_freq >= 1, got {min_freq}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"Vocabulary.build: expected max_size >= {len(SPECIALS)} (the specials), got {max_size}")
        counts = Counter()
        for tokens in sequences:
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls(kept)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self) -> str:
        preview = " ".join(self._tokens[len(SPECIALS) : len(SPECIALS) + 8])
        return f"Vocabulary({len(self)} tokens: specials + {preview} ...)"

    @property
    def tokens(self) -> list[str]:
        """Every token, in id order (the specials first)."""
        return list(self._tokens)

    pad_id, bos_id, eos_id, unk_id = PAD, BOS, EOS, UNK

    def id(self, token: str) -> int:
        """The id of `token`, or UNK if the vocabulary does not hold it."""
        return self._ids.get(token, UNK)

    def token(self, id: int) -> str:
        """The token with this id."""
        if not 0 <= id < len(self._tokens):
            raise ValueError(f"Vocabulary.token: expected an id in [0, {len(self)}), got {id}")
        return self._tokens[id]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of `tokens`, unknown ones as UNK. No specials are added (batching adds them)."""
        ids = self._ids
        return [ids.get(token, UNK) for token in tokens]

    # exercise(tokens): ids back to tokens, as a model's output is read: up to the end of the
    #   sequence, without the specials that hold no word (section "Vocabularies and the four
    #   specials").
    #   hint: go through the ids in order: EOS ends the output (it is not kept), PAD and BOS are
    #     skipped, every other id becomes its token, UNK included; the ids may come as a tensor.
    #   hint: ids back to tokens: int() each id (ids may be a tensor), stop at the first EOS, drop
    #     PAD and BOS, keep every other id as self.token(id) (UNK stays "<unk>").
    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of `ids` up to the first EOS, without PAD and BOS. UNK stays `<unk>`."""
        tokens = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS):
                tokens.append(self.token(i))
        return tokens

    def to_dict(self) -> dict:
        """A JSON-serialisable description, for checkpoints: `Vocabulary.from_dict` inverts it."""
        return {"specials": list(SPECIALS), "tokens": self._tokens[len(SPECIALS) :]}

    @classmethod
    def from_dict(cls, state: dict) -> "Vocabulary":
        """The vocabulary `to_dict` described; refuses one saved with other specials."""
        if list(state.get("specials", [])) != list(SPECIALS):
            raise ValueError(f"Vocabulary.from_dict: expected specials {list(SPECIALS)}, got {state.get('specials')}")
        return cls(state["tokens"])


class Labels:
    """Class or tag names <-> ids 0..n-1: an output vocabulary, with no special entries.

    A classifier's classes ("negative", "positive") and a tagger's tags ("NOUN", "VERB", ...)
    are what a model outputs, never what it reads, so they need no padding or unknown entry:
    id i is the i-th name, in the order given (sorted when built from data, so the ids never
    depend on the order of the data).
    """

    def __init__(self, names: Sequence[str]):
        names = list(names)
        if not names:
            raise ValueError("Labels: expected at least one name, got none")
        if len(set(names)) != len(names):
            repeated = sorted(t for t, n in Counter(names).items() if n > 1)
            raise ValueError(f"Labels: expected distinct names, got repeats {repeated[:5]}")
        self._names = names
        self._ids = {name: i for i, name in enumerate(names)}

    @classmethod
    def build(cls, labels: Iterable[str]) -> "Labels":
        """The sorted distinct labels seen (in the training split)."""
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and self._names == other._names

    def __repr__(self) -> str:
        return f"Labels({', '.join(self._names[:8])}{' ...' if len(self) > 8 else ''})"

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def id(self, name: str) -> int:
        """The id of `name`; a name never seen in training is refused with one line."""
        if name not in self._ids:
            raise ValueError(f"unknown label {name!r}: expected one of {', '.join(self._names[:20])}")
        return self._ids[name]

    def name(self, id: int) -> str:
        if not 0 <= int(id) < len(self._names):
            raise ValueError(f"Labels.name: expected an id in [0, {len(self)}), got {id}")
        return self._names[int(id)]

    def to_dict(self) -> dict:
        return {"labels": list(self._names)}

    @classmethod
    def from_dict(cls, state: dict) -> "Labels":
        return cls(state["labels"])
