"""Sentence classification data: many-to-one, a sentence in, one class out.

Chapter: walkthrough/12_sentence_classification.md.

An example is `(ids, label)`: the token ids of one sentence (no specials) and its class id. A
batch pads the sentences to one length with PAD (`ClassBatch.ids`, True in `ids != PAD` at the
real tokens) beside their labels. Tasks:

* `sorted` (synthetic, offline, seconds to train): is this sequence of symbols sorted?
* `sst2`: the Stanford Sentiment Treebank, binary, sentence level (Socher et al. 2013), in the
  split of Kim 2014: `label text` lines, already tokenized and lower-cased.
* `tweets`: "Disasters on Social Media" (the data of the "How to solve 90% of NLP problems"
  guide): a Windows-1252 CSV with CRLF line endings and quoted fields spanning lines. There is no
  official split, so a seeded stratified 80/10/10 split is made and stored with the run.
* `csv`: the user's own data, a CSV/TSV file with named text and label columns or `label text`
  lines, read with Hugging Face `datasets` (offline for local files), or a hub dataset by id.
"""

import csv
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from transformer.tasks.batching import length_groups, pad_rows
from transformer.tasks.codec import TextCodec
from transformer.tasks.copy import symbol_names
from transformer.tasks.files import local_data_path, offline_datasets, quiet_datasets, read_text_lines
from transformer.tasks.tokenize import Tokenizer, WhitespaceTokenizer, WordTokenizer
from transformer.tasks.vocab import PAD, Labels, Vocabulary

Example = tuple[list[int], int]  # (token ids, class id)


@dataclass(frozen=True)
class ClassBatch:
    """Padded sentences and their classes. Row i holds `examples[indices[i]]`."""

    ids: Int[Tensor, "batch seq"]
    labels: Int[Tensor, " batch"]
    indices: Int[Tensor, " batch"]

    @property
    def size(self) -> int:
        return self.ids.shape[0]

    @property
    def n_tokens(self) -> int:
        """Real tokens read (the rate training reports)."""
        return int((self.ids != PAD).sum())

    def to(self, device) -> "ClassBatch":
        return ClassBatch(self.ids.to(device), self.labels.to(device), self.indices.to(device))


def make_class_batch(examples: Sequence[Example], indices: Sequence[int] | None = None) -> ClassBatch:
    if not examples:
        raise ValueError("make_class_batch: expected at least one example, got none")
    for ids, _ in examples:
        if not ids:
            raise ValueError("make_class_batch: an example has no tokens (an empty sentence)")
        if PAD in ids:
            raise ValueError(f"make_class_batch: an example holds the PAD id {PAD} inside its tokens: {ids}")
    indices = list(range(len(examples))) if indices is None else list(indices)
    return ClassBatch(pad_rows([ids for ids, _ in examples]), torch.tensor([label for _, label in examples]),
                      torch.tensor(indices, dtype=torch.long))


def make_class_batches(examples: Sequence[Example], max_tokens: int | None = None, batch_size: int | None = None,
                       shuffle: bool = False, seed: int = 0) -> list[ClassBatch]:
    """Batches of sentences of similar length (see `length_groups`)."""
    groups = length_groups([len(ids) for ids, _ in examples], None, max_tokens, batch_size, shuffle, seed)
    return [make_class_batch([examples[i] for i in g], g) for g in groups]


@dataclass
class ClassificationData:
    """A classification task, ready to batch: encoded examples, raw text, the codec and the classes."""

    name: str
    splits: dict[str, list[Example]]
    texts: dict[str, list[str]]
    source: TextCodec
    labels: Labels
    options: dict = field(default_factory=dict)
    shape = "classification"

    @property
    def train(self) -> list[Example]:
        return self.splits["train"]

    @property
    def valid(self) -> list[Example]:
        return self.splits["valid"]

    def batches(self, split: str, max_tokens: int, shuffle: bool = False, seed: int = 0) -> list[ClassBatch]:
        return make_class_batches(self.splits[split], max_tokens=max_tokens, shuffle=shuffle, seed=seed)

    def model_sizes(self) -> dict:
        return {"vocab_size": len(self.source.vocab), "n_outputs": len(self.labels)}

    def codecs(self) -> dict:
        return {"source": self.source.to_dict(), "labels": self.labels.to_dict()}

    def longest(self) -> int:
        """The longest sentence, in tokens, of any split."""
        return max(len(ids) for examples in self.splits.values() for ids, _ in examples)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(examples)}" for split, examples in self.splits.items())
        return (f"ClassificationData({self.name!r}: {sizes}; vocab {len(self.source.vocab)}; "
                f"classes {', '.join(self.labels.names)})")


