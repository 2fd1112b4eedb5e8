"""The walkthrough runner: where figures go, quick settings for tests, running chapters, and the
output each code block prints.

Every chapter in `walkthrough/` is Markdown whose ```python blocks run top to bottom in one
namespace. `python -m transformer.course NN` runs chapter NN in full: it rewrites its figures in
`walkthrough/figures/`, and writes what each block prints into the Markdown, right under the
block, as a ```text block preceded by the line `<!-- output -->`:

    ```python
    print(causal_mask(3))
    ```

    <!-- output -->
    ```text
    tensor([[ True, False, False], ...
    ```

A block that prints nothing gets no output block. The runner finds its own output blocks by that
marker line and rewrites only them; never edit one by hand. A block whose output cannot be
compared in quick mode (below) is marked `<!-- output (full run only) -->` instead, by hand,
and the runner keeps that mark.

What the test suite checks, and how (tests/test_walkthrough.py):

- *Quick mode, every chapter, every run.* The tests run each chapter with tiny settings (fewer
  examples, steps and epochs: `scale(full, quick)`), so its numbers differ from the full run's
  and a loop may print fewer lines. What must not differ is the text: each block's output is
  compared with the committed one after `mask_numbers` (every number, or run of numbers, becomes
  `#`; spaces are squeezed; repeated lines count once). A changed message, a new or missing
  print, or a block that prints but shows no output fails. Blocks marked "full run only" are
  left out of this check.
- *Full run, the chapters that run in well under a minute (`slow`, `pytest --slow`).* The chapter
  runs with its real settings and each block's output must equal the committed one: the text
  exactly, each number to its printed precision (a number printed with decimals may differ by
  one unit in its last printed digit, an integer not at all). Longer chapters are checked in
  quick mode only; `--check` below compares them in full by hand.

Outputs are those of a CPU run (`device="auto"` picks a GPU where there is one, and a GPU's
numbers differ in their last digits). Every chapter seeds its random numbers, so a full run on
the same machine prints the same text every time.

`python -m transformer.course NN --check` runs the chapter and compares instead of writing
(exactly, or with numbers masked when `--quick` is given too); `--quick` alone runs with tiny
settings and never writes outputs, which would show a tiny run's numbers.
`python -m transformer.course --notebook NN` writes a chapter as a Jupyter notebook, made from the
Markdown on demand, so there is no second copy to keep in sync; its output blocks are left out
(the notebook prints its own).
"""

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from transformer.plotting.save import save_figure_to

FIGURES_ENV = "TRANSFORMER_FIGURES_DIR"
QUICK_ENV = "TRANSFORMER_QUICK"
MASK_ENV = "TRANSFORMER_CHECK_MASKED"  # "1": `--check` a full run with its numbers masked (another CPU)

OUTPUT_MARK = "<!-- output -->"
FULL_RUN_ONLY_MARK = "<!-- output (full run only) -->"

_CODE_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
# a python block and, right under it (after one blank line), the output block the runner wrote
_BLOCK_AND_OUTPUT = re.compile(
    r"^```python[^\n]*\n(?P<code>.*?)^```[ \t]*\n"
    r"(?P<output>\n(?P<mark><!-- output(?: \(full run only\))? -->)\n```text\n(?P<text>.*?)^```[ \t]*\n)?",
    re.DOTALL | re.MULTILINE,
)
# a number as printed: optional sign, digits (maybe grouped by commas), decimals, exponent
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")


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


class _Tee(io.TextIOBase):
    """Writes to a buffer, and to `echo` as well when one is given."""

    def __init__(self, echo=None):
        self.buffer_ = io.StringIO()
        self.echo = echo

    def write(self, text: str) -> int:
        self.buffer_.write(text)
        if self.echo is not None:
            self.echo.write(text)
            self.echo.flush()
        return len(text)


def run_chapter(path: Path, outputs: list[str] | None = None, echo: bool = False) -> dict:
    """Execute every python block of the chapter at `path` in one namespace; return it.

    With a list as `outputs`, what each block prints is captured and appended to it, one string
    per block (also shown as it comes with `echo=True`). An error names the chapter and the block
    (1-based) it came from.
    """
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {"__name__": f"walkthrough_{path.stem}"}
    for number, block in enumerate(code_blocks(path.read_text(encoding="utf-8")), start=1):
        code = compile(block, f"{path.name} [block {number}]", "exec")
        if outputs is None:
            exec(code, namespace)  # noqa: S102 - the chapters are this project's own code
            continue
        tee = _Tee(sys.stdout if echo else None)
        with contextlib.redirect_stdout(tee):
            exec(code, namespace)  # noqa: S102
        outputs.append(tee.buffer_.getvalue())
    return namespace


