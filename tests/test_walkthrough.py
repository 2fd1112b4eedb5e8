"""Every walkthrough chapter's code runs (in quick mode), so prose and package cannot drift."""

import pytest

from transformer import course
from transformer.course.syllabus import CHAPTERS



def _params():
    for path in course.chapters():
        marks = [pytest.mark.walkthrough]
        chapter = next((c for c in CHAPTERS if c.stem == path.stem), None)
        assert chapter is not None, f"{path.name} is not in transformer/course/syllabus.py"
        if chapter.marker != "walkthrough":
            marks.append(getattr(pytest.mark, chapter.marker))
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_chapter_code_runs(path, tmp_path, monkeypatch):
    """Each ```python block of the chapter runs without error, top to bottom."""
    monkeypatch.setenv(course.QUICK_ENV, "1")
    monkeypatch.setenv(course.FIGURES_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    namespace = course.run_chapter(path)
    assert namespace, f"{path.name} has no python block to run"
    assert list(tmp_path.glob("*.png")), f"{path.name} saved no figure"


def test_code_blocks_are_extracted_in_order():
    """The runner sees exactly the python blocks, in order, and skips other languages."""
    text = "# t\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert course.code_blocks(text) == ["a = 1\n", "b = a + 1\n"]