def from_labelled_texts(name: str, texts: dict[str, list[tuple[str, str]]], tokenizer: Tokenizer,
                        min_freq: int = 1, max_size: int | None = None, options: dict | None = None) -> ClassificationData:
    """Tokenize `(text, label)` pairs per split; vocabulary and classes from the training split."""
    tokens = {split: [tokenizer.tokenize(text) for text, _ in pairs] for split, pairs in texts.items()}
    vocab = Vocabulary.build(tokens["train"], min_freq, max_size)
    labels = Labels.build(label for _, label in texts["train"])
    splits = {}
    for split, pairs in texts.items():
        unknown = sorted({label for _, label in pairs} - set(labels.names))
        if unknown:
            raise ValueError(f"{name}: split {split!r} has labels {unknown} that the training split never has")
        splits[split] = [(vocab.encode(t), labels.id(label)) for t, (_, label) in zip(tokens[split], pairs)]
        for i, (ids, _) in enumerate(splits[split]):
            if not ids:
                raise ValueError(f"{name}: split {split!r}, example {i + 1}: the text has no tokens")
    return ClassificationData(name, splits, {s: [t for t, _ in p] for s, p in texts.items()},
                              TextCodec(tokenizer, vocab), labels, dict(options or {}))


def stratified_split(labels: Sequence[str], fractions: tuple[float, float, float], seed: int) -> dict[str, list[int]]:
    """Indices for train/valid/test with each class split in the same proportions, fixed by `seed`."""
    rng = random.Random(f"stratified/{seed}")
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    split = {"train": [], "valid": [], "test": []}
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        n_valid, n_test = round(fractions[1] * len(members)), round(fractions[2] * len(members))
        split["test"] += members[:n_test]
        split["valid"] += members[n_test : n_test + n_valid]
        split["train"] += members[n_test + n_valid :]
    return {name: sorted(indices) for name, indices in split.items()}


# ---------------------------------------------------------------------------------------------
# The synthetic task


def sorted_task_texts(n_symbols: int, min_length: int, max_length: int, counts: dict[str, int],
                      seed: int) -> dict[str, list[tuple[str, str]]]:
    """Sequences of symbols labelled "sorted" (non-decreasing) or "unsorted", half of each.

    An unsorted sequence is a sorted one with two different neighbours swapped, so the two classes
    differ by one local mistake: the model must look at every neighbouring pair.
    """
    names = symbol_names(n_symbols)
    rng = random.Random(f"sorted/{seed}")
    texts = {}
    for split, n in counts.items():
        pairs = []
        for i in range(n):
            length = rng.randint(max(min_length, 2), max_length)
            symbols = sorted(rng.randrange(n_symbols) for _ in range(length))
            label = "sorted"
            if i % 2 and len(set(symbols)) > 1:
                positions = [k for k in range(length - 1) if symbols[k] != symbols[k + 1]]
                k = rng.choice(positions)
                symbols[k], symbols[k + 1] = symbols[k + 1], symbols[k]
                label = "unsorted"
            pairs.append((" ".join(names[s] for s in symbols), label))
        texts[split] = pairs
    return texts


def load_sorted(*, n_symbols: int = 8, min_length: int = 2, max_length: int = 12, n_train: int = 4000,
                n_valid: int = 400, n_test: int = 400, seed: int = 0) -> ClassificationData:
    options = dict(locals())
    counts = {"train": n_train, "valid": n_valid, "test": n_test}
    texts = sorted_task_texts(n_symbols, min_length, max_length, counts, seed)
    return from_labelled_texts("sorted", texts, WhitespaceTokenizer(), options=options)


# ---------------------------------------------------------------------------------------------
# Real data: SST-2, disaster tweets, the user's own files


