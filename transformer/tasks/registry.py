"""One entry point for every task: `load_task(name, **options)`, and the shape each task has.

Chapter: walkthrough/01_tokens_and_batches.md (and 12-14 for the other shapes).

Every task declares its shape (`TASK_SHAPES`): `seq2seq` (copy, reverse, numbers, multi30k,
pairs), `classification` (sorted, sst2, tweets, csv), `tagging` (running-max, ud-pos) or
`language_model` (grammar, shakespeare, text). Whatever the shape, the data it loads offers the
same few things to training, evaluation and the run folder: `splits` of encoded examples,
`batches(split, max_tokens, shuffle, seed)`, `model_sizes()` (the vocabulary and output sizes a
model is built with), `codecs()` (what a run folder stores to read new input and write output)
and `longest()` (the longest sequence, which a model's positions must cover).

For sequence-to-sequence tasks, `TaskData` holds encoded (source ids, target ids) pairs per
split, the raw source and reference text per split, and a `TextCodec` per side (tokenizer +
vocabulary) that turns text into ids and ids back into text.
"""

import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path

from transformer.configs import _matches
from transformer.tasks.batching import Batch, Pair, check_pad_multiple, make_batches
from transformer.tasks.classification import load_csv, load_sorted, load_sst2, load_tweets
from transformer.tasks.copy import copy_sequences, copy_text_pairs, copy_vocabulary
from transformer.tasks.numbers import number_splits, number_text_pairs
from transformer.tasks.codec import TextCodec
from transformer.tasks.language import load_grammar, load_shakespeare, load_text
from transformer.tasks.tagging import load_running_max, load_ud_pos
from transformer.tasks.tokenize import CharTokenizer, SubwordTokenizer, Tokenizer, WhitespaceTokenizer, WordTokenizer
from transformer.tasks.translation import load_multi30k, read_pairs_file, split_pairs
from transformer.tasks.vocab import Vocabulary


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
    pad_multiple: int = 1  # every batch's sequence axes padded to a multiple of this (`make_batches`)
    shape = "seq2seq"

    def batches(self, split: str, max_tokens: int, shuffle: bool = False, seed: int = 0) -> list[Batch]:
        return make_batches(self.splits[split], max_tokens=max_tokens, shuffle=shuffle, seed=seed,
                            pad_multiple=self.pad_multiple)

    def model_sizes(self) -> dict:
        return {"src_vocab_size": len(self.source.vocab), "tgt_vocab_size": len(self.target.vocab)}

    def codecs(self) -> dict:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    def longest(self) -> int:
        """The longest source or target of any split, in tokens (without EOS or BOS)."""
        return max(max(len(x), len(y)) for pairs in self.splits.values() for x, y in pairs)

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
                    options: dict | None = None, shared_vocab: bool = False) -> TaskData:
    """Tokenize raw pairs, build each vocabulary from the train split (unless given), encode all.
    With `shared_vocab`, one vocabulary from both sides' training tokens serves source and target
    (what a model that shares its source and target embeddings needs)."""
    tokens = {split: ([source.tokenize(s) for s, _ in pairs], [target.tokenize(t) for _, t in pairs])
              for split, pairs in text_pairs.items()}
    if shared_vocab and src_vocab is None and tgt_vocab is None:
        src_vocab = tgt_vocab = Vocabulary.build(tokens["train"][0] + tokens["train"][1], min_freq, max_size)
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


def _text_tokenizers(text_pairs: dict[str, list[tuple[str, str]]], tokenizer: str, bpe_size: int,
                     shared_vocab: bool) -> tuple[Tokenizer, Tokenizer]:
    """The source and target tokenizers a natural-language task asked for: "word" on both sides,
    or "bpe" merges learned from the training split (one set over both sides if `shared_vocab`)."""
    if tokenizer == "word":
        return WordTokenizer(), WordTokenizer()
    if tokenizer != "bpe":
        raise ValueError(f"tokenizer: expected 'word' or 'bpe', got {tokenizer!r}")
    train = text_pairs["train"]
    if shared_vocab:
        joint = SubwordTokenizer.learn([s for s, _ in train] + [t for _, t in train], bpe_size)
        return joint, joint
    return (SubwordTokenizer.learn([s for s, _ in train], bpe_size),
            SubwordTokenizer.learn([t for _, t in train], bpe_size))


