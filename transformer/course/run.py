"""The walkthrough runner: where figures go, quick settings for tests, running chapters.

Every chapter in `walkthrough/` is Markdown whose ```python blocks run top to bottom in one
namespace. The test suite runs them all in *quick* mode (tiny step counts), so a chapter cannot
rot; `python -m transformer.course` runs them in full and rewrites `walkthrough/figures/`.
`python -m transformer.course --notebook NN` writes a chapter as a Jupyter notebook, made from the
Markdown on demand, so there is no second copy to keep in sync.
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from transformer.plotting.save import save_figure_to

FIGURES_ENV = "TRANSFORMER_FIGURES_DIR"
QUICK_ENV = "TRANSFORMER_QUICK"

_CODE_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def quick_mode() -> bool:
    """True while the test suite runs the chapters (tiny settings, same code)."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def scale(full, quick):
    """`full` when a chapter runs for real, `quick` when the test suite runs it."""
    return quick if quick_mode() else full


def walkthrough_dir() -> Path:
    """The `walkthrough/` folder of the checkout this package was installed from."""
    return Path(__file__).resolve().parents[2] / "walkthrough"


def figures_dir() -> Path:
    """Where chapters save figures: $TRANSFORMER_FIGURES_DIR, else `walkthrough/figures/`."""
    configured = os.environ.get(FIGURES_ENV)
    if configured:
        path = Path(configured)
    elif walkthrough_dir().is_dir():
        path = walkthrough_dir() / "figures"
    else:
        path = Path.cwd() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, name: str) -> Path:
    """Save a matplotlib figure under `figures_dir()` and close it; return the path."""
    return save_figure_to(fig, figures_dir() / name)


def code_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a chapter, in order."""
    return [match.group(1) for match in _CODE_BLOCK.finditer(markdown)]


def run_chapter(path: Path) -> dict:
    """Execute every python block of the chapter at `path` in one namespace; return it.

    An error names the chapter and the block (1-based) it came from.
    """
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {"__name__": f"walkthrough_{path.stem}"}
    for number, block in enumerate(code_blocks(path.read_text(encoding="utf-8")), start=1):
        code = compile(block, f"{path.name} [block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - the chapters are this project's own code
    return namespace


def chapters(directory: Path | None = None) -> list[Path]:
    """The chapter files, in course order (their names start with the chapter number)."""
    directory = directory or walkthrough_dir()
    return sorted(p for p in directory.glob("[0-9][0-9]_*.md"))


def to_notebook(path: Path, directory: Path | None = None) -> Path:
    """Write chapter `path` as a Jupyter notebook (default: beside the chapter, so its links and
    figures resolve). Each ```python block becomes a code cell, the same blocks `run_chapter`
    runs; everything between them (prose, equations, shell commands) becomes Markdown cells."""
    text = path.read_text(encoding="utf-8")
    cells, position = [], 0
    for match in _CODE_BLOCK.finditer(text):
        cells += [_cell("markdown", text[position : match.start()]), _cell("code", match.group(1))]
        position = match.end()
    cells.append(_cell("markdown", text[position:]))
    notebook = {
        "cells": [cell for cell in cells if cell["source"]],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    target = Path(directory or path.parent) / f"{path.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def _cell(kind: str, text: str) -> dict:
    source = text.strip("\n").splitlines(keepends=True)
    if kind == "markdown":
        return {"cell_type": "markdown", "metadata": {}, "source": source}
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m transformer.course",
        description="Run walkthrough chapters in full and rewrite their figures.",
    )
    parser.add_argument("names", nargs="*", help="chapter numbers or file names (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny settings, as the tests run them")
    parser.add_argument("--notebook", action="store_true", help="write the chapters as .ipynb notebooks instead")
    parser.add_argument("--output", type=Path, help="folder for the notebooks (default: walkthrough/)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    selected = [p for p in chapters() if not args.names or any(p.name.startswith(n) for n in args.names)]
    if not selected:
        print(f"error: no chapter matches {args.names} in {walkthrough_dir()}", file=sys.stderr)
        return 2
    if args.notebook:
        for path in selected:
            print(f"{path.name}: notebook {to_notebook(path, args.output)}")
        return 0
    for path in selected:
        start = time.perf_counter()
        run_chapter(path)
        print(f"{path.name}: ran in {time.perf_counter() - start:.1f}s, figures in {figures_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
