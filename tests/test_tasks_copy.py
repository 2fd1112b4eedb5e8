"""Spec for the copy and reverse tasks (chapter 01): targets equal (or reverse) the sources, the
held-out sets are fixed by their own seed and kept out of training, and lengths are as asked."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer.tasks import UNK, load_task
from transformer.tasks.copy import copy_sequences, symbol_names

pytestmark = pytest.mark.tokens

SMALL = dict(n_train=300, n_valid=40, n_test=40, n_long=20)


@st.composite
def copy_options(draw):
    """Small copy settings: a few symbols, a short length range, small splits."""
    n_symbols = draw(st.integers(2, 12))
    min_length = draw(st.integers(1, 4))
    max_length = draw(st.integers(min_length, 6))
    return dict(SMALL, n_symbols=n_symbols, min_length=min_length, max_length=max_length,
                seed=draw(st.integers(0, 99)), eval_seed=draw(st.integers(0, 99)))


def sequences(data, split):
    return [tuple(src) for src, _ in data.splits[split]]


@given(copy_options())
def test_copy_targets_equal_sources(options):
    """In the copy task the answer is the question: target ids equal source ids in every split."""
    data = load_task("copy", **options)
    for split, pairs in data.splits.items():
        assert all(src == tgt for src, tgt in pairs), f"copy: a {split} target differs from its source"
        assert data.sources[split] == data.references[split], f"copy: a {split} reference text differs from its source"


@given(copy_options())
def test_reverse_targets_are_reversed_sources(options):
    """In the reverse task each target is its source backwards, the same symbols otherwise."""
    data = load_task("reverse", **options)
    for split, pairs in data.splits.items():
        assert all(tgt == src[::-1] for src, tgt in pairs), f"reverse: a {split} target is not its reversed source"
    assert sequences(data, "test") == sequences(load_task("copy", **options), "test"), "reverse must reuse copy's sources"


@given(copy_options())
def test_lengths_stay_in_their_ranges(options):
    """Train/valid/test lengths lie in [min_length, max_length]; test_long lies beyond max_length."""
    data = load_task("copy", **options)
    for split in ("train", "valid", "test"):
        lengths = {len(s) for s in sequences(data, split)}
        assert lengths <= set(range(options["min_length"], options["max_length"] + 1)), f"{split}: {lengths}"
    long_lengths = {len(s) for s in sequences(data, "test_long")}
    assert options["max_length"] < min(long_lengths) and max(long_lengths) <= 2 * options["max_length"], (
        f"test_long lengths {sorted(long_lengths)}, expected in ({options['max_length']}, {2 * options['max_length']}]")


@given(copy_options())
def test_held_out_sets_do_not_depend_on_the_training_seed(options):
    """valid, test and test_long come from eval_seed alone: a new training seed or size leaves them fixed."""
    data = load_task("copy", **options)
    other = load_task("copy", **dict(options, seed=options["seed"] + 1, n_train=options["n_train"] // 2))
    for split in ("valid", "test", "test_long"):
        assert data.splits[split] == other.splits[split], f"{split} changed with the training seed"
    assert data.train != other.train, "the training seed had no effect"


@given(copy_options())
def test_held_out_sets_are_disjoint_from_training_where_the_space_allows(options):
    """Unless the sequence space is too small, no valid or test sequence is trained on, and valid and test are distinct."""
    n_symbols, lengths = options["n_symbols"], range(options["min_length"], options["max_length"] + 1)
    if sum(n_symbols**L // 2 for L in lengths) < options["n_valid"] + options["n_test"]:
        return  # documented fallback: too few sequences to hold any out
    data = load_task("copy", **options)
    train, valid, test = (set(sequences(data, s)) for s in ("train", "valid", "test"))
    held_out = sequences(data, "valid") + sequences(data, "test")
    assert not (train & (valid | test)), f"{len(train & (valid | test))} held-out sequences appear in training"
    assert len(set(held_out)) == len(held_out), "valid and test repeat a sequence"


def test_every_training_length_appears_in_training():
    """At most half of the sequences of a length are held out, so even length 1 is trained on."""
    data = load_task("copy", n_train=2000, n_valid=500, n_test=500, n_long=0)
    trained = {len(s) for s in sequences(data, "train")}
    assert trained == set(range(1, 11)), f"training lengths {sorted(trained)}, expected every length 1..10"
    assert "test_long" not in data.splits, f"n_long=0 still made a test_long split: {sorted(data.splits)}"


def test_tiny_spaces_fall_back_to_overlapping_sets():
    """Two symbols and lengths 1-2 hold 6 sequences: evaluation then reuses training data rather than fail."""
    data = load_task("copy", n_symbols=2, min_length=1, max_length=2, n_train=50, n_valid=10, n_test=10, n_long=0)
    sizes = (len(data.valid), len(data.test))
    assert sizes == (10, 10), f"valid and test hold {sizes} pairs, expected the 10 and 10 asked for"


def test_classic_setting_has_fourteen_ids_and_fixed_length():
    """10 symbols (the Annotated Transformer's V=11 less its pad) + 4 specials; a is id 4."""
    data = load_task("copy", min_length=10, max_length=10, **SMALL)
    assert len(data.src_vocab) == 14, f"{len(data.src_vocab)} ids, expected 10 symbols + 4 specials = 14"
    assert data.src_vocab is data.tgt_vocab, "copy's source and target must share one vocabulary"
    ids = (data.src_vocab.id("a"), data.src_vocab.id("j"))
    assert ids == (4, 13), f"a and j have ids {ids}, expected 4 and 13 (after the four specials)"
    lengths = {len(s) for s in sequences(data, "train")}
    assert lengths == {10}, f"training lengths {sorted(lengths)}, expected only 10"
    assert all(UNK not in src for pairs in data.splits.values() for src, _ in pairs), "a copy source holds <unk>"
    decoded, reference = data.decode_target(data.test[0][1]), data.references["test"][0]
    assert decoded == reference, f"decode_target gives {decoded!r}, the reference is {reference!r}"


def test_symbol_names_are_distinct_letters():
    """a..z then aa, ab, ...: distinct, so a vocabulary of up to 702 symbols can be named."""
    names = symbol_names(702)
    found = (names[:3], names[25:28], names[-1])
    assert found == (["a", "b", "c"], ["z", "aa", "ab"], "zz"), f"names start {found[0]}, go on {found[1]}, end {found[2]!r}"
    assert len(set(names)) == 702, f"only {len(set(names))} of 702 names are distinct"


def test_same_options_give_the_same_data():
    """Everything is seeded: two loads with the same options are equal."""
    assert load_task("copy", **SMALL).splits == load_task("copy", **SMALL).splits, "two loads with the same options differ"


def test_copy_errors_name_the_problem():
    """Impossible settings are refused with one line."""
    with pytest.raises(ValueError, match="n_symbols"):
        load_task("copy", n_symbols=1)
    with pytest.raises(ValueError, match="min_length <= max_length"):
        load_task("copy", min_length=5, max_length=3)
    with pytest.raises(ValueError, match="long_min_length"):
        copy_sequences(max_length=5, long_min_length=4)
    with pytest.raises(ValueError, match="n_train >= 0"):
        copy_sequences(n_train=-1)