def read_label_text_lines(path: Path) -> list[tuple[str, str]]:
    """`label<space>text` lines (SST-2's format) as (text, label) pairs; refuses a malformed line."""
    pairs = []
    for number, line in read_text_lines(path):
        if not line.strip():
            continue
        label, sep, text = line.strip().partition(" ")
        if not sep or not text.strip():
            raise ValueError(f"{path}: line {number}: expected 'label text', got {line[:60]!r}")
        pairs.append((text, label))
    if not pairs:
        raise ValueError(f"{path}: no examples in the file")
    return pairs


SST2_FILES = {"train": "stsa.binary.train", "valid": "stsa.binary.dev", "test": "stsa.binary.test"}
SST2_NAMES = {"0": "negative", "1": "positive"}


def load_sst2(*, path: str | None = None, min_freq: int = 1, max_size: int | None = None) -> ClassificationData:
    folder = Path(path) if path is not None else local_data_path("sst2", SST2_FILES["train"])
    texts = {}
    for split, name in SST2_FILES.items():
        file = Path(folder) / name
        if not file.is_file():
            raise FileNotFoundError(f"missing file {file} (an SST-2 folder holds {', '.join(SST2_FILES.values())})")
        texts[split] = [(text, SST2_NAMES.get(label, label)) for text, label in read_label_text_lines(file)]
    options = {"path": str(folder), "min_freq": min_freq, "max_size": max_size}
    return from_labelled_texts("sst2", texts, WhitespaceTokenizer(), min_freq, max_size, options)


_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NOT_TEXT = re.compile(r"[^a-z0-9(),.!?'\s#@]")


def clean_text(text: str) -> str:
    """The guide's first step, written out: lower-case, every link becomes `http`, every
    @mention `@user`, and characters that are neither letters, digits nor common punctuation
    become spaces (so "#earthquake" keeps its hashtag, "Wow!!!" its exclamation marks)."""
    text = _URL.sub(" http ", text.lower())
    text = _MENTION.sub(" @user ", text)
    return " ".join(_NOT_TEXT.sub(" ", text).split())


TWEETS_FILE = "socialmedia_relevant_cols.csv"


def read_csv_rows(path: Path, text_column: str, label_column: str, encoding: str = "utf-8",
                  delimiter: str | None = None, encoding_errors: str = "strict") -> list[tuple[str, str]]:
    """(text, label) rows of a CSV/TSV file with a header, read by HF `datasets` (offline).

    A row whose text or label is missing is refused with the file and the line it starts on
    (a quoted field may span lines, so the line is found with Python's CSV reader).
    """
    import datasets

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path} (expected a CSV/TSV file with a header row)")
    delimiter = delimiter or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    with quiet_datasets(), offline_datasets():
        try:
            table = datasets.load_dataset("csv", data_files=str(path), delimiter=delimiter, encoding=encoding,
                                          encoding_errors=encoding_errors, split="train", keep_default_na=False)
        except Exception as error:  # the csv builder wraps pandas' errors in its own
            cause = error.__cause__ or error
            if isinstance(cause, UnicodeDecodeError):
                line, reason = _first_undecodable_line(path, encoding)
                raise ValueError(f"{path}: line {line}: not {encoding} ({reason}); "
                                 "give the file's encoding with --task-option encoding=...") from None
            raise ValueError(f"{path}: could not read it as CSV: {str(cause).strip().splitlines()[-1]}") from None
    for column in (text_column, label_column):
        if column not in table.column_names:
            raise ValueError(f"{path}: expected a column {column!r}, got {table.column_names}")
    columns = table.select_columns([text_column, label_column]).to_dict()
    rows = list(zip(columns[text_column], columns[label_column]))
    for i, (text, label) in enumerate(rows):
        if text is None or not str(text).strip() or label is None or str(label).strip() == "":
            what = "text" if text is None or not str(text).strip() else "label"
            raise ValueError(f"{path}: line {_record_line(path, i, encoding, delimiter)}: empty {what}")
    return [(str(text), str(label).strip()) for text, label in rows]


