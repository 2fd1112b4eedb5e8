"""Language-model data: one long stream of token ids per split, cut into windows.

Chapter: walkthrough/14_language_models.md.

A language model reads tokens 0..t and predicts token t + 1. A window of `context + 1` tokens of
the stream gives `ids = window[:-1]` and `targets = window[1:]`; position t of the logits is
scored against `targets[t]`. Training windows start at a random offset each epoch (fixed by
`seed + epoch`), so an epoch sees every token once and the cuts move from epoch to epoch;
evaluation windows start at 0 and tile the stream, the last one padded with PAD, which no loss
ever counts. Every window starts from scratch: a recurrent model starts each from a zero state,
a Transformer sees at most `context` tokens, as it will when it generates.

Tasks:
* `grammar` (synthetic, offline, seconds to train): sentences of a tiny English grammar, words,
  EOS after each sentence.
* `shakespeare`: Tiny Shakespeare (Karpathy's char-rnn data), one token per character, newlines
  included; the first 90% train, the last 10% validation (the common split; the test split
  repeats the validation text, as there is no other).
* `text`: any plain-text file, characters (`level="char"`) or words (`level="word"`, EOS at the
  end of each line); the vocabulary from the training part only.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from transformer.tasks.codec import TextCodec
from transformer.tasks.files import local_data_path, read_text_lines
from transformer.tasks.tokenize import TextCharTokenizer, WordTokenizer
from transformer.tasks.vocab import EOS, PAD, Vocabulary


@dataclass(frozen=True)
class LMBatch:
    """Windows of the stream: `targets[:, t]` is the token after `ids[:, t]` (PAD: not scored)."""

    ids: Int[Tensor, "batch seq"]
    targets: Int[Tensor, "batch seq"]

    @property
    def size(self) -> int:
        return self.ids.shape[0]

    @property
    def n_tokens(self) -> int:
        """Tokens scored."""
        return int((self.targets != PAD).sum())

    def to(self, device) -> "LMBatch":
        return LMBatch(self.ids.to(device), self.targets.to(device))


def stream_windows(stream: Sequence[int], context: int, offset: int = 0) -> list[list[int]]:
    """Windows of `context + 1` tokens starting at offset, offset + context, ...; the last may be shorter
    (at least 2 tokens, one input and one target)."""
    starts = range(offset, max(len(stream) - 1, offset), context)
    return [list(stream[s : s + context + 1]) for s in starts if len(stream) - s >= 2]


def make_lm_batches(stream: Sequence[int], context: int, rows: int, shuffle: bool = False, seed: int = 0) -> list[LMBatch]:
    """Batches of `rows` windows of the stream. With `shuffle` the windows start at a random offset
    in [0, context) and come in a random order, both fixed by `seed`."""
    if context < 1 or rows < 1:
        raise ValueError(f"make_lm_batches: expected context >= 1 and rows >= 1, got {context} and {rows}")
    if len(stream) < 2:
        raise ValueError(f"make_lm_batches: expected a stream of at least 2 tokens, got {len(stream)}")
    rng = random.Random(seed)
    offset = rng.randrange(min(context, len(stream) - 1)) if shuffle else 0
    windows = stream_windows(stream, context, offset)
    if shuffle:
        rng.shuffle(windows)
    batches = []
    for start in range(0, len(windows), rows):
        group = windows[start : start + rows]
        width = max(len(w) for w in group) - 1
        ids = torch.tensor([w[:-1] + [PAD] * (width - len(w) + 1) for w in group], dtype=torch.long)
        targets = torch.tensor([w[1:] + [PAD] * (width - len(w) + 1) for w in group], dtype=torch.long)
        batches.append(LMBatch(ids, targets))
    return batches


@dataclass
class LanguageModelData:
    """A language-modelling task: one id stream per split, its codec and the window length."""

    name: str
    splits: dict[str, list[int]]
    source: TextCodec
    context: int
    options: dict = field(default_factory=dict)
    epoch_tokens: int | None = None  # an epoch of training reads this many tokens (None: the whole text)
    shape = "language_model"

    @property
    def train(self) -> list[int]:
        return self.splits["train"]

    @property
    def valid(self) -> list[int]:
        return self.splits["valid"]

    def batches(self, split: str, max_tokens: int, shuffle: bool = False, seed: int = 0) -> list[LMBatch]:
        """Windows of `context` tokens, `max_tokens // context` of them per batch (at least one).

        With `epoch_tokens`, a shuffled epoch keeps only its first `epoch_tokens // context` windows:
        a random part of the text, so validation (and a learning curve's points) come more often.
        """
        batches = make_lm_batches(self.splits[split], self.context, max(1, max_tokens // self.context), shuffle, seed)
        if shuffle and self.epoch_tokens is not None:
            rows = max(1, max_tokens // self.context)
            batches = batches[: max(1, -(-self.epoch_tokens // (rows * self.context)))]
        return batches

    def model_sizes(self) -> dict:
        return {"vocab_size": len(self.source.vocab)}

    def codecs(self) -> dict:
        return {"source": self.source.to_dict(), "context": self.context}

    def longest(self) -> int:
        return self.context

    def decode(self, ids) -> str:
        """Text of ids; for words, EOS is the end of a line."""
        if self.source.tokenizer.name == "text-char":
            return self.source.decode(ids)
        return decode_lines(self.source, ids)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(stream):,}" for split, stream in self.splits.items())
        return f"LanguageModelData({self.name!r}: {sizes} tokens; vocab {len(self.source.vocab)}; context {self.context})"


def decode_lines(codec: TextCodec, ids) -> str:
    """Words back to text, EOS ending each line (a codec's own `decode` stops at the first EOS)."""
    lines, current = [], []
    for i in ids:
        if int(i) == EOS:
            lines.append(current)
            current = []
        else:
            current.append(int(i))
    return "\n".join(codec.decode(line) for line in lines + [current]).rstrip("\n")


def encode_lines(codec: TextCodec, lines: Sequence[str]) -> list[int]:
    """Word ids of each line, EOS after each: one stream."""
    stream = []
    for line in lines:
        stream += codec.encode(line) + [EOS]
    return stream


def from_text(name: str, text: str, level: str, valid_fraction: float, context: int, min_freq: int = 1,
              max_size: int | None = None, options: dict | None = None,
              epoch_tokens: int | None = None) -> LanguageModelData:
    """Split a text (the first part trains, the rest validates) and encode it at `level` "char" or "word"."""
    if level not in ("char", "word"):
        raise ValueError(f"{name}: expected level 'char' or 'word', got {level!r}")
    if not 0 < valid_fraction < 1:
        raise ValueError(f"{name}: expected valid_fraction in (0, 1), got {valid_fraction}")
    cut = int(len(text) * (1 - valid_fraction))
    if level == "char":
        train_text, valid_text = text[:cut], text[cut:]
        tokenizer = TextCharTokenizer()
        vocab = Vocabulary.build([tokenizer.tokenize(train_text)], min_freq, max_size)
        codec = TextCodec(tokenizer, vocab)
        splits = {"train": codec.encode(train_text), "valid": codec.encode(valid_text)}
    else:
        lines = text.split("\n")
        n_train = int(len(lines) * (1 - valid_fraction))
        tokenizer = WordTokenizer()
        vocab = Vocabulary.build([tokenizer.tokenize(line) for line in lines[:n_train]], min_freq, max_size)
        codec = TextCodec(tokenizer, vocab)
        splits = {"train": encode_lines(codec, lines[:n_train]), "valid": encode_lines(codec, lines[n_train:])}
    splits["test"] = splits["valid"]  # no third part: the held-out text is the validation text
    if len(splits["valid"]) < 2 or len(splits["train"]) < 2:
        raise ValueError(f"{name}: the text is too short to give a training and a validation part")
    return LanguageModelData(name, splits, codec, context, dict(options or {}), epoch_tokens)


# ---------------------------------------------------------------------------------------------
# The synthetic task

GRAMMAR = {
    "S": [["NP", "VP", "."]],
    "NP": [["the", "N"], ["the", "A", "N"], ["a", "N"]],
    "VP": [["V", "NP"], ["V"], ["V", "NP", "P", "NP"]],
    "N": [["cat"], ["dog"], ["bird"], ["child"], ["teacher"]],
    "A": [["small"], ["happy"], ["old"]],
    "V": [["sees"], ["likes"], ["follows"], ["sleeps"]],
    "P": [["with"], ["near"]],
}


def grammar_sentence(rng: random.Random, symbol: str = "S") -> list[str]:
    """A sentence of the tiny grammar, expanded left to right."""
    if symbol not in GRAMMAR:
        return [symbol]
    return [word for part in rng.choice(GRAMMAR[symbol]) for word in grammar_sentence(rng, part)]


def load_grammar(*, n_train: int = 3000, n_valid: int = 300, context: int = 32, seed: int = 0) -> LanguageModelData:
    rng = random.Random(f"grammar/{seed}")
    lines = [" ".join(grammar_sentence(rng)).replace(" .", ".") for _ in range(n_train + n_valid)]
    text = "\n".join(lines)
    options = {"n_train": n_train, "n_valid": n_valid, "context": context, "seed": seed}
    return from_text("grammar", text, "word", n_valid / (n_train + n_valid), context, options=options)


# ---------------------------------------------------------------------------------------------
# Real text


def read_text(path: Path) -> str:
    """A whole UTF-8 text file (errors name the file and line; no byte-order mark)."""
    return "\n".join(line for _, line in read_text_lines(path)) + "\n"


SHAKESPEARE_FILE = "input.txt"


def load_shakespeare(*, path: str | None = None, context: int = 256, valid_fraction: float = 0.1,
                     epoch_tokens: int | None = None) -> LanguageModelData:
    file = Path(path) if path is not None else local_data_path("tinyshakespeare", SHAKESPEARE_FILE) / SHAKESPEARE_FILE
    options = {"path": str(file), "context": context, "valid_fraction": valid_fraction, "epoch_tokens": epoch_tokens}
    return from_text("shakespeare", read_text(file), "char", valid_fraction, context, options=options,
                     epoch_tokens=epoch_tokens)


def load_text(*, path: str, level: str = "char", context: int = 128, valid_fraction: float = 0.1,
              min_freq: int = 1, max_size: int | None = None, epoch_tokens: int | None = None) -> LanguageModelData:
    options = dict(locals(), path=str(path))
    return from_text("text", read_text(Path(path)), level, valid_fraction, context, min_freq, max_size, options,
                     epoch_tokens)
