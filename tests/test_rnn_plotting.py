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
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.lines[1].get_linestyle() == "--", "forget-bias variants are drawn dashed"


def test_accuracy_plot_shades_lengths_beyond_training():
    fig = plot_accuracy_vs_length([1, 2, 3, 4], {"LSTM": [1, 1, 0.5, 0.1]}, trained_up_to=2)
    ax = fig.axes[0]
    assert len(ax.lines) == 1 and len(ax.patches) == 1
    assert ax.get_ylim()[0] < 0 < 1 < ax.get_ylim()[1]


def test_alignment_rows_are_target_tokens_and_columns_source_tokens():
    weights = torch.softmax(torch.randn(3, 5), dim=-1)
    fig = plot_alignment(weights, list("abcde"), ["x", "y", "<eos>"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcde")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "<eos>"]
    stacked = plot_alignments([(weights, list("abcde"), ["x", "y", "z"])] * 2, ["one", "two"])
    assert len(stacked.axes) == 2


def test_mismatched_inputs_are_refused_with_the_sizes(runtime_checks):
    with pytest.raises(ValueError, match=r"weights are 3 x 5 \(target x source\), got 3 target and 4 source tokens"):
        plot_alignment(torch.rand(3, 5), list("abcd"), list("xyz"))
    with pytest.raises(ValueError, match=r"curve 'RNN' has \(2,\) values, expected \(3,\)"):
        plot_gradient_norms([0, 1, 2], {"RNN": [1.0, 0.1]})
    with pytest.raises(ValueError, match="one title per example"):
        plot_alignments([(torch.rand(1, 1), ["a"], ["x"])], [])
