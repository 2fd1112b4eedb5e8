"""Reading the user's files: UTF-8 with the file, line and column named on error, no byte-order
mark, the course's data folder found beside the repository, and HF `datasets` kept offline (and
quiet) while it loads local files: nothing here goes on the network unless asked.
"""

import codecs
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def read_text(path) -> str:
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


def count_lines(path: Path) -> int:
    """Lines in a UTF-8 text file, counted as iterating over the open file counts them."""
    text = read_text(path)
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


@contextlib.contextmanager
def offline_datasets():
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
def quiet_datasets():
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


def read_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its line break) for each line of a UTF-8 text file (see `read_text`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    yield from enumerate(lines, start=1)


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
