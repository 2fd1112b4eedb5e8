"""Spec for real sentence pairs (chapter 01): Multi30k-style folders read through `datasets`, the
same code path as the hub copy, tab-separated pair files in both directions, the task registry,
and malformed input refused with the file and line."""

import datasets
import pytest

from transformer.tasks import TASKS, load_task, normalize_whitespace
from transformer.tasks.translation import (
    MULTI30K_FILES,
    default_multi30k_path,
    load_multi30k,
    pairs_from_dataset_dict,
    read_pairs_file,
    split_pairs,
)

pytestmark = pytest.mark.tokens

# A few lines in Multi30k's style, with its quirks: a TAB inside a sentence, trailing spaces.
GERMAN = {
    "train": ["Ein Hund läuft.", "Zwei Männer spielen in einer \tWasserfontäne.", "Ein Mann fährt Rad.  ",
              "Ein Hund schläft."],
    "val": ["Eine Frau singt."],
    "test2016": ["Ein Pferd läuft.", "Ein Hund singt."],
}
ENGLISH = {
    "train": ["A dog runs.", "Two men play in a water fountain.", "A man rides a bike.", "A dog sleeps."],
    "val": ["A woman sings."],
    "test2016": ["A horse runs.", "A dog sings."],
}


def write_folder(folder, german=GERMAN, english=ENGLISH):
    folder.mkdir(parents=True, exist_ok=True)
    for stem in german:
        (folder / f"{stem}.de").write_text("".join(line + "\n" for line in german[stem]), encoding="utf-8")
        (folder / f"{stem}.en").write_text("".join(line + "\n" for line in english[stem]), encoding="utf-8")
    return folder


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "multi30k")


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "hf_cache")


def test_local_folder_gives_the_line_pairs(folder, cache):
    """Line i of X.de is paired with line i of X.en, raw: the TAB and trailing spaces are kept."""
    pairs = load_multi30k(folder, cache_dir=cache)
    for ours, stem in zip(("train", "valid", "test"), MULTI30K_FILES.values()):
        assert pairs[ours] == list(zip(GERMAN[stem], ENGLISH[stem])), f"{ours} pairs differ from {stem}.de/.en"


def test_folder_and_hub_layout_go_through_the_same_code(folder, cache):
    """A DatasetDict laid out like the hub's (train/validation/test, columns de/en) gives the same pairs."""
    hub_like = datasets.DatasetDict({
        split: datasets.Dataset.from_dict({"en": ENGLISH[stem], "de": GERMAN[stem]})
        for split, stem in MULTI30K_FILES.items()
    })
    assert pairs_from_dataset_dict(hub_like, "de", "en", "hub-like") == load_multi30k(folder, cache_dir=cache), (
        "the hub-like DatasetDict and the folder give different pairs")


def test_multi30k_task_from_a_folder(folder, cache):
    """load_task("multi30k", path=...) tokenizes by words, keeps raw references, builds vocabularies from train."""
    data = load_task("multi30k", path=folder, min_freq=1, cache_dir=cache)
    assert data.references["test"] == ENGLISH["test2016"], f"test references {data.references['test']} are not test2016.en"
    assert data.sources["valid"] == GERMAN["val"], f"valid sources {data.sources['valid']} are not val.de"
    assert "horse" not in data.tgt_vocab, "a test-only word entered the vocabulary"
    for split, pairs in data.splits.items():
        for (src, tgt), raw_src in zip(pairs, data.sources[split]):
            if "horse" not in data.decode_target(tgt) and "<unk>" not in data.decode_source(src):
                decoded = data.decode_source(src)
                assert decoded == normalize_whitespace(raw_src), f"{split}: {raw_src!r} decodes as {decoded!r}"
    decoded = data.decode_target(data.train[1][1])
    assert decoded == "Two men play in a water fountain.", f"the second training target decodes as {decoded!r}"
    small = load_task("multi30k", path=folder, min_freq=1, max_train=2, cache_dir=cache)
    assert small.sources["train"] == GERMAN["train"][:2], f"max_train=2 kept {small.sources['train']}"
    assert "sleeps" not in small.tgt_vocab, "max_train=2: a word of a dropped training pair is in the vocabulary"


def test_multi30k_pad_multiple_pads_its_batches(folder, cache):
    """--task-option pad_multiple=N: every batch's sequence axes are multiples of N, the pairs are
    the same; a value below 1 is refused in one line."""
    plain = load_task("multi30k", path=folder, min_freq=1, cache_dir=cache)
    padded = load_task("multi30k", path=folder, min_freq=1, cache_dir=cache, pad_multiple=8)
    assert padded.splits == plain.splits and padded.options["pad_multiple"] == 8, \
        f"pad_multiple=8 changed the pairs or was not recorded: options {padded.options}"
    for batch in padded.batches("train", max_tokens=64, shuffle=True, seed=1):
        assert batch.src.shape[1] % 8 == 0 and batch.tgt_in.shape[1] % 8 == 0, f"shapes {batch.src.shape}, {batch.tgt_in.shape}"
    with pytest.raises(ValueError, match="pad_multiple to be an integer >= 1, got 0"):
        load_task("multi30k", path=folder, min_freq=1, cache_dir=cache, pad_multiple=0)


