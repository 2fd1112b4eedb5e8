"""Spec for transformer/plotting/generation.py: each figure of chapter 14 shows the numbers it was
given (or the distributions `transformer.generation` samples), labelled, and refuses bad input in
one line."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from transformer.generation import entropy, next_token_distribution
from transformer.plotting.generation import (
    plot_attention_over_text,
    plot_curves_against_time,
    plot_entropy_against_temperature,
    plot_temperature_distributions,
    visible,
)

pytestmark = pytest.mark.language_models

LOGITS = torch.tensor([0.2, 2.0, -1.0, 1.1, 0.0, -0.3, 1.6], dtype=torch.float64)
LABELS = ["a", " ", "b", "\n", "c", "d", "e"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_curves_against_time_draw_each_run_as_given_with_its_targets():
    """Each run is one line at (seconds, loss) exactly; each target one horizontal line."""
    runs = {"transformer": ([10.0, 20.0, 40.0], [2.5, 2.0, 1.8]), "lstm": ([15.0, 30.0], [2.6, 2.2])}
    fig = plot_curves_against_time(runs, targets={"target 1.88": 1.88})
    ax = fig.axes[0]
    drawn = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines}
    for name, (seconds, losses) in runs.items():
        assert drawn[name] == (seconds, losses), f"run {name!r} drawn as {drawn.get(name)}, given {(seconds, losses)}"
    assert list(drawn["target 1.88"][1]) == [1.88, 1.88], f"target line at {drawn['target 1.88'][1]}, expected 1.88"
    assert "seconds" in ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), "the curves need a title and labelled axes"


def test_temperature_panels_show_the_sampled_distribution_over_the_same_top_tokens():
    """Panel T has bars = next_token_distribution(z, T) at the top tokens, most likely first, labelled visibly."""
    temperatures = (0.5, 1.0, 2.0)
    fig = plot_temperature_distributions(LOGITS, LABELS, temperatures, top=4, context="to be")
    order = [1, 6, 3, 0]  # the logits sorted, largest first
    for ax, temperature in zip(fig.axes, temperatures):
        heights = [bar.get_height() for bar in ax.patches]
        expected = next_token_distribution(LOGITS[None], temperature)[0][order].tolist()
        np.testing.assert_allclose(heights, expected, err_msg=f"T = {temperature}: bars are not the sampled distribution")
        labels = [tick.get_text() for tick in ax.get_xticklabels()]
        assert labels == [visible(LABELS[t]) for t in order] == ["\u2423", "e", "\u21b5", "a"], f"T = {temperature}: labels {labels}"
        h = entropy(next_token_distribution(LOGITS[None], temperature)).item()
        assert f"entropy {h:.2f}" in ax.get_title(), f"T = {temperature}: title {ax.get_title()!r} lacks the entropy {h:.2f}"
    assert "to be" in fig.get_suptitle(), f"the context is not in the title {fig.get_suptitle()!r}"


def test_entropy_curve_is_the_entropy_at_each_temperature_and_tends_to_ln_v():
    """The line holds H(softmax(z / T)) at each T; the dashed line is ln V, the uniform limit."""
    temperatures = [0.1, 0.5, 1.0, 4.0, 50.0]
    fig = plot_entropy_against_temperature({"position 3": LOGITS}, temperatures)
    ax = fig.axes[0]
    curve = next(line for line in ax.lines if line.get_label() == "position 3")
    expected = [entropy(next_token_distribution(LOGITS[None], t)).item() for t in temperatures]
    np.testing.assert_allclose(curve.get_ydata(), expected, err_msg="the curve is not the entropy at each temperature")
    assert list(curve.get_xdata()) == temperatures, f"curve drawn at T = {list(curve.get_xdata())}"
    uniform = next(line for line in ax.lines if "uniform" in line.get_label())
    assert math.isclose(uniform.get_ydata()[0], math.log(7)), f"uniform line at {uniform.get_ydata()[0]}, expected ln 7"
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel(), "temperature on a log axis, both axes labelled"


def test_attention_over_text_shows_the_weights_with_characters_on_both_axes():
    """The image is the weights; ticks are the characters (space made visible); a dashed line ends the prompt."""
    text = "to be"
    weights = torch.tril(torch.rand(5, 5, dtype=torch.float64))
    weights = weights / weights.sum(-1, keepdim=True)
    fig = plot_attention_over_text(weights, text, prompt_length=3)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), weights.numpy(), err_msg="the heatmap is not the weights")
    rows = [tick.get_text() for tick in ax.get_yticklabels()]
    cols = [tick.get_text() for tick in ax.get_xticklabels()]
    assert rows == cols == ["t", "o", "\u2423", "b", "e"], f"axis labels {rows} / {cols}, expected the characters"
    dashed = sorted({float(line.get_xdata()[0]) for line in ax.lines if line.get_linestyle() == "--"})
    assert dashed == [0.0, 2.5], f"prompt boundary lines at {dashed}, expected one horizontal (x from 0) and one at 2.5"


@pytest.mark.parametrize("call, message", [
    (lambda: plot_curves_against_time({}), "expected at least one run"),
    (lambda: plot_curves_against_time({"a": ([1.0, 2.0], [3.0])}), "run 'a': expected as many losses as seconds"),
    (lambda: plot_curves_against_time({"a": ([2.0, 1.0], [3.0, 2.0])}), "expected seconds >= 0 and non-decreasing"),
    (lambda: plot_temperature_distributions(LOGITS, LABELS[:3]), "expected 7 token labels"),
    (lambda: plot_temperature_distributions(LOGITS, LABELS, top=0), "expected temperatures and top >= 1"),
    (lambda: plot_entropy_against_temperature({}), "expected at least one row of logits"),
    (lambda: plot_entropy_against_temperature({"a": LOGITS}, [0.0, 1.0]), "expected positive temperatures"),
    (lambda: plot_attention_over_text(torch.ones(2, 3), "ab"), "expected square self-attention weights"),
    (lambda: plot_attention_over_text(torch.ones(2, 2), "abc"), "expected 2 tokens"),
    (lambda: plot_attention_over_text(torch.ones(2, 2), "ab", prompt_length=3), "expected prompt_length in [1, 2]"),
])
def test_bad_input_is_refused_with_one_clear_line(call, message, runtime_checks):
    """What a user (who runs without the test-time shape checks) reads for each mistake."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")) as error:
        call()
    assert "\n" not in str(error.value), f"the message runs over several lines: {error.value}"
