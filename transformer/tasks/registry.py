"""One entry point for every task: `load_task(name, **options) -> TaskData`.

Chapter: walkthrough/01_tokens_and_batches.md.

Whatever the task (copy, reverse, numbers, multi30k, pairs), training, decoding and scoring see
the same thing: encoded (source ids, target ids) pairs per split, the raw source and reference
text per split, and a `TextCodec` per side (tokenizer + vocabulary) that turns text into ids
and ids back into text. A checkpoint stores `codec.to_dict()` for each side, and that is all
a trained model needs to translate new text.
"""

import inspect
from pathlib import Path
from dataclasses import dataclass, field

from transformer.tasks.batching import Pair
from transformer.tasks.copy import copy_sequences, copy_text_pairs, copy_vocabulary
from transformer.tasks.numbers import number_splits, number_text_pairs
from transformer.tasks.tokenize import CharTokenizer, Tokenizer, WhitespaceTokenizer, WordTokenizer, get_tokenizer
from transformer.tasks.translation import load_multi30k, read_pairs_file, split_pairs
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
        return {"tokenizer": self.tokenizer.name, "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, state: dict) -> "TextCodec":
        return cls(get_tokenizer(state["tokenizer"]), Vocabulary.from_dict(state["vocab"]))


@dataclass
class TaskData:
    """A task, ready to batch: encoded pairs, raw text and codecs.

    `splits` maps "train", "valid", "test" (copy and reverse add "test_long") to encoded
    pairs; `sources[s][i]` and `references[s][i]` are the raw text of `splits[s][i]`, the
    references being what BLEU compares detokenized output with.
    """

    name: str
    splits: dict[str, list[Pair]]
    sources: dict[str, list[str]]
    references: dict[str, list[str]]
    source: TextCodec
    target: TextCodec
    options: dict = field(default_factory=dict)

    @property
    def train(self) -> list[Pair]:
        return self.splits["train"]

    @property
    def valid(self) -> list[Pair]:
        return self.splits["valid"]

    @property
    def test(self) -> list[Pair]:
        return self.splits["test"]

    @property
    def src_vocab(self) -> Vocabulary:
        return self.source.vocab

    @property
    def tgt_vocab(self) -> Vocabulary:
        return self.target.vocab

    def encode_source(self, text: str) -> list[int]:
        return self.source.encode(text)

    def decode_source(self, ids) -> str:
        return self.source.decode(ids)

    def decode_target(self, ids) -> str:
        """Detokenized text of target ids (a model's output), ready for sacreBLEU."""
        return self.target.decode(ids)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(pairs)}" for split, pairs in self.splits.items())
        return (f"TaskData({self.name!r}: {sizes}; vocab src={len(self.src_vocab)} "
                f"tgt={len(self.tgt_vocab)}; tokenizers {self.source.tokenizer.name}/{self.target.tokenizer.name})")


def from_text_pairs(name: str, text_pairs: dict[str, list[tuple[str, str]]], source: Tokenizer,
                    target: Tokenizer, min_freq: int = 1, max_size: int | None = None,
                    src_vocab: Vocabulary | None = None, tgt_vocab: Vocabulary | None = None,
                    options: dict | None = None) -> TaskData:
    """Tokenize raw pairs, build each vocabulary from the train split (unless given), encode all."""
    tokens = {split: ([source.tokenize(s) for s, _ in pairs], [target.tokenize(t) for _, t in pairs])
              for split, pairs in text_pairs.items()}
    src_vocab = src_vocab or Vocabulary.build(tokens["train"][0], min_freq, max_size)
    tgt_vocab = tgt_vocab or Vocabulary.build(tokens["train"][1], min_freq, max_size)
    splits = {split: [(src_vocab.encode(s), tgt_vocab.encode(t)) for s, t in zip(*tokens[split])]
              for split in text_pairs}
    return TaskData(
        name=name,
        splits=splits,
        sources={split: [s for s, _ in pairs] for split, pairs in text_pairs.items()},
        references={split: [t for _, t in pairs] for split, pairs in text_pairs.items()},
        source=TextCodec(source, src_vocab),
        target=TextCodec(target, tgt_vocab),
        options=dict(options or {}),
    )