def test_missing_file_is_named(folder, cache):
    """A folder without one of the six files is refused with the missing path."""
    (folder / "val.en").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing file .*val\.en"):
        load_multi30k(folder, cache_dir=cache)
    with pytest.raises(FileNotFoundError, match="missing folder"):
        load_multi30k(folder / "nowhere", cache_dir=cache)


def test_mismatched_line_counts_name_the_file_and_line(tmp_path, cache):
    """A .de file one line longer than its .en partner: the error names the file and the unpaired line."""
    german = dict(GERMAN, train=GERMAN["train"] + ["Noch ein Satz."])
    folder = write_folder(tmp_path / "m", german=german)
    with pytest.raises(ValueError, match=r"train\.de: line 5 has no partner line in .*train\.en"):
        load_multi30k(folder, cache_dir=cache)


def test_empty_line_names_the_file_and_line(tmp_path, cache):
    """A blank sentence is refused with its file and line number."""
    english = dict(ENGLISH, test2016=["A horse runs.", "  "])
    folder = write_folder(tmp_path / "m", english=english)
    with pytest.raises(ValueError, match=r"test2016\.en: line 2: empty sentence"):
        load_multi30k(folder, cache_dir=cache)


def write_pairs(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


PAIR_LINES = [f"Sentence {i}.\tSatz {i}.\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i}" for i in range(20)]


def test_pairs_file_in_both_directions(tmp_path):
    """English<TAB>Other[<TAB>attribution]: to_english reads Other -> English, from_english the reverse."""
    path = write_pairs(tmp_path / "deu.txt", PAIR_LINES[:2] + ['"Hi," he said.\t„Hallo", sagte er.'])
    pairs = read_pairs_file(path)
    assert pairs == [("Satz 0.", "Sentence 0."), ("Satz 1.", "Sentence 1."), ('„Hallo", sagte er.', '"Hi," he said.')], (
        f"to_english read {pairs}: expected (other, English) pairs, attribution dropped, quotes kept")
    first = read_pairs_file(path, direction="from_english")[0]
    assert first == ("Sentence 0.", "Satz 0."), f"from_english read {first}, expected (English, other)"


@pytest.mark.parametrize("line, problem", [
    ("only one column", "expected 2 or 3 tab-separated columns .* got 1"),
    ("a\tb\tc\td", "expected 2 or 3 .* got 4"),
    ("\tSatz.", "empty sentence"),
])
def test_malformed_pairs_file_names_the_line(tmp_path, line, problem):
    """A line with the wrong number of columns (or an empty sentence) is refused with its number."""
    path = write_pairs(tmp_path / "bad.txt", PAIR_LINES[:3] + [line] + PAIR_LINES[3:5])
    with pytest.raises(ValueError, match=rf"bad\.txt: line 4: {problem}"):
        read_pairs_file(path)


def test_pairs_file_errors(tmp_path):
    """A missing or empty file, or an unknown direction, gets one clear line."""
    with pytest.raises(FileNotFoundError, match="missing file"):
        read_pairs_file(tmp_path / "none.txt")
    with pytest.raises(ValueError, match="no sentence pairs"):
        read_pairs_file(write_pairs(tmp_path / "empty.txt", []))
    with pytest.raises(ValueError, match="direction"):
        read_pairs_file(write_pairs(tmp_path / "ok.txt", PAIR_LINES[:1]), direction="sideways")


def test_pair_splits_are_disjoint_seeded_and_complete(tmp_path):
    """split_pairs uses every pair once; the same seed gives the same split, another seed another."""
    pairs = read_pairs_file(write_pairs(tmp_path / "deu.txt", PAIR_LINES))
    splits = split_pairs(pairs, 0.1, 0.2, seed=1)
    assert sorted(sum(splits.values(), [])) == sorted(pairs), "the splits do not use every pair exactly once"
    sizes = (len(splits["valid"]), len(splits["test"]))
    assert sizes == (2, 4), f"valid and test hold {sizes} of 20 pairs, expected 10% and 20%: (2, 4)"
    assert splits == split_pairs(pairs, 0.1, 0.2, seed=1), "the same seed gave another split"
    assert splits != split_pairs(pairs, 0.1, 0.2, seed=2), "another seed gave the same split"
    with pytest.raises(ValueError, match="cannot give"):
        split_pairs(pairs[:2])


def test_pairs_task(tmp_path):
    """load_task("pairs", ...) reads, splits, tokenizes; references are the raw target sentences."""
    path = write_pairs(tmp_path / "deu.txt", PAIR_LINES)
    data = load_task("pairs", path=path, min_freq=1, valid_fraction=0.1, test_fraction=0.1)
    assert len(data.train) == 16, f"{len(data.train)} training pairs, expected 20 - 2 - 2 = 16"
    assert all(ref.startswith("Sentence") for ref in data.references["test"]), "a test reference is not the English side"
    decoded, reference = data.decode_target(data.train[0][1]), data.references["train"][0]
    assert decoded == reference, f"a target decodes as {decoded!r}, its raw reference is {reference!r}"
    back = load_task("pairs", path=path, direction="from_english", min_freq=1)
    assert all(src.startswith("Sentence") for src in back.sources["train"]), "from_english: a source is not English"


def test_registry_refuses_unknown_tasks_and_options():
    """An unknown task, an unknown option or a missing required one is named in one line."""
    assert {"copy", "reverse", "numbers", "multi30k", "pairs"} <= set(TASKS), f"registered tasks: {sorted(TASKS)}"
    with pytest.raises(ValueError, match="unknown task 'bogus': expected one of copy, reverse"):
        load_task("bogus")
    with pytest.raises(ValueError, match="unknown option.* n_symbol;"):
        load_task("copy", n_symbol=4)
    with pytest.raises(ValueError, match="missing option.* path"):
        load_task("pairs")


@pytest.mark.network
def test_multi30k_from_the_hub(tmp_path):
    """The hub copy (bentrevett/multi30k) has Multi30k's 29,000 / 1,014 / 1,000 pairs."""
    import socket

    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        pairs = load_multi30k(hub_id="bentrevett/multi30k", cache_dir=str(tmp_path))
    except OSError as error:  # offline (ConnectionError is an OSError): `pytest -m tokens` must still pass
        pytest.skip(f"the hub is out of reach: {error}")
    sizes = [len(pairs[s]) for s in ("train", "valid", "test")]
    assert sizes == [29000, 1014, 1000], f"the hub copy has {sizes} pairs, expected Multi30k's 29,000 / 1,014 / 1,000"


@pytest.mark.slow
def test_multi30k_default_folder_loads_in_full():
    """The shared Multi30k copy loads with its documented sizes and train.de's TAB kept inside line 7366."""
    if default_multi30k_path() is None:
        pytest.skip("no shared/data/multi30k beside the repository")
    data = load_task("multi30k")
    sizes = [len(data.splits[s]) for s in ("train", "valid", "test")]
    assert sizes == [29000, 1014, 1000], f"the shared copy has {sizes} pairs, expected 29,000 / 1,014 / 1,000"
    line = data.sources["train"][7365]
    assert "\tWasserfontäne" in line, f"line 7366 of train.de lost the TAB inside it: {line!r}"


@pytest.mark.slow
def test_word_tokenizer_round_trips_all_of_multi30k():
    """Every line of every Multi30k file comes back from tokenize + detokenize (whitespace normalised)."""
    from transformer.tasks import WordTokenizer

    folder = default_multi30k_path()
    if folder is None:
        pytest.skip("no shared/data/multi30k beside the repository")
    tokenizer, total, failures = WordTokenizer(), 0, []
    for path in sorted(folder.glob("*.*")):
        lines = path.read_text(encoding="utf-8").split("\n")[:-1]
        total += len(lines)
        failures += [(path.name, n + 1) for n, line in enumerate(lines)
                     if tokenizer.detokenize(tokenizer.tokenize(line)) != normalize_whitespace(line)]
    print(f"{total - len(failures)} of {total} Multi30k lines round-trip")
    assert not failures, f"{len(failures)} of {total} lines do not round-trip, first {failures[:5]}"


def test_multi30k_in_shared_subword_units(folder, cache):
    """tokenizer=bpe, shared_vocab=true: one set of merges and one vocabulary for both languages,
    every piece of it, so no split of either side holds <unk>; the text comes back whole."""
    from transformer.tasks import UNK

    data = load_task("multi30k", path=folder, tokenizer="bpe", bpe_size=60, shared_vocab=True, cache_dir=cache)
    assert data.src_vocab is data.tgt_vocab, "shared_vocab=true should give one vocabulary for both sides"
    assert data.source.tokenizer is data.target.tokenizer, "shared_vocab=true should learn one set of merges"
    for split, pairs in data.splits.items():
        for (src, tgt), raw_src, raw_tgt in zip(pairs, data.sources[split], data.references[split]):
            seen = set("".join(GERMAN["train"] + ENGLISH["train"]))
            assert UNK not in src + tgt or not set(raw_src + raw_tgt) <= seen, (
                f"{split}: {raw_src!r} -> {raw_tgt!r} holds <unk> though its characters were in training")
            assert data.decode_target(tgt) == normalize_whitespace(raw_tgt), f"{split}: {raw_tgt!r} decodes differently"
    separate = load_task("multi30k", path=folder, tokenizer="bpe", bpe_size=60, cache_dir=cache)
    assert separate.src_vocab is not separate.tgt_vocab, "without shared_vocab each side has its own vocabulary"
    with pytest.raises(ValueError, match="expected 'word' or 'bpe'"):
        load_task("multi30k", path=folder, tokenizer="sentencepiece", cache_dir=cache)
