"""Token tagging data: synchronous many-to-many, one tag per input word.

Chapter: walkthrough/13_tagging.md.

An example is `(word ids, tag ids, character ids of each word)`. A batch pads the sentences to
one length (`TagBatch.ids`, PAD after the end; `ids != PAD` marks the real words), the tags to
the same length (0 at padding: the mask says which positions count, never the tag value), and
the characters to (batch, seq, word_len). Character ids let a model spell a word it has never
seen: the word vocabulary maps it to UNK, its characters are still there.

Tasks:
* `running-max` (synthetic, offline, seconds to train): tag each symbol with the largest symbol so
  far, which needs memory of the past and shows what a bidirectional encoder adds (nothing here).
* `ud-pos`: Universal Dependencies English EWT, UPOS (17 tags) by default or XPOS (`tag_column`),
  from `shared/data/ud-english-ewt/` or any CoNLL-U file or folder (`path`).
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from transformer.tasks.batching import length_groups, pad_rows
from transformer.tasks.codec import TextCodec
from transformer.tasks.copy import symbol_names
from transformer.tasks.tokenize import WhitespaceTokenizer
from transformer.tasks.vocab import PAD, Labels, Vocabulary

Example = tuple[list[int], list[int], list[list[int]]]  # (word ids, tag ids, character ids per word)


@dataclass(frozen=True)
class TagBatch:
    """Padded sentences, their tags and their words' characters. Row i holds `examples[indices[i]]`."""

    ids: Int[Tensor, "batch seq"]
    tags: Int[Tensor, "batch seq"]
    chars: Int[Tensor, "batch seq word_len"]
    indices: Int[Tensor, " batch"]

    @property
    def mask(self) -> Tensor:
        """True at the real words: the positions a loss or an accuracy counts."""
        return self.ids != PAD

    @property
    def size(self) -> int:
        return self.ids.shape[0]

    @property
    def n_tokens(self) -> int:
        return int(self.mask.sum())

    def to(self, device) -> "TagBatch":
        return TagBatch(*(t.to(device) for t in (self.ids, self.tags, self.chars, self.indices)))


def make_tag_batch(examples: Sequence[Example], indices: Sequence[int] | None = None) -> TagBatch:
    if not examples:
        raise ValueError("make_tag_batch: expected at least one example, got none")
    for ids, tags, chars in examples:
        if not ids or len(ids) != len(tags) or len(ids) != len(chars):
            raise ValueError(f"make_tag_batch: expected as many words, tags and spellings (at least one), "
                             f"got {len(ids)}, {len(tags)} and {len(chars)}")
        if PAD in ids:
            raise ValueError(f"make_tag_batch: an example holds the PAD id {PAD} among its words: {ids}")
    seq = max(len(ids) for ids, _, _ in examples)
    word_len = max(len(word) for _, _, chars in examples for word in chars)
    padded_chars = [pad_rows(chars + [[]] * (seq - len(chars)), word_len) for _, _, chars in examples]
    indices = list(range(len(examples))) if indices is None else list(indices)
    return TagBatch(pad_rows([ids for ids, _, _ in examples], seq), pad_rows([tags for _, tags, _ in examples], seq, 0),
                    torch.stack(padded_chars), torch.tensor(indices, dtype=torch.long))


def make_tag_batches(examples: Sequence[Example], max_tokens: int | None = None, batch_size: int | None = None,
                     shuffle: bool = False, seed: int = 0) -> list[TagBatch]:
    groups = length_groups([len(ids) for ids, _, _ in examples], None, max_tokens, batch_size, shuffle, seed)
    return [make_tag_batch([examples[i] for i in g], g) for g in groups]


@dataclass
class TaggingData:
    """A tagging task: encoded sentences, their words, the word and character codecs, the tags."""

    name: str
    splits: dict[str, list[Example]]
    words: dict[str, list[list[str]]]
    source: TextCodec
    chars: Vocabulary
    tags: Labels
    options: dict = field(default_factory=dict)
    shape = "tagging"

    @property
    def train(self) -> list[Example]:
        return self.splits["train"]

    @property
    def valid(self) -> list[Example]:
        return self.splits["valid"]

    def batches(self, split: str, max_tokens: int, shuffle: bool = False, seed: int = 0) -> list[TagBatch]:
        return make_tag_batches(self.splits[split], max_tokens=max_tokens, shuffle=shuffle, seed=seed)

    def model_sizes(self) -> dict:
        return {"vocab_size": len(self.source.vocab), "n_outputs": len(self.tags), "char_vocab_size": len(self.chars)}

    def codecs(self) -> dict:
        return {"source": self.source.to_dict(), "chars": self.chars.to_dict(), "tags": self.tags.to_dict()}

    def longest(self) -> int:
        return max(len(ids) for examples in self.splits.values() for ids, _, _ in examples)

    def training_words(self) -> set[str]:
        """Every word form of the training split: a test word outside it is "unseen"."""
        return {word for sentence in self.words["train"] for word in sentence}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(examples)}" for split, examples in self.splits.items())
        return f"TaggingData({self.name!r}: {sizes}; vocab {len(self.source.vocab)}; {len(self.tags)} tags)"


