"""Spec for reading local sentence files (chapter 01): a file that is not UTF-8 is named with its
line, a UTF-8 byte-order mark never becomes part of a sentence, and reading local files opens
no network connection (only a hub id may go online)."""

import codecs
import os
import socket

import datasets
import pytest

from transformer.tasks import load_task
from transformer.tasks.translation import MULTI30K_HUB_ID, load_multi30k, read_pairs_file

pytestmark = pytest.mark.tokens

GERMAN = {"train": ["Ein Hund läuft.", "Zwei Männer spielen.", "Ein Mann fährt Rad."], "val": ["Eine Frau singt."],
          "test2016": ["Ein Pferd läuft."]}
ENGLISH = {"train": ["A dog runs.", "Two men play.", "A man rides a bike."], "val": ["A woman sings."],
           "test2016": ["A horse runs."]}
BOM = codecs.BOM_UTF8


def write_folder(folder, german=GERMAN, english=ENGLISH, bom: bool = False):
    """A Multi30k-shaped folder: {train,val,test2016}.{de,en}, one sentence per line."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in german:
        for lang, lines in (("de", german[stem]), ("en", english[stem])):
            data = "".join(line + "\n" for line in lines).encode("utf-8")
            (folder / f"{stem}.{lang}").write_bytes(BOM + data if bom else data)
    return folder


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "hf_cache")


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to resolve a name or open a connection is recorded, and fails."""
    attempts = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append((what, args[1:3] if what == "connect" else args[:2]))
            raise OSError(f"test: no network ({what})")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


# ---------------------------------------------------------------- not UTF-8


