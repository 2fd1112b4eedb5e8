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

import random
from pathlib import Path

from transformer.tasks.files import count_lines, data_folder, offline_datasets, quiet_datasets, read_text

MULTI30K_HUB_ID = "bentrevett/multi30k"
MULTI30K_FILES = {"train": "train", "validation": "val", "test": "test2016"}
SPLIT_NAMES = {"train": "train", "validation": "valid", "test": "test"}  # datasets' -> ours
TextPairs = list[tuple[str, str]]


def default_multi30k_path() -> Path | None:
    """The local Multi30k folder, `shared/data/multi30k` beside the repository, if it is there."""
    root = data_folder()
    folder = root / "multi30k" if root is not None else None
    return folder if folder is not None and (folder / "train.de").is_file() else None


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
        n_src, n_tgt = count_lines(src_path), count_lines(tgt_path)
        if n_src != n_tgt:
            longer, shorter = (src_path, tgt_path) if n_src > n_tgt else (tgt_path, src_path)
            raise ValueError(f"{longer}: line {min(n_src, n_tgt) + 1} has no partner line in {shorter} "
                             f"({max(n_src, n_tgt)} lines against {min(n_src, n_tgt)})")
    with quiet_datasets(), offline_datasets():
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

    with quiet_datasets():
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
    """Multi30k text pairs per split, from `hub_id` (the network), else the folder `path`, else the
    default folder beside the repository; with neither, one line says how to give one (no
    download happens unless `hub_id` asks for it)."""
    if hub_id is None and path is None:
        path = default_multi30k_path()
        if path is None:
            raise FileNotFoundError(f"no local Multi30k: give its folder with --task-option path=DIR, or download "
                                    f"it with --task-option hub_id={MULTI30K_HUB_ID}")
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
    lines = read_text(path).split("\n")
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
