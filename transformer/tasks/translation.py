"""Real sentence pairs: Multi30k German -> English, and Tatoeba-style tab-separated files.

Chapter: walkthrough/01_tokens_and_batches.md.

Multi30k (Elliott et al. 2016; 29,000 / 1,014 / 1,000 image captions) is read through Hugging
Face `datasets`, either by hub id (`bentrevett/multi30k`, needs the network) or from a local
folder of `train.{de,en}`, `val.{de,en}`, `test2016.{de,en}` text files, one sentence per
line, line i of `X.de` translating line i of `X.en`. Both ways end in the same
`DatasetDict` (splits train / validation / test, one column per language), and one function
turns that into pairs, so the local files and the hub copy cannot be read differently.

Files of pairs in the Tatoeba / manythings.org format, `English<TAB>Other[<TAB>attribution]`,
are read line by line (a sentence may contain characters a CSV reader would treat as quotes),
in either direction, and split by seed.

The text is kept raw here (no lowercasing, no tokenizing): the tokenizer works on it later,
and the raw target lines are the references BLEU is computed against. Malformed input is
refused with one line naming the file and line; a file that is not UTF-8 too. A UTF-8
byte-order mark (U+FEFF, which some editors write at the start of a file) is dropped from the
first line, never read as part of the first sentence.

Local files never reach the network: a local folder is read through `datasets` in its offline
mode (which it would otherwise leave to ping the hub and count a download). Only a hub id goes
online.
"""

import codecs
import contextlib
import os
import random
from pathlib import Path

MULTI30K_HUB_ID = "bentrevett/multi30k"
MULTI30K_FILES = {"train": "train", "validation": "val", "test": "test2016"}
SPLIT_NAMES = {"train": "train", "validation": "valid", "test": "test"}  # datasets' -> ours
TextPairs = list[tuple[str, str]]


def default_multi30k_path() -> Path | None:
    """The local Multi30k folder, `shared/data/multi30k` beside the repository, if it is there."""
    repo = Path(__file__).resolve().parents[2]
    for base in (repo.parent, repo, Path.cwd().parent, Path.cwd()):
        folder = base / "shared" / "data" / "multi30k"
        if (folder / "train.de").is_file():
            return folder
    return None


def _read_text(path) -> str:
    """The text of a UTF-8 file, as `open(path, encoding="utf-8").read()` gives it (universal
    newlines), without the byte-order mark a file may start with.

    A byte that is not UTF-8 is refused with one line naming the file, the line and the column.
    """
    data = Path(path).read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = _universal_newlines(data[: error.start].decode("utf-8"))
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise ValueError(f"{path}: line {line}, column {column}: expected UTF-8 text, got byte "
                         f"0x{data[error.start]:02x} ({error.reason}); save the file as UTF-8") from None
    return _universal_newlines(text)


def _universal_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _count_lines(path: Path) -> int:
    """Lines in a UTF-8 text file, counted as iterating over the open file counts them."""
    text = _read_text(path)
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


@contextlib.contextmanager
def _offline_datasets():
    """A context in which `datasets` and the hub client are in offline mode (restored afterwards).

    Loading local files then opens no connection: outside it, `datasets` sends a request to count
    a download even for local files (and would try the hub for anything it cannot find locally).
    `datasets` reads its switches from the environment once, when it is imported, and from its
    `config` module at each call: both are set, so the context holds whatever has been imported.
    """
    import datasets
    import huggingface_hub.constants

    switches = [(datasets.config, "HF_HUB_OFFLINE", True), (datasets.config, "HF_DATASETS_OFFLINE", True),
                (datasets.config, "HF_UPDATE_DOWNLOAD_COUNTS", False),
                (huggingface_hub.constants, "HF_HUB_OFFLINE", True)]
    switches = [(module, name, value) for module, name, value in switches if hasattr(module, name)]
    saved_attributes = [(module, name, getattr(module, name)) for module, name, _ in switches]
    saved_environment = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    try:
        for module, name, value in switches:
            setattr(module, name, value)
        os.environ.update({name: "1" for name in saved_environment})
        yield
    finally:
        for module, name, value in saved_attributes:
            setattr(module, name, value)
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_datasets():
    """A context in which `datasets` shows no progress bars or info logs (restored afterwards)."""
    import datasets

    bars_were_off, verbosity = datasets.are_progress_bars_disabled(), datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        yield
    finally:
        if not bars_were_off:
            datasets.enable_progress_bars()
        datasets.logging.set_verbosity(verbosity)