def test_a_multi30k_file_that_is_not_utf8_is_named_with_its_line(tmp_path, cache):
    """A Latin-1 byte on line 2 of train.de: one line naming the file, the line and the column."""
    folder = write_folder(tmp_path / "m")
    (folder / "train.de").write_bytes("Ein Hund.\nZwei Männer spielen.\nEin Mann.\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"train\.de: line 2, column 7: expected UTF-8 text, got byte 0xe4") as info:
        load_multi30k(folder, cache_dir=cache)
    assert "\n" not in str(info.value), f"the message should be one line, got {str(info.value)!r}"


def test_the_line_of_a_bad_byte_is_counted_past_good_lines(tmp_path, cache):
    """Good UTF-8 before the bad byte (umlauts included) is counted: the error names line 3."""
    folder = write_folder(tmp_path / "m")
    (folder / "val.en").write_bytes("A woman sings.\nTwo men play.\nA \xff man.\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    (folder / "val.de").write_bytes("Eine Frau singt.\nZwei Männer spielen.\nEin Mann.\n".encode("utf-8"))
    with pytest.raises(ValueError, match=r"val\.en: line 3, column 3: expected UTF-8 text, got byte 0xff"):
        load_multi30k(folder, cache_dir=cache)


def test_a_pairs_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    """The tab-separated pairs reader names the file and line of a byte that is not UTF-8."""
    path = tmp_path / "deu.txt"
    path.write_bytes("Hi.\tHallo.\nHe is Müller.\tEr ist Müller.\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"deu\.txt: line 2, column 8: expected UTF-8 text, got byte 0xfc") as info:
        read_pairs_file(path)
    assert "\n" not in str(info.value), f"the message should be one line, got {str(info.value)!r}"


# ---------------------------------------------------------------- byte-order mark


def test_a_byte_order_mark_is_not_part_of_the_first_multi30k_sentence(tmp_path, cache):
    """Files saved 'UTF-8 with BOM' give the same pairs as plain UTF-8, and no token carries U+FEFF."""
    plain = load_multi30k(write_folder(tmp_path / "plain"), cache_dir=cache)
    with_bom = load_multi30k(write_folder(tmp_path / "bom", bom=True), cache_dir=cache)
    assert with_bom == plain, f"a BOM changed the pairs: {with_bom['train'][0]!r} against {plain['train'][0]!r}"
    data = load_task("multi30k", path=tmp_path / "bom", min_freq=1, cache_dir=cache)
    marked = [t for vocab in (data.src_vocab, data.tgt_vocab) for t in vocab.tokens if "\ufeff" in t]
    assert not marked, f"the byte-order mark was learned as part of tokens {marked}"


def test_only_the_start_of_a_file_is_a_byte_order_mark(tmp_path, cache):
    """U+FEFF anywhere but at the very start of a file is text (a zero-width no-break space), kept raw."""
    german = dict(GERMAN, train=["Ein Hund läuft.", "\ufeffZwei Männer spielen.", "Ein Mann fährt Rad."])
    pairs = load_multi30k(write_folder(tmp_path / "m", german=german, bom=True), cache_dir=cache)
    assert [src for src, _ in pairs["train"]] == german["train"], f"train sources read as {pairs['train']}"


def test_a_byte_order_mark_is_not_part_of_the_first_pair(tmp_path):
    """A pairs file saved with a BOM reads as the same pairs as without it."""
    text = "Hi.\tHallo.\nRun!\tLauf!\n".encode("utf-8")
    (tmp_path / "bom.txt").write_bytes(BOM + text)
    (tmp_path / "plain.txt").write_bytes(text)
    with_bom, plain = read_pairs_file(tmp_path / "bom.txt"), read_pairs_file(tmp_path / "plain.txt")
    assert with_bom == plain == [("Hallo.", "Hi."), ("Lauf!", "Run!")], f"a BOM changed the pairs: {with_bom}"


# ---------------------------------------------------------------- no network


def test_loading_a_local_multi30k_folder_opens_no_connection(tmp_path, cache, no_network):
    """`datasets` counted a download (a DNS lookup and a connect) even for local files: now nothing is tried."""
    pairs = load_multi30k(write_folder(tmp_path / "m"), cache_dir=cache)
    assert pairs["train"] == list(zip(GERMAN["train"], ENGLISH["train"])), f"train pairs read as {pairs['train']}"
    assert no_network == [], f"a local load tried the network: {no_network}"


def test_local_tasks_open_no_connection(tmp_path, cache, no_network):
    """The multi30k task from a folder and the pairs task from a file, end to end, stay off the network."""
    load_task("multi30k", path=write_folder(tmp_path / "m"), min_freq=1, cache_dir=cache)
    path = tmp_path / "deu.txt"
    path.write_text("".join(f"Sentence {i}.\tSatz {i}.\n" for i in range(20)), encoding="utf-8")
    load_task("pairs", path=path, min_freq=1)
    assert no_network == [], f"a local task tried the network: {no_network}"


def test_offline_mode_is_restored_after_a_local_load(tmp_path, cache):
    """Offline mode holds for the local load only: `datasets`' switches and the environment are as before."""
    before = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_UPDATE_DOWNLOAD_COUNTS,
              os.environ.get("HF_HUB_OFFLINE"), os.environ.get("HF_DATASETS_OFFLINE"))
    load_multi30k(write_folder(tmp_path / "m"), cache_dir=cache)
    after = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_UPDATE_DOWNLOAD_COUNTS,
             os.environ.get("HF_HUB_OFFLINE"), os.environ.get("HF_DATASETS_OFFLINE"))
    assert after == before, f"offline switches (hub, counts, env hub, env datasets) were {before}, are {after}"


def test_a_hub_id_still_goes_to_the_hub_with_offline_mode_untouched(monkeypatch, cache):
    """Asking for a hub id is the one way online: `datasets.load_dataset` gets the id, not in forced offline mode."""
    calls = []
    rows = datasets.DatasetDict({split: datasets.Dataset.from_dict({"de": GERMAN[stem], "en": ENGLISH[stem]})
                                 for split, stem in (("train", "train"), ("validation", "val"), ("test", "test2016"))})
    offline_before = datasets.config.HF_HUB_OFFLINE

    def load_dataset(path, *args, **kwargs):
        calls.append((path, datasets.config.HF_HUB_OFFLINE))
        return rows

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    pairs = load_multi30k(hub_id=MULTI30K_HUB_ID, cache_dir=cache)
    assert calls == [(MULTI30K_HUB_ID, offline_before)], f"the hub path called load_dataset as {calls}"
    assert pairs["test"] == [("Ein Pferd läuft.", "A horse runs.")], f"hub pairs read as {pairs['test']}"
