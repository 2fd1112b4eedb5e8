"""The course map: one box per chapter, in reading order and in its lane, titled and labelled."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from transformer.plotting.course_map import plot_course_map  # noqa: E402

pytestmark = pytest.mark.walkthrough

COURSE = [("00", "Start", "start"), ("01", "Tokens", "start"), ("02", "RNNs", "recurrent"), ("05", "Embeddings", "Transformer")]
BUILDS_ON = {"01": ["00"], "02": ["01"], "05": ["01"]}


def test_one_box_per_chapter_one_arrow_per_prerequisite_and_labelled_axes():
    fig = plot_course_map(COURSE, BUILDS_ON, {"01": 2, "02": 1})
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert (len(boxes), len(arrows)) == (len(COURSE), 3), (
        f"{len(boxes)} boxes and {len(arrows)} arrows, expected one box per chapter ({len(COURSE)}) and one arrow "
        f"per prerequisite (3)")
    texts = [t.get_text() for t in ax.texts]
    expected = ["00\nStart\n(reading)", "01\nTokens\n2 exercises", "02\nRNNs\n1 exercise", "05\nEmbeddings\n(reading)"]
    assert texts == expected, f"box labels {texts}, expected {expected}"
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == ["start", "recurrent", "Transformer"], f"lanes on the y axis: {lanes}"
    numbers = [t.get_text() for t in ax.get_xticklabels()]
    assert numbers == ["00", "01", "02", "05"], f"chapter numbers on the x axis: {numbers}"
    labels = (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
    assert all(labels), f"the title, x label and y label must all be set, got {labels}"
    plt.close(fig)


def test_a_prerequisite_that_is_not_drawn_is_refused_in_one_line():
    with pytest.raises(ValueError, match="builds_on names chapters that are not drawn: 03"):
        plot_course_map(COURSE, {"02": ["03"]})
