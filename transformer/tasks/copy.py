"""The copy and reverse tasks: random symbol sequences the model must repeat (or reverse).

Chapter: walkthrough/01_tokens_and_batches.md; the first task every model in the course
learns, because its answer is known exactly: exact match is 100% or something is broken.

The classic setting (the Annotated Transformer's "vocabulary 11, length 10") draws 10 symbols
plus a padding id. Here `n_symbols=10` are named `a b c ...` (letters, so they are not confused
with their ids), and our vocabulary adds the four specials PAD, BOS, EOS, UNK: 14 ids in all.
`min_length=max_length=10` gives the classic fixed length; the default draws lengths 1-10,
which shows padding and lets accuracy be plotted against length.

Held-out sets come from `eval_seed`, not `seed`, so they stay the same whatever training data
is drawn. They are disjoint from training and from each other, as far as the space of
sequences allows: of the n^L sequences of length L, at most half go to held-out sets, so
every length still appears in training. `test_long` holds lengths beyond training
(`max_length+1 .. 2*max_length` by default) for the length-generalisation experiment.
"""

import random
import string

from transformer.tasks.tokenize import WhitespaceTokenizer
from transformer.tasks.vocab import Vocabulary


def symbol_names(n: int) -> list[str]:
    """`n` distinct symbol names: a..z, then aa, ab, ... (spreadsheet-column style)."""
    names = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, r = divmod(i - 1, 26)
            name = string.ascii_lowercase[r] + name
        names.append(name)
    return names


def _draw(
    rng: random.Random, n: int, n_symbols: int, lengths: range, exclude: set, caps: dict | None
) -> list[tuple[int, ...]]:
    """`n` sequences of symbol indices, uniform length in `lengths`, none in `exclude`.

    With `caps` (length -> how many more of that length may be drawn) the draws are distinct
    and added to `exclude`; without, repeats are allowed.
    """
    drawn: list[tuple[int, ...]] = []
    attempts = 0
    while len(drawn) < n:
        attempts += 1
        if attempts > 100 * n + 10_000:
            raise ValueError(f"copy: could not draw {n} sequences of lengths {lengths.start}-{lengths.stop - 1} "
                             f"over {n_symbols} symbols; use more symbols or longer lengths")
        length = rng.choice(lengths)
        if caps is not None and caps[length] == 0:
            continue
        sequence = tuple(rng.randrange(n_symbols) for _ in range(length))
        if sequence in exclude:
            continue
        if caps is not None:
            caps[length] -= 1
            exclude.add(sequence)
        drawn.append(sequence)
    return drawn


def copy_sequences(
    n_symbols: int = 10,
    min_length: int = 1,
    max_length: int = 10,
    n_train: int = 20_000,
    n_valid: int = 1000,
    n_test: int = 1000,
    n_long: int = 1000,
    long_min_length: int | None = None,
    long_max_length: int | None = None,
    seed: int = 0,
    eval_seed: int = 2017,
) -> dict[str, list[list[str]]]:
    """Symbol sequences per split: "train", "valid", "test", and "test_long" if `n_long > 0`."""
    if n_symbols < 2 or n_symbols > 26 * 27:
        raise ValueError(f"copy: expected n_symbols in [2, {26 * 27}], got {n_symbols}")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"copy: expected 1 <= min_length <= max_length, got {min_length} and {max_length}")
    long_min_length = max_length + 1 if long_min_length is None else long_min_length
    long_max_length = 2 * max_length if long_max_length is None else long_max_length
    if n_long and not max_length < long_min_length <= long_max_length:
        raise ValueError(f"copy: expected max_length < long_min_length <= long_max_length, "
                         f"got {max_length}, {long_min_length}, {long_max_length}")
    for name, value in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test), ("n_long", n_long)):
        if value < 0:
            raise ValueError(f"copy: expected {name} >= 0, got {value}")
    lengths = range(min_length, max_length + 1)
    caps = {L: n_symbols**L // 2 for L in lengths}
    held_out: set[tuple[int, ...]] = set()
    if sum(caps.values()) < n_valid + n_test:
        caps = None  # too few sequences to hold any out: evaluation repeats training data
    eval_rng = random.Random(f"copy/{eval_seed}")
    splits = {
        "valid": _draw(eval_rng, n_valid, n_symbols, lengths, held_out, caps),
        "test": _draw(eval_rng, n_test, n_symbols, lengths, held_out, caps),
    }
    if n_long:
        long_lengths = range(long_min_length, long_max_length + 1)
        long_caps = {L: n_symbols**L // 2 for L in long_lengths}
        if sum(long_caps.values()) < n_long:
            long_caps = None
        splits["test_long"] = _draw(eval_rng, n_long, n_symbols, long_lengths, set(), long_caps)
    splits["train"] = _draw(random.Random(f"copy/{seed}"), n_train, n_symbols, lengths, held_out, None)
    names = symbol_names(n_symbols)
    return {split: [[names[s] for s in seq] for seq in splits[split]] for split in ("train", "valid", "test", "test_long") if split in splits}


def copy_vocabulary(n_symbols: int) -> Vocabulary:
    """The specials and every symbol, in order: `a` is id 4, `b` id 5, ..."""
    return Vocabulary(symbol_names(n_symbols))


def copy_text_pairs(sequences: list[list[str]], reverse: bool) -> list[tuple[str, str]]:
    """(source, target) strings: the symbols joined by spaces, the target reversed if asked."""
    tokenizer = WhitespaceTokenizer()
    return [(tokenizer.detokenize(s), tokenizer.detokenize(s[::-1] if reverse else s)) for s in sequences]
