"""Number words, German -> English: the course's small, offline translation task.

Chapter: walkthrough/01_tokens_and_batches.md (the alignments appear in chapter 04).

    342  ->  source "dreihundertzweiundvierzig"      (characters: d r e i h u n d ...)
         ->  target "three hundred and forty-two"    (words: three hundred and forty ￭-￭ two)

German writes a number as one word and puts the units before the tens ("zweiundvierzig" is
two-and-forty), so a model has to find the pieces inside one long word and reorder them: a
small version of what translation asks, with alignments a person can check by eye. The
source is tokenized by characters (the pieces are not marked), the target by words with
`WordTokenizer`, which keeps the hyphen of "forty-two" as its own reversible token `￭-￭`
and the comma of "two thousand, three hundred" as `￭,`.

Pairs are spelled by the `num2words` library. The splits are disjoint *by number* and fixed by
`seed`: a shuffled list of the numbers in [min_number, max_number] gives the test set first,
then the validation set, then training, so no test number is ever seen during training.
"""

import math
import random

from num2words import num2words


def german(number: int) -> str:
    """The German spelling: 21 -> "einundzwanzig", 342 -> "dreihundertzweiundvierzig"."""
    return num2words(number, lang="de")


def english(number: int) -> str:
    """The English spelling: 342 -> "three hundred and forty-two"."""
    return num2words(number, lang="en")


def number_splits(
    min_number: int = 1,
    max_number: int = 9999,
    n_valid: int = 500,
    n_test: int = 1000,
    n_train: int | None = None,
    seed: int = 0,
    short_share: float = 0.0,
) -> dict[str, list[int]]:
    """Numbers per split ("train", "valid", "test"), disjoint, fixed by `seed`.

    `n_train=None` takes every number not held out. A uniform sample of 1-9,999 holds few short
    numbers (1-99 are 1%); `short_share > 0` repeats the training numbers of each digit count
    until that group is at least `short_share` times the size of the largest group. Only the
    training split changes; it stays disjoint from the held-out numbers.
    """
    if not 0 <= min_number <= max_number:
        raise ValueError(f"numbers: expected 0 <= min_number <= max_number, got {min_number} and {max_number}")
    numbers = list(range(min_number, max_number + 1))
    available = len(numbers) - n_valid - n_test
    if n_valid < 0 or n_test < 0 or available < 1:
        raise ValueError(f"numbers: {len(numbers)} numbers in [{min_number}, {max_number}] cannot give "
                         f"n_valid={n_valid} and n_test={n_test} and leave any for training")
    if n_train is not None and not 1 <= n_train <= available:
        raise ValueError(f"numbers: expected n_train in [1, {available}] (what is not held out), got {n_train}")
    random.Random(f"numbers/{seed}").shuffle(numbers)
    test, valid = numbers[:n_test], numbers[n_test : n_test + n_valid]
    train = numbers[n_test + n_valid :][:n_train]
    if not 0.0 <= short_share <= 1.0:
        raise ValueError(f"numbers: expected short_share in [0, 1], got {short_share}")
    if short_share > 0:
        train = _oversample_by_digits(train, short_share)
    return {"train": train, "valid": valid, "test": test}


def _oversample_by_digits(numbers: list[int], share: float) -> list[int]:
    groups: dict[int, list[int]] = {}
    for number in numbers:
        groups.setdefault(len(str(number)), []).append(number)
    target = share * max(len(group) for group in groups.values())
    out = []
    for group in groups.values():
        repeats = max(1, math.ceil(target / len(group)))
        out.extend(group * repeats)
    random.Random(len(out)).shuffle(out)
    return out


def number_text_pairs(numbers: list[int]) -> list[tuple[str, str]]:
    """(German, English) spellings of each number."""
    return [(german(n), english(n)) for n in numbers]