def encode_words(words: Sequence[str], vocab: Vocabulary, chars: Vocabulary) -> tuple[list[int], list[list[int]]]:
    """Word ids (UNK for a word the vocabulary lacks) and each word's character ids."""
    return vocab.encode(words), [chars.encode(list(word)) for word in words]


def from_tagged_sentences(name: str, sentences: dict[str, list[tuple[list[str], list[str]]]], min_freq: int = 1,
                          max_size: int | None = None, options: dict | None = None) -> TaggingData:
    """Encode (words, tags) sentences per split; words, characters and tags from the training split.

    A word seen fewer than `min_freq` times in training becomes UNK, so UNK is trained on rare
    words and stands for the unknown words of the test set; its characters are kept.
    """
    train = sentences["train"]
    vocab = Vocabulary.build([words for words, _ in train], min_freq, max_size)
    chars = Vocabulary.build([list(word) for words, _ in train for word in words])
    tags = Labels.build(tag for _, sentence_tags in train for tag in sentence_tags)
    splits = {}
    for split, pairs in sentences.items():
        examples = []
        for i, (words, sentence_tags) in enumerate(pairs):
            if not words or len(words) != len(sentence_tags):
                raise ValueError(f"{name}: split {split!r}, sentence {i + 1}: expected one tag per word, "
                                 f"got {len(words)} words and {len(sentence_tags)} tags")
            unknown = sorted(set(sentence_tags) - set(tags.names))
            if unknown:
                raise ValueError(f"{name}: split {split!r}, sentence {i + 1}: tags {unknown} never occur in training")
            ids, spelled = encode_words(words, vocab, chars)
            examples.append((ids, [tags.id(t) for t in sentence_tags], spelled))
        splits[split] = examples
    return TaggingData(name, splits, {s: [w for w, _ in p] for s, p in sentences.items()},
                       TextCodec(WhitespaceTokenizer(), vocab), chars, tags, dict(options or {}))


# ---------------------------------------------------------------------------------------------
# The synthetic task


def running_max_sentences(n_symbols: int, min_length: int, max_length: int, counts: dict[str, int],
                          seed: int) -> dict[str, list[tuple[list[str], list[str]]]]:
    """Random symbol sequences, each symbol tagged with the largest symbol up to and including it."""
    names = symbol_names(n_symbols)
    rng = random.Random(f"running-max/{seed}")
    sentences = {}
    for split, n in counts.items():
        pairs = []
        for _ in range(n):
            symbols = [rng.randrange(n_symbols) for _ in range(rng.randint(min_length, max_length))]
            running = [max(symbols[: k + 1]) for k in range(len(symbols))]
            pairs.append(([names[s] for s in symbols], [names[s].upper() for s in running]))
        sentences[split] = pairs
    return sentences


def load_running_max(*, n_symbols: int = 8, min_length: int = 1, max_length: int = 12, n_train: int = 3000,
                     n_valid: int = 300, n_test: int = 300, seed: int = 0) -> TaggingData:
    options = dict(locals())
    counts = {"train": n_train, "valid": n_valid, "test": n_test}
    return from_tagged_sentences("running-max", running_max_sentences(n_symbols, min_length, max_length, counts, seed),
                                 options=options)


# ---------------------------------------------------------------------------------------------
# Universal Dependencies

EWT_FILES = {"train": "en_ewt-ud-train.conllu", "valid": "en_ewt-ud-dev.conllu", "test": "en_ewt-ud-test.conllu"}


def load_ud_pos(*, path: str | None = None, tag_column: str = "upos", min_freq: int = 2,
                max_size: int | None = None, max_train: int | None = None) -> TaggingData:
    """Part-of-speech tags from CoNLL-U: a folder holding `*train*.conllu`, `*dev*.conllu` and
    `*test*.conllu` files (English EWT by default), read with the `conllu` library."""
    from transformer.tasks.conllu import read_conllu
    from transformer.tasks.files import local_data_path

    folder = Path(path) if path is not None else local_data_path("ud-english-ewt", EWT_FILES["train"])
    if not folder.is_dir():
        raise NotADirectoryError(f"ud-pos: expected a folder of *train*/*dev*/*test*.conllu files, got {folder}")
    sentences = {}
    for split, pattern in (("train", "*train*.conllu"), ("valid", "*dev*.conllu"), ("test", "*test*.conllu")):
        files = sorted(folder.glob(pattern))
        if not files:
            raise FileNotFoundError(f"ud-pos: no {pattern} file in {folder}")
        sentences[split] = [pair for file in files for pair in read_conllu(file, tag_column)]
    if max_train is not None:
        sentences["train"] = sentences["train"][:max_train]
    options = {"path": str(folder), "tag_column": tag_column, "min_freq": min_freq, "max_size": max_size,
               "max_train": max_train}
    return from_tagged_sentences("ud-pos", sentences, min_freq, max_size, options)
