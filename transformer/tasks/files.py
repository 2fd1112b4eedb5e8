"""Reading the user's files: UTF-8 with the file and line named on error, no byte-order mark,
the course's data folder found beside the repository, and HF `datasets` kept offline for local files.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

BOM = "\ufeff"


def read_text_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number, line without its line break) for each line of a text file.

    A byte sequence that is not valid in `encoding` is refused with the file and the line it is
    on; a UTF-8 byte-order mark at the start of the file is dropped, never read as text.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}: line {number}: not {encoding} ({error.reason} at byte {error.start} "
                                 f"of the line)") from None
            if number == 1 and line.startswith(BOM):
                line = line[1:]
            yield number, line.rstrip("\r\n")


def data_folder() -> Path | None:
    """`shared/data` beside the repository (or the current folder), if it is there."""
    repo = Path(__file__).resolve().parents[2]
    for base in (repo.parent, repo, Path.cwd().parent, Path.cwd()):
        folder = base / "shared" / "data"
        if folder.is_dir():
            return folder
    return None


def local_data_path(name: str, marker_file: str) -> Path:
    """The folder `shared/data/<name>` that holds `marker_file`, or one clear line saying where to put it."""
    root = data_folder()
    folder = root / name if root is not None else None
    if folder is None or not (folder / marker_file).is_file():
        raise FileNotFoundError(f"no local copy of {name}: expected shared/data/{name}/{marker_file} beside the "
                                "repository; give the folder or file with --task-option path=...")
    return folder


@contextlib.contextmanager
def offline_datasets():
    """HF `datasets` (and the hub client under it) in offline mode, for loading local files.

    Reading a local CSV or text file needs no network, but the library may still look up the hub
    (to count downloads or resolve a builder); in offline mode it does not. The previous settings
    are restored afterwards.
    """
    import datasets

    names = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    saved_env = {name: os.environ.get(name) for name in names}
    saved_config = getattr(datasets.config, "HF_DATASETS_OFFLINE", None)
    bars_were_off, verbosity = datasets.are_progress_bars_disabled(), datasets.logging.get_verbosity()
    os.environ.update({name: "1" for name in names})
    datasets.config.HF_DATASETS_OFFLINE = True
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        datasets.config.HF_DATASETS_OFFLINE = saved_config
        if not bars_were_off:
            datasets.enable_progress_bars()
        datasets.logging.set_verbosity(verbosity)
