"""Spec for transformer/plotting/decoding.py: the beam tree draws each distinct prefix once and
the timing plot shows the numbers it was given (chapter 10 builds its figures from these)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from transformer.plotting.decoding import plot_beam_tree, plot_decoding_time  # noqa: E402

pytestmark = pytest.mark.walkthrough

HYPOTHESES = [
    ["five", "hundred", "and", "nine", "<eos>"],
    ["five", "hundred", "and", "nineteen", "<eos>"],
    ["five", "hundred", "nine", "<eos>"],
]
SCORES = [-0.9, -1.9, -2.5]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _node_labels(fig: Figure) -> list[str]:
    """The tokens drawn as boxed tree nodes (the leaf notes have no box)."""
    return [t.get_text() for t in fig.axes[0].texts if t.get_bbox_patch() is not None]


def test_beam_tree_draws_each_distinct_prefix_once():
    """Shared prefixes are one node: 3 hypotheses with 5 + 2 + 2 new tokens give 9 nodes + the start."""
    fig = plot_beam_tree(HYPOTHESES, SCORES)
    labels = _node_labels(fig)
    assert len(labels) == 1 + 5 + 2 + 2, f"expected 10 nodes (start + distinct prefixes), got {len(labels)}: {labels}"
    assert labels.count("five") == 1 and labels.count("hundred") == 1, f"shared prefix drawn twice: {labels}"


def test_beam_tree_puts_the_best_hypothesis_on_the_top_row_and_labels_every_leaf():
    """The best hypothesis is a straight line at y = 0; each hypothesis gets its score at its end."""
    fig = plot_beam_tree(HYPOTHESES, SCORES, log_probs=[-1.2, -2.5, -3.0])
    ax = fig.axes[0]
    best_row = [t for t in ax.texts if t.get_bbox_patch() is not None and t.get_position()[1] == 0]
    assert [t.get_text() for t in best_row] == ["<bos>"] + HYPOTHESES[0], "top row is not the best hypothesis"
    notes = [t.get_text() for t in ax.texts if t.get_bbox_patch() is None]
    for score, log_prob in zip(SCORES, [-1.2, -2.5, -3.0]):
        assert any(f"score {score:.3f}" in n and f"log P {log_prob:.3f}" in n for n in notes), f"no note for {score}: {notes}"
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), "the tree needs a title and labelled axes"


def test_decoding_time_plot_shows_times_and_their_ratio():
    """Left panel: the seconds as given; right panel: uncached / cached, point by point."""
    lengths, cached, uncached = [8, 16, 32, 64], [0.01, 0.02, 0.04, 0.08], [0.02, 0.06, 0.2, 0.7]
    fig = plot_decoding_time(lengths, cached, uncached)
    left, right = fig.axes
    plotted = {tuple(np.round(line.get_ydata(), 6)) for line in left.lines}
    assert tuple(cached) in plotted and tuple(uncached) in plotted, f"time lines not as given: {plotted}"
    ratio = right.lines[0].get_ydata()
    np.testing.assert_allclose(ratio, np.array(uncached) / np.array(cached), err_msg="speed-up is not uncached / cached")
    for ax in (left, right):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), "each panel needs a title and labelled axes"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: plot_beam_tree([], []), "at least one hypothesis"),
        (lambda: plot_beam_tree(HYPOTHESES, SCORES[:2]), "expected 3 scores"),
        (lambda: plot_beam_tree(HYPOTHESES, SCORES, log_probs=[0.0]), "expected 3 log_probs"),
        (lambda: plot_decoding_time([8, 16], [0.1], [0.2, 0.3]), "expected 2 cached_seconds"),
        (lambda: plot_decoding_time([8, 16], [0.1, 0.2], [0.2, 0.0]), "expected positive uncached_seconds"),
        (lambda: plot_decoding_time([], [], []), "non-empty"),
    ],
)
def test_bad_input_is_refused_with_one_clear_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value), f"the message should be one line: {error.value}"
