"""Spec for the recurrent chapters' plots: they draw what they are given and refuse mismatches."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from transformer.plotting.recurrent import (  # noqa: E402
    plot_accuracy_vs_length,
    plot_alignment,
    plot_alignments,
    plot_gradient_norms,
)

pytestmark = pytest.mark.recurrent


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_gradient_plot_is_log_scaled_with_one_line_per_model():
    fig = plot_gradient_norms([0, 1, 2], {"RNN": [1.0, 0.1, 0.01], "LSTM, forget bias +1": [1.0, 0.5, 0.25]})
    ax = fig.axes[0]
    assert (ax.get_yscale(), len(ax.lines)) == ("log", 2), (
        f"y scale {ax.get_yscale()!r} with {len(ax.lines)} lines, expected a log scale and one line per model (2)")
    labels = (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
    assert all(labels), f"the title, x label and y label must all be set, got {labels}"
    assert ax.lines[1].get_linestyle() == "--", "forget-bias variants are drawn dashed"


def test_accuracy_plot_shades_lengths_beyond_training():
    fig = plot_accuracy_vs_length([1, 2, 3, 4], {"LSTM": [1, 1, 0.5, 0.1]}, trained_up_to=2)
    ax = fig.axes[0]
    assert (len(ax.lines), len(ax.patches)) == (1, 1), (
        f"{len(ax.lines)} lines and {len(ax.patches)} shaded regions, expected one curve and one shaded region")
    low, high = ax.get_ylim()
    assert low < 0 < 1 < high, f"y limits ({low}, {high}) do not leave room around accuracies 0 and 1"


def test_alignment_rows_are_target_tokens_and_columns_source_tokens():
    weights = torch.softmax(torch.randn(3, 5), dim=-1)
    fig = plot_alignment(weights, list("abcde"), ["x", "y", "<eos>"])
    ax = fig.axes[0]
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns == list("abcde"), f"columns are labelled {columns}, expected the source tokens a..e"
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["x", "y", "<eos>"], f"rows are labelled {rows}, expected the target tokens x, y, <eos>"
    stacked = plot_alignments([(weights, list("abcde"), ["x", "y", "z"])] * 2, ["one", "two"])
    assert len(stacked.axes) == 2, f"two examples drew {len(stacked.axes)} panels, expected 2"


def test_mismatched_inputs_are_refused_with_the_sizes(runtime_checks):
    with pytest.raises(ValueError, match=r"weights are 3 x 5 \(target x source\), got 3 target and 4 source tokens"):
        plot_alignment(torch.rand(3, 5), list("abcd"), list("xyz"))
    with pytest.raises(ValueError, match=r"curve 'RNN' has \(2,\) values, expected \(3,\)"):
        plot_gradient_norms([0, 1, 2], {"RNN": [1.0, 0.1]})
    with pytest.raises(ValueError, match="one title per example"):
        plot_alignments([(torch.rand(1, 1), ["a"], ["x"])], [])