def _multi30k_task(*, path: str | Path | None = None, hub_id: str | None = None, src_lang: str = "de",
                   tgt_lang: str = "en", min_freq: int = 2, max_size: int | None = None,
                   max_train: int | None = None, cache_dir: str | Path | None = None, tokenizer: str = "word",
                   bpe_size: int = 10_000, shared_vocab: bool = False, pad_multiple: int = 1) -> TaskData:
    """Multi30k; `tokenizer` "word" (the default) or "bpe" (`bpe_size` pieces learned on the
    training split), `shared_vocab` one vocabulary (and one set of merges) for both languages,
    `pad_multiple` the batches' sequence axes padded to a multiple of it (fewer shapes, less memory)."""
    check_pad_multiple(pad_multiple, "multi30k")  # before the files are read
    options = dict(locals())
    text_pairs = load_multi30k(path, hub_id, src_lang, tgt_lang, cache_dir)
    if max_train is not None:
        text_pairs["train"] = text_pairs["train"][:max_train]
    options.update(path=None if path is None else str(path), cache_dir=None if cache_dir is None else str(cache_dir))
    source, target = _text_tokenizers(text_pairs, tokenizer, bpe_size, shared_vocab)
    vocabs = {}
    if tokenizer == "bpe":  # every piece the merges make, so none is ever <unk>
        vocabs = dict(src_vocab=Vocabulary(source.pieces()), tgt_vocab=Vocabulary(target.pieces()))
        if shared_vocab:
            vocabs["tgt_vocab"] = vocabs["src_vocab"]
    data = from_text_pairs("multi30k", text_pairs, source, target, min_freq, max_size, options=options,
                           shared_vocab=shared_vocab, **vocabs)
    data.pad_multiple = pad_multiple
    return data


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
    "sorted": load_sorted,
    "sst2": load_sst2,
    "tweets": load_tweets,
    "csv": load_csv,
    "running-max": load_running_max,
    "ud-pos": load_ud_pos,
    "grammar": load_grammar,
    "shakespeare": load_shakespeare,
    "text": load_text,
}
TASK_SHAPES = {
    "copy": "seq2seq", "reverse": "seq2seq", "numbers": "seq2seq", "multi30k": "seq2seq", "pairs": "seq2seq",
    "sorted": "classification", "sst2": "classification", "tweets": "classification", "csv": "classification",
    "running-max": "tagging", "ud-pos": "tagging",
    "grammar": "language_model", "shakespeare": "language_model", "text": "language_model",
}
TASKS = tuple(TASK_LOADERS)


def task_shape(name: str) -> str:
    """The shape of task `name`: seq2seq, classification, tagging or language_model."""
    _loader(name)
    return TASK_SHAPES[name]


def task_options(name: str) -> dict:
    """The options `load_task(name, ...)` accepts, with their defaults (`inspect.Parameter.empty` if required)."""
    loader = _loader(name)
    return {p.name: p.default for p in inspect.signature(loader).parameters.values()}


def _loader(name: str):
    if name not in TASK_LOADERS:
        raise ValueError(f"unknown task {name!r}: expected one of {', '.join(TASKS)}")
    return TASK_LOADERS[name]


def check_task_options(name: str, options: dict) -> None:
    """Refuse, in one line, an option the task does not take, a missing one, or a value of the wrong type."""
    parameters = inspect.signature(_loader(name)).parameters
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        raise ValueError(f"task {name!r}: unknown option(s) {', '.join(unknown)}; it accepts {', '.join(parameters)}")
    missing = [k for k, p in parameters.items() if p.default is inspect.Parameter.empty and k not in options]
    if missing:
        raise ValueError(f"task {name!r}: missing option(s) {', '.join(missing)}")
    hints = typing.get_type_hints(_loader(name))
    for key, value in options.items():
        if key in hints and not _matches(value, hints[key]):
            raise ValueError(f"task {name!r}: option {key} expects {_type_name(hints[key])}, got {value!r}")


def _type_name(annotation) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null",
             Path: "a path"}
    options = typing.get_args(annotation) or (annotation,)
    return " or ".join(names.get(option, str(option)) for option in options)


def load_task(name: str, **options):
    """Load task `name` (see TASKS) with its options: a `TaskData`, `ClassificationData`,
    `TaggingData` or `LanguageModelData` by the task's shape."""
    check_task_options(name, options)
    return _loader(name)(**options)
