"""Chapters open as notebooks made on demand from their Markdown: no second copy to keep in sync."""

import json
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from transformer import course  # noqa: E402

pytestmark = pytest.mark.walkthrough

CHAPTER = (
    "# 99 · A chapter\n\nProse with $x$.\n\n```python\na = 1\n\nb = a + 1\n```\n\n```bash\nls\n```\n\nMore.\n\n"
    "```python\nprint(b)\n```\n\n<!-- output -->\n```text\n2\n```\n\nThe end.\n"
)


def cells_of(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return notebook, [(cell["cell_type"], "".join(cell["source"])) for cell in notebook["cells"]]


def test_python_blocks_become_code_cells_output_blocks_are_dropped_and_everything_else_is_markdown(tmp_path):
    """Shell commands stay text: opening a chapter must not install or run anything by itself. A
    block's output is left out: the notebook prints its own when the cell runs."""
    chapter = tmp_path / "99_a_chapter.md"
    chapter.write_text(CHAPTER, encoding="utf-8")
    notebook, cells = cells_of(course.to_notebook(chapter, tmp_path / "out"))
    expected = [
        ("markdown", "# 99 · A chapter\n\nProse with $x$."),
        ("code", "a = 1\n\nb = a + 1"),
        ("markdown", "```bash\nls\n```\n\nMore."),
        ("code", "print(b)"),
        ("markdown", "The end."),
    ]
    assert cells == expected, f"cells {cells}, expected {expected}"
    found = (notebook["nbformat"], notebook["metadata"]["kernelspec"]["language"])
    assert found == (4, "python"), f"nbformat and kernel language are {found}, expected (4, 'python')"


@pytest.mark.parametrize("path", course.chapters(), ids=lambda p: p.stem)
def test_notebook_code_cells_are_exactly_the_blocks_the_tests_run(path, tmp_path):
    notebook, cells = cells_of(course.to_notebook(path, tmp_path))
    code = [source for kind, source in cells if kind == "code"]
    assert code == [block.rstrip("\n") for block in course.code_blocks(path.read_text(encoding="utf-8"))], (
        f"{path.name}: the notebook's code cells differ from the chapter's python blocks")
    marks = (course.OUTPUT_MARK, course.FULL_RUN_ONLY_MARK)
    copied = [source[:80] for _, source in cells if any(line.strip() in marks for line in source.splitlines())]
    assert not copied, f"{path.name}: output blocks copied into the notebook: {copied}"


def test_notebooks_are_valid_nbformat(tmp_path):
    import nbformat  # in the test extra

    for path in course.chapters()[:1]:
        notebook = nbformat.read(course.to_notebook(path, tmp_path), as_version=4)
        nbformat.validate(notebook)  # raises ValidationError on a malformed notebook
        assert notebook.cells, f"{path.name}: the notebook has no cells"


def test_notebook_command_writes_into_output(tmp_path, capsys):
    assert course.main(["--notebook", "00", "--output", str(tmp_path)]) == 0, "--notebook 00 failed"
    assert (tmp_path / "00_start_here.ipynb").is_file(), f"no notebook in {tmp_path}: {sorted(tmp_path.iterdir())}"
    out = capsys.readouterr().out
    assert "00_start_here.ipynb" in out, f"the command does not say where the notebook went: {out!r}"


def test_saved_figures_show_in_a_notebook_and_nowhere_else(monkeypatch, tmp_path):
    """In a Jupyter kernel a saved figure is also displayed (it is closed right after saving)."""
    first, second = plt.figure(), plt.figure()
    shown = []
    fake_ipython = types.ModuleType("IPython")
    fake_display = types.ModuleType("IPython.display")
    fake_display.display = shown.append
    kernel = types.SimpleNamespace(config={"IPKernelApp": {}})
    fake_ipython.get_ipython = lambda: kernel
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", fake_display)
    course.save_figure_to(first, tmp_path / "a.png")
    assert shown == [first], f"in a notebook kernel the saved figure was not displayed once: {shown}"
    kernel.config = {}  # IPython in a terminal: nothing to display into
    course.save_figure_to(second, tmp_path / "b.png")
    assert shown == [first], f"outside a notebook kernel a figure was displayed: {shown}"