def _copy_task(reverse: bool):
    def load(*, n_symbols: int = 10, min_length: int = 1, max_length: int = 10, n_train: int = 20_000,
             n_valid: int = 1000, n_test: int = 1000, n_long: int = 1000, long_min_length: int | None = None,
             long_max_length: int | None = None, seed: int = 0, eval_seed: int = 2017) -> TaskData:
        options = {k: v for k, v in locals().items() if k != "reverse"}
        sequences = copy_sequences(**options)
        text_pairs = {split: copy_text_pairs(seqs, reverse) for split, seqs in sequences.items()}
        vocab = copy_vocabulary(n_symbols)
        return from_text_pairs("reverse" if reverse else "copy", text_pairs, WhitespaceTokenizer(),
                               WhitespaceTokenizer(), src_vocab=vocab, tgt_vocab=vocab, options=options)

    return load


def _numbers_task(*, min_number: int = 1, max_number: int = 9999, n_valid: int = 500, n_test: int = 1000,
                  n_train: int | None = None, seed: int = 0, short_share: float = 0.0) -> TaskData:
    options = dict(locals())
    numbers = number_splits(**options)
    text_pairs = {split: number_text_pairs(values) for split, values in numbers.items()}
    return from_text_pairs("numbers", text_pairs, CharTokenizer(), WordTokenizer(), options=options)


def _multi30k_task(*, path: str | Path | None = None, hub_id: str | None = None, src_lang: str = "de",
                   tgt_lang: str = "en", min_freq: int = 2, max_size: int | None = None,
                   max_train: int | None = None, cache_dir: str | Path | None = None) -> TaskData:
    options = dict(locals())
    text_pairs = load_multi30k(path, hub_id, src_lang, tgt_lang, cache_dir)
    if max_train is not None:
        text_pairs["train"] = text_pairs["train"][:max_train]
    options.update(path=None if path is None else str(path), cache_dir=None if cache_dir is None else str(cache_dir))
    return from_text_pairs("multi30k", text_pairs, WordTokenizer(), WordTokenizer(), min_freq, max_size,
                           options=options)


def _pairs_task(*, path: str | Path, direction: str = "to_english", valid_fraction: float = 0.05,
                test_fraction: float = 0.05, min_freq: int = 2, max_size: int | None = None,
                max_pairs: int | None = None, seed: int = 0) -> TaskData:
    options = dict(locals(), path=str(path))
    pairs = read_pairs_file(path, direction)[:max_pairs]
    text_pairs = split_pairs(pairs, valid_fraction, test_fraction, seed)
    return from_text_pairs("pairs", text_pairs, WordTokenizer(), WordTokenizer(), min_freq, max_size,
                           options=options)


TASK_LOADERS = {
    "copy": _copy_task(reverse=False),
    "reverse": _copy_task(reverse=True),
    "numbers": _numbers_task,
    "multi30k": _multi30k_task,
    "pairs": _pairs_task,
}
TASKS = tuple(TASK_LOADERS)


def task_options(name: str) -> dict:
    """The options `load_task(name, ...)` accepts, with their defaults (`inspect.Parameter.empty` if required)."""
    loader = _loader(name)
    return {p.name: p.default for p in inspect.signature(loader).parameters.values()}


def _loader(name: str):
    if name not in TASK_LOADERS:
        raise ValueError(f"unknown task {name!r}: expected one of {', '.join(TASKS)}")
    return TASK_LOADERS[name]


def load_task(name: str, **options) -> TaskData:
    """Load task `name` ("copy", "reverse", "numbers", "multi30k", "pairs") with its options."""
    loader = _loader(name)
    accepted = task_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"task {name!r}: unknown option(s) {', '.join(unknown)}; it accepts {', '.join(accepted)}")
    missing = [k for k, v in accepted.items() if v is inspect.Parameter.empty and k not in options]
    if missing:
        raise ValueError(f"task {name!r}: missing option(s) {', '.join(missing)}")
    return loader(**options)