def load_parallel_folder(folder, src_lang: str = "de", tgt_lang: str = "en", cache_dir=None):
    """A `DatasetDict` (train / validation / test; columns `src_lang`, `tgt_lang`) from text files.

    The files are `train`, `val` and `test2016` with the two language suffixes, read by the
    `datasets` "text" builder: one row per line, the line break removed, nothing else changed
    (but a byte-order mark at the start of a file, which is dropped). Offline: no connection
    is opened. A file that is not UTF-8 is refused with its name, line and column.
    """
    import datasets

    folder = Path(folder)
    files = {}
    for split, stem in MULTI30K_FILES.items():
        for lang in (src_lang, tgt_lang):
            path = folder / f"{stem}.{lang}"
            if not path.is_file():
                raise FileNotFoundError(f"missing file {path} (a Multi30k folder holds "
                                        f"{{train,val,test2016}}.{{{src_lang},{tgt_lang}}})")
            files[f"{split}_{lang}"] = str(path)
        src_path, tgt_path = folder / f"{stem}.{src_lang}", folder / f"{stem}.{tgt_lang}"
        n_src, n_tgt = _count_lines(src_path), _count_lines(tgt_path)
        if n_src != n_tgt:
            longer, shorter = (src_path, tgt_path) if n_src > n_tgt else (tgt_path, src_path)
            raise ValueError(f"{longer}: line {min(n_src, n_tgt) + 1} has no partner line in {shorter} "
                             f"({max(n_src, n_tgt)} lines against {min(n_src, n_tgt)})")
    with _quiet_datasets(), _offline_datasets():
        # utf-8-sig: UTF-8 that drops a byte-order mark at the very start of a file, nowhere else
        lines = datasets.load_dataset("text", data_files=files, cache_dir=cache_dir, encoding="utf-8-sig")
    return datasets.DatasetDict({
        split: datasets.concatenate_datasets(
            [lines[f"{split}_{lang}"].rename_column("text", lang) for lang in (src_lang, tgt_lang)], axis=1
        )
        for split in MULTI30K_FILES
    })


def load_hub_dataset(hub_id: str = MULTI30K_HUB_ID, cache_dir=None):
    """The `DatasetDict` of a hub dataset laid out like Multi30k (splits train / validation / test)."""
    import datasets

    with _quiet_datasets():
        return datasets.load_dataset(hub_id, cache_dir=cache_dir)


def pairs_from_dataset_dict(dataset_dict, src_lang: str, tgt_lang: str, origin: str,
                            folder: bool = False) -> dict[str, TextPairs]:
    """(source, target) text pairs per split ("train", "valid", "test") of a Multi30k-like DatasetDict.

    `origin` names where the rows came from in error messages: a hub id, or a folder of
    Multi30k files if `folder`.
    """
    pairs = {}
    for split, ours in SPLIT_NAMES.items():
        if split not in dataset_dict:
            raise ValueError(f"{origin}: expected a {split!r} split, got {sorted(dataset_dict)}")
        table = dataset_dict[split]
        for lang in (src_lang, tgt_lang):
            if lang not in table.column_names:
                raise ValueError(f"{origin}: expected a column {lang!r} in split {split!r}, got {table.column_names}")
        columns = table.select_columns([src_lang, tgt_lang]).to_dict()  # whole columns at once: fast
        sources, targets = columns[src_lang], columns[tgt_lang]
        for i, (src, tgt) in enumerate(zip(sources, targets)):
            for lang, text in ((src_lang, src), (tgt_lang, tgt)):
                if not text or not text.strip():
                    if folder:
                        raise ValueError(f"{Path(origin) / MULTI30K_FILES[split]}.{lang}: line {i + 1}: empty sentence")
                    raise ValueError(f"{origin}: split {split!r}, row {i + 1}: empty {lang!r} sentence")
        pairs[ours] = list(zip(sources, targets))
    return pairs