# ---------------------------------------------------------------------------------------------
# Output blocks


@dataclass(frozen=True)
class Output:
    """The committed output under one python block: its text and whether quick mode checks it."""

    text: str
    full_run_only: bool = False


def _clean(text: str) -> str:
    """Output as it is written into a chapter: trailing spaces and blank ends dropped."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines()).strip("\n")


def committed_outputs(markdown: str) -> list[Output | None]:
    """For each python block of a chapter, in order, the output block under it (None if none)."""
    found = []
    for match in _BLOCK_AND_OUTPUT.finditer(markdown):
        if match.group("output") is None:
            found.append(None)
        else:
            found.append(Output(_clean(match.group("text")), match.group("mark") == FULL_RUN_ONLY_MARK))
    return found


def write_outputs(markdown: str, outputs: list[str]) -> str:
    """`markdown` with each python block's output block replaced by `outputs` (one per block,
    in order; an empty one removes the block). A "full run only" mark is kept."""
    matches = list(_BLOCK_AND_OUTPUT.finditer(markdown))
    if len(matches) != len(outputs):
        raise ValueError(f"write_outputs: expected {len(matches)} outputs (one per python block), got {len(outputs)}")
    pieces, position = [], 0
    for match, output in zip(matches, outputs):
        text = _clean(output)
        if "```" in text:
            raise ValueError(f"write_outputs: an output holds ``` and would end its block early: {text[:80]!r}")
        mark = match.group("mark") or OUTPUT_MARK
        end_of_code = match.start("output") if match.group("output") is not None else match.end()
        pieces.append(markdown[position:end_of_code])
        if text:
            pieces.append(f"\n{mark}\n```text\n{text}\n```\n")
        position = match.end()
    pieces.append(markdown[position:])
    return "".join(pieces)


def mask_numbers(text: str) -> str:
    """The text of an output without its numbers, as quick mode compares it: each number, or run
    of numbers separated by spaces and commas, becomes `#`; runs of spaces shrink to one; a line
    repeated right after itself counts once (a loop that prints fewer lines in quick mode)."""
    masked = _NUMBER.sub("#", _clean(text))
    masked = re.sub(r"#(?:[ \t,]*#)+", "#", masked)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in masked.splitlines()]
    return "\n".join(line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1])


ROUND_OFF = 1e-12  # a printed difference this small says "equal up to float rounding", whatever its digits


def _numbers_agree(printed: str, expected: str) -> bool:
    """Two printed numbers agree if equal, or (with decimals) within one unit of the last digit, or
    if both are float round-off (below `ROUND_OFF`, whose digits depend on the CPU's kernels)."""
    if printed == expected:
        return True
    if max(abs(float(printed.replace(",", ""))), abs(float(expected.replace(",", "")))) < ROUND_OFF:
        return True
    mantissa, _, exponent = expected.replace(",", "").lower().partition("e")
    if "." not in mantissa and not exponent:
        return False
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (int(exponent or 0) - decimals)
    return abs(float(printed.replace(",", "")) - float(expected.replace(",", ""))) <= unit * 1.0000001


def output_difference(actual: str, expected: str, quick: bool) -> str | None:
    """Why `actual` (what a block printed) does not match `expected` (the committed output), or
    None when it does: with numbers masked in quick mode, else exactly but for each number's
    last printed digit."""
    actual, expected = _clean(actual), _clean(expected)
    if quick:
        a, e = mask_numbers(actual), mask_numbers(expected)
        if a == e:
            return None
        return f"text differs with numbers masked as #: {_first_line_that_differs(a, e)}"
    if _NUMBER.split(actual) != _NUMBER.split(expected):
        return f"text differs: {_first_line_that_differs(actual, expected)}"
    for printed, committed in zip(_NUMBER.findall(actual), _NUMBER.findall(expected)):
        if not _numbers_agree(printed, committed):
            return f"printed {printed} where the chapter shows {committed} (beyond its printed precision)"
    return None


def _first_line_that_differs(actual: str, expected: str) -> str:
    got, want = actual.splitlines(), expected.splitlines()
    for number, (a, e) in enumerate(zip(got, want), start=1):
        if a != e:
            return f"line {number} is {a!r}, the chapter shows {e!r}"
    if len(got) > len(want):
        return f"{len(got) - len(want)} more line(s) than the chapter shows, from {got[len(want)]!r}"
    return f"{len(want) - len(got)} line(s) fewer than the chapter shows, from {want[len(got)]!r}"


def check_outputs(path: Path, outputs: list[str], quick: bool, missing_ok: bool = False,
                  masked: bool = False) -> list[str]:
    """Every way the outputs a run printed differ from those committed in chapter `path`, one line
    each ("block 3 (line 120): ..."); an empty list when they all match. With `missing_ok`, a
    block that prints but shows no output block is not reported (a chapter not yet run in full).
    With `masked`, a full run's numbers are masked too (another CPU than the one that printed them:
    a model trained there ends a few per cent apart), but every block is still compared."""
    markdown = path.read_text(encoding="utf-8")
    committed = committed_outputs(markdown)
    lines = [markdown[: m.start()].count("\n") + 1 for m in _BLOCK_AND_OUTPUT.finditer(markdown)]
    if len(outputs) != len(committed):
        return [f"{path.name}: {len(outputs)} outputs for {len(committed)} python blocks"]
    problems = []
    for number, (printed, shown, line) in enumerate(zip(outputs, committed, lines), start=1):
        where = f"{path.name} block {number} (line {line})"
        if shown is None:
            if _clean(printed) and not missing_ok:
                problems.append(f"{where} prints {_clean(printed).splitlines()[0]!r}... but the chapter shows no output "
                                f"block: run `python -m transformer.course {path.name[:2]}`")
            continue
        if quick and shown.full_run_only:
            continue
        if not _clean(printed):
            problems.append(f"{where} prints nothing, but the chapter shows an output block")
            continue
        difference = output_difference(printed, shown.text, quick or masked)
        if difference:
            problems.append(f"{where}: {difference}")
    return problems


def update_outputs(path: Path, ran: list[str], outputs: list[str]) -> None:
    """Write `outputs` into chapter `path`, provided its code is still the code `ran` (the file
    may have been edited while the chapter ran; then nothing is written)."""
    markdown = path.read_text(encoding="utf-8")
    if code_blocks(markdown) != ran:
        raise ValueError(f"{path.name}: its code changed while it ran; outputs not written, run it again")
    updated = write_outputs(markdown, outputs)
    if updated != markdown:
        path.write_text(updated, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Chapters and notebooks


def chapters(directory: Path | None = None) -> list[Path]:
    """The chapter files, in course order (their names start with the chapter number)."""
    directory = directory or walkthrough_dir()
    return sorted(p for p in directory.glob("[0-9][0-9]_*.md"))


def to_notebook(path: Path, directory: Path | None = None) -> Path:
    """Write chapter `path` as a Jupyter notebook (default: beside the chapter, so its links and
    figures resolve). Each ```python block becomes a code cell, the same blocks `run_chapter`
    runs; its output block is dropped (running the cell prints it); everything else (prose,
    equations, shell commands) becomes Markdown cells."""
    text = path.read_text(encoding="utf-8")
    cells, position = [], 0
    for match in _BLOCK_AND_OUTPUT.finditer(text):
        cells += [_cell("markdown", text[position : match.start()]), _cell("code", match.group("code"))]
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
        description="Run walkthrough chapters in full; rewrite their figures and the output under each code block.",
    )
    parser.add_argument("names", nargs="*", help="chapter numbers or file names (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings, as the tests run them (outputs are never written)")
    parser.add_argument("--check", action="store_true",
                        help="compare the outputs with the chapter's instead of writing them")
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
    failed = False
    for path in selected:
        start = time.perf_counter()
        ran = code_blocks(path.read_text(encoding="utf-8"))
        outputs: list[str] = []
        run_chapter(path, outputs, echo=not (args.check or args.quick))
        elapsed = time.perf_counter() - start
        if args.check or args.quick:
            masked = os.environ.get(MASK_ENV) == "1"
            problems = check_outputs(path, outputs, quick=quick_mode(), masked=masked)
            failed = failed or bool(problems)
            how = "numbers masked" if quick_mode() or masked else "to the printed precision"
            verdict = "outputs match" if not problems else f"{len(problems)} outputs differ"
            print(f"{path.name}: ran in {elapsed:.1f}s, {verdict} ({how})", *problems, sep="\n  ")
        else:
            update_outputs(path, ran, outputs)
            print(f"{path.name}: ran in {elapsed:.1f}s, figures in {figures_dir()}, outputs written into {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
