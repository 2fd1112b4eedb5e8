"""Spec for the number-words task (chapter 01): German spellings, splits disjoint by number and
fixed by seed, characters in, words out, and decoding that gives back the reference text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer.tasks import JOINER, UNK, load_task
from transformer.tasks.numbers import english, german, number_splits

pytestmark = pytest.mark.tokens

SMALL = dict(min_number=1, max_number=400, n_valid=40, n_test=60)


@pytest.mark.parametrize("number, de, en", [
    (21, "einundzwanzig", "twenty-one"),
    (342, "dreihundertzweiundvierzig", "three hundred and forty-two"),
    (17, "siebzehn", "seventeen"),
    (101, "einhunderteins", "one hundred and one"),
    (2342, "zweitausenddreihundertzweiundvierzig", "two thousand, three hundred and forty-two"),
])
def test_spellings(number, de, en):
    """German puts the units before the tens and writes one word; English does neither."""
    found = (german(number), english(number))
    assert found == (de, en), f"{number} is spelled {found}, expected {(de, en)}"


@given(st.integers(0, 300), st.integers(1, 300), st.integers(0, 20), st.integers(0, 20), st.integers(0, 99))
def test_splits_are_disjoint_by_number_and_cover_the_range(low, width, n_valid, n_test, seed):
    """No number is in two splits, and with n_train=None every number in the range is used once."""
    high = low + width + n_valid + n_test
    splits = number_splits(low, high, n_valid, n_test, seed=seed)
    numbers = splits["train"] + splits["valid"] + splits["test"]
    assert sorted(numbers) == list(range(low, high + 1)), "splits overlap or leave numbers out"
    sizes = (len(splits["valid"]), len(splits["test"]))
    assert sizes == (n_valid, n_test), f"valid and test hold {sizes} numbers, expected {(n_valid, n_test)}"


@given(st.integers(0, 99))
def test_splits_are_fixed_by_the_seed(seed):
    """The same seed gives the same split; the test numbers do not depend on n_train."""
    first = number_splits(**SMALL, seed=seed)
    assert first == number_splits(**SMALL, seed=seed), f"seed {seed} gave two different splits"
    assert first["test"] == number_splits(**SMALL, n_train=10, seed=seed)["test"], "the test numbers changed with n_train"
    assert first["test"] != number_splits(**SMALL, seed=seed + 1)["test"], "the seed had no effect"


def test_task_has_characters_in_and_words_out():
    """The German source is split into characters, the English target into words and marks."""
    data = load_task("numbers", **SMALL)
    names = (data.source.tokenizer.name, data.target.tokenizer.name)
    assert names == ("char", "word"), f"tokenizers {names}, expected characters in and words out"
    assert "z" in data.src_vocab and "zwanzig" not in data.src_vocab, "the source vocabulary is not one of characters"
    assert "hundred" in data.tgt_vocab and f"{JOINER}-{JOINER}" in data.tgt_vocab, (
        "the target vocabulary lacks the word 'hundred' or the joined hyphen")


def test_decoding_targets_gives_back_the_english_text():
    """Every encoded target decodes to its raw reference: no UNK, and the hyphen comes back."""
    data = load_task("numbers", **SMALL)
    for split, pairs in data.splits.items():
        decoded = [data.decode_target(tgt) for _, tgt in pairs]
        assert decoded == data.references[split], f"{split}: decoding changed the reference text"
        assert [data.decode_source(src) for src, _ in pairs] == data.sources[split], f"{split}: decoding changed a source"
    assert all(UNK not in tgt for _, tgt in data.test), "a test target needs a word never trained on"


def test_sources_and_references_are_the_spellings_of_the_split_numbers():
    """sources[s][i] and references[s][i] spell the same number, the one the split assigned."""
    data = load_task("numbers", **SMALL, seed=3)
    test_numbers = number_splits(**SMALL, seed=3)["test"]
    assert data.sources["test"] == [german(n) for n in test_numbers], "a test source is not the German of its number"
    assert data.references["test"] == [english(n) for n in test_numbers], "a test reference is not the English of its number"


def test_numbers_errors_name_the_problem():
    """Held-out sets that leave nothing to train on, or a backwards range, are refused with one line."""
    with pytest.raises(ValueError, match="leave any for training"):
        number_splits(1, 10, n_valid=5, n_test=5)
    with pytest.raises(ValueError, match="min_number <= max_number"):
        number_splits(10, 1)
    with pytest.raises(ValueError, match="n_train in"):
        number_splits(1, 100, n_valid=10, n_test=10, n_train=200)


def test_short_share_oversamples_short_training_numbers_only():
    """Each digit-count group reaches the asked share of the largest; held-out splits are unchanged."""
    plain = number_splits(1, 999, n_valid=50, n_test=50, seed=1)
    balanced = number_splits(1, 999, n_valid=50, n_test=50, seed=1, short_share=0.5)
    assert balanced["valid"] == plain["valid"] and balanced["test"] == plain["test"], "short_share changed a held-out split"
    assert set(balanced["train"]) == set(plain["train"]), "oversampling must not add or drop numbers"
    sizes = {d: sum(len(str(n)) == d for n in balanced["train"]) for d in (1, 2, 3)}
    assert min(sizes.values()) >= 0.5 * max(sizes.values()), f"digit-count groups {sizes}"
    with pytest.raises(ValueError, match="short_share"):
        number_splits(1, 999, n_valid=50, n_test=50, short_share=1.5)