def load_multi30k(path=None, hub_id: str | None = None, src_lang: str = "de", tgt_lang: str = "en",
                  cache_dir=None) -> dict[str, TextPairs]:
    """Multi30k text pairs per split, from `hub_id`, else the folder `path`, else the default folder, else the hub."""
    if hub_id is None and path is None:
        path = default_multi30k_path()
        if path is None:
            hub_id = MULTI30K_HUB_ID
    if hub_id is not None:
        return pairs_from_dataset_dict(load_hub_dataset(hub_id, cache_dir), src_lang, tgt_lang, hub_id)
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"missing folder {folder} (expected Multi30k's {{train,val,test2016}}.{{de,en}} files)")
    dataset_dict = load_parallel_folder(folder, src_lang, tgt_lang, cache_dir)
    return pairs_from_dataset_dict(dataset_dict, src_lang, tgt_lang, str(folder), folder=True)


def read_pairs_file(path, direction: str = "to_english") -> TextPairs:
    """(source, target) pairs from a `English<TAB>Other[<TAB>attribution]` file.

    `direction="to_english"` translates the other language into English (source = column 2),
    `"from_english"` the reverse. A blank final line is allowed; any other line must hold 2 or
    3 tab-separated columns with non-empty sentences. The file must be UTF-8; a byte-order mark
    at its start is dropped.
    """
    if direction not in ("to_english", "from_english"):
        raise ValueError(f"pairs: expected direction 'to_english' or 'from_english', got {direction!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path} (expected English<TAB>Other[<TAB>attribution] lines)")
    lines = _read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    pairs = []
    for number, line in enumerate(lines, start=1):
        columns = line.split("\t")
        if len(columns) not in (2, 3):
            raise ValueError(f"{path}: line {number}: expected 2 or 3 tab-separated columns "
                             f"(English<TAB>Other[<TAB>attribution]), got {len(columns)}")
        english, other = columns[0], columns[1]
        if not english.strip() or not other.strip():
            raise ValueError(f"{path}: line {number}: empty sentence")
        pairs.append((other, english) if direction == "to_english" else (english, other))
    if not pairs:
        raise ValueError(f"{path}: no sentence pairs in the file")
    return pairs


def split_pairs(pairs: TextPairs, valid_fraction: float = 0.05, test_fraction: float = 0.05,
                seed: int = 0) -> dict[str, TextPairs]:
    """Shuffle `pairs` by `seed` and cut test, validation and training sets (each non-empty)."""
    for name, fraction in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"pairs: expected {name} in (0, 1), got {fraction}")
    n_test = max(1, round(test_fraction * len(pairs)))
    n_valid = max(1, round(valid_fraction * len(pairs)))
    if n_test + n_valid >= len(pairs):
        raise ValueError(f"pairs: {len(pairs)} pairs cannot give {n_test} test, {n_valid} validation "
                         "and any training pairs; use a larger file or smaller fractions")
    order = list(range(len(pairs)))
    random.Random(f"pairs/{seed}").shuffle(order)
    pick = lambda part: [pairs[i] for i in part]  # noqa: E731
    return {"train": pick(order[n_test + n_valid :]), "valid": pick(order[n_test : n_test + n_valid]),
            "test": pick(order[:n_test])}