def _first_undecodable_line(path: Path, encoding: str) -> tuple[int, str]:
    """The first line (1-based) of a file that `encoding` cannot decode, and why."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as error:
                return number, error.reason
    return 1, "undecodable bytes"


def _record_line(path: Path, index: int, encoding: str, delimiter: str) -> int:
    """The line on which data record `index` (0-based, after the header) starts."""
    with open(path, encoding=encoding, errors="replace", newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == index:
                return start
            start = reader.line_num + 1
    return start


def load_tweets(*, path: str | None = None, seed: int = 0, valid_fraction: float = 0.1, test_fraction: float = 0.1,
                min_freq: int = 2, max_size: int | None = None, clean: bool = True) -> ClassificationData:
    """Disaster tweets: "Relevant" or "Not Relevant" (the 16 "Can't Decide" rows are dropped, as the
    guide does); a stratified split fixed by `seed`, whose row numbers are kept in `options`."""
    file = Path(path) if path is not None else local_data_path("disaster-tweets", TWEETS_FILE) / TWEETS_FILE
    # Windows-1252, where 5 byte values (0x81, 0x8d, 0x8f, 0x90, 0x9d) mean nothing: the file has 62
    # such bytes (0x9d, each after a 0x97 dash), read as U+FFFD rather than refused.
    rows = read_csv_rows(file, "text", "choose_one", encoding="cp1252", encoding_errors="replace")
    rows = [(text, label) for text, label in rows if label != "Can't Decide"]
    split = stratified_split([label for _, label in rows], (1 - valid_fraction - test_fraction, valid_fraction,
                                                             test_fraction), seed)
    prepare = clean_text if clean else (lambda t: t)
    texts = {name: [(prepare(rows[i][0]), rows[i][1]) for i in indices] for name, indices in split.items()}
    options = {"path": str(file), "seed": seed, "valid_fraction": valid_fraction, "test_fraction": test_fraction,
               "min_freq": min_freq, "max_size": max_size, "clean": clean}
    data = from_labelled_texts("tweets", texts, WordTokenizer(), min_freq, max_size, options)
    data.options["split_rows"] = split  # the data rows (0-based, header excluded) of each split
    return data


def load_csv(*, path: str | None = None, hub_id: str | None = None, text_column: str = "text",
             label_column: str = "label", format: str = "csv", encoding: str = "utf-8", seed: int = 0,
             valid_fraction: float = 0.1, test_fraction: float = 0.1, min_freq: int = 1,
             max_size: int | None = None, clean: bool = False) -> ClassificationData:
    """The user's own data: a CSV/TSV file with a header (`format="csv"`), `label text` lines
    (`format="lines"`), or a hub dataset (`hub_id`, needs the network; its train/validation/test
    splits are used as they are). A single file is split by `seed`, stratified by class."""
    if (path is None) == (hub_id is None):
        raise ValueError("csv: expected path=FILE or hub_id=NAME (one of them)")
    options = {k: v for k, v in locals().items()}
    prepare = clean_text if clean else (lambda t: t)
    if hub_id is not None:
        import datasets

        splits = datasets.load_dataset(hub_id)
        names = {"train": "train", "validation": "valid", "test": "test"}
        texts = {}
        for theirs, ours in names.items():
            if theirs not in splits:
                raise ValueError(f"{hub_id}: expected a {theirs!r} split, got {sorted(splits)}")
            table = splits[theirs].select_columns([text_column, label_column]).to_dict()
            texts[ours] = [(prepare(str(t)), str(label)) for t, label in zip(table[text_column], table[label_column])]
        return from_labelled_texts("csv", texts, WordTokenizer(), min_freq, max_size, options)
    if format not in ("csv", "lines"):
        raise ValueError(f"csv: expected format 'csv' or 'lines', got {format!r}")
    rows = (read_csv_rows(Path(path), text_column, label_column, encoding) if format == "csv"
            else read_label_text_lines(Path(path)))
    counts = Counter(label for _, label in rows)
    rare = sorted(label for label, n in counts.items() if n < 3)
    if rare:
        raise ValueError(f"{path}: classes {rare} have fewer than 3 examples: too few to split into train/valid/test")
    split = stratified_split([label for _, label in rows], (1 - valid_fraction - test_fraction, valid_fraction,
                                                             test_fraction), seed)
    texts = {name: [(prepare(rows[i][0]), rows[i][1]) for i in indices] for name, indices in split.items()}
    data = from_labelled_texts("csv", texts, WordTokenizer(), min_freq, max_size, options)
    data.options["split_rows"] = split
    return data
