"""Spec for transformer/plotting/core.py: every plot returns a titled, labelled Figure and
refuses bad input with one clear line (chapters 05-08 build their figures from these)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from transformer import causal_mask, sinusoidal_encoding  # noqa: E402
from transformer.plotting.core import (  # noqa: E402
    plot_attention_heads,
    plot_attention_weights,
    plot_dot_product_vs_offset,
    plot_lines,
    plot_mask,
    plot_masks,
    plot_positional_encoding,
)

pytestmark = pytest.mark.walkthrough


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test leaves no figure open (matplotlib keeps them alive until closed)."""
    yield
    plt.close("all")


def _weights(*shape):
    return torch.rand(*shape).softmax(dim=-1)


def _assert_readable(fig, title_part: str):
    """A figure a learner can read: a Figure whose title names it and whose axes are labelled."""
    assert isinstance(fig, Figure), f"expected a matplotlib Figure, got {type(fig).__name__}"
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    assert any(title_part in t for t in titles), f"no title contains {title_part!r}; titles: {titles}"
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert plots, "the figure has no axes"
    assert any(ax.get_xlabel() for ax in plots), "no x axis is labelled"
    assert any(ax.get_ylabel() for ax in plots), "no y axis is labelled"


FIGURES = {
    "positional_encoding": lambda: plot_positional_encoding(sinusoidal_encoding(20, 8), title="PE table"),
    "dot_product_vs_offset": lambda: plot_dot_product_vs_offset(sinusoidal_encoding(20, 8), (0, 5), title="PE dots"),
    "lines": lambda: plot_lines([1, 2, 4], {"a": [1, 2, 3], "b": [3, 2, 1]}, "Two lines", "x", "y", logx=True),
    "lines_from_tensors": lambda: plot_lines(
        torch.arange(3), {"a": torch.rand(3, requires_grad=True)}, "Tensor lines", "x", "y"
    ),
    "attention_weights": lambda: plot_attention_weights(_weights(3, 4), list("abc"), ["w1", "w2", "w3", "w4"], title="Weights"),
    "mask": lambda: plot_mask(causal_mask(4), title="Causal"),
    "masks": lambda: plot_masks({"causal": causal_mask(3), "full": torch.ones(3, 3, dtype=torch.bool)}, title="Two masks"),
    "attention_heads": lambda: plot_attention_heads(
        _weights(2, 3, 4, 5), ["layer 0", "layer 1"], ["h0", "h1", "h2"], title="Grid"
    ),
}
TITLES = {
    "positional_encoding": "PE table",
    "dot_product_vs_offset": "PE dots",
    "lines": "Two lines",
    "lines_from_tensors": "Tensor lines",
    "attention_weights": "Weights",
    "mask": "Causal",
    "masks": "Two masks",
    "attention_heads": "Grid",
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_plot_returns_a_titled_figure_with_labelled_axes(name):
    """Chapters save whatever these return, so each must be a complete, readable Figure."""
    _assert_readable(FIGURES[name](), TITLES[name])


def test_attention_heads_grid_has_one_panel_per_cell():
    """A (rows, cols) grid of maps shows rows x cols panels, plus one shared colour bar."""
    fig = plot_attention_heads(_weights(2, 3, 4, 5))
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 6, f"expected 2 x 3 = 6 panels, got {len(panels)}"


def test_attention_weights_heatmap_shows_the_weights_unchanged():
    """The image is the weights themselves, queries on rows and keys on columns (no transpose)."""
    weights = _weights(3, 5)
    fig = plot_attention_weights(weights)
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (3, 5), f"heatmap is {shown.shape}, expected (q_seq, kv_seq) = (3, 5)"
    torch.testing.assert_close(torch.as_tensor(shown.data), weights.double(), msg=lambda m: (
        f"the heatmap's pixels are not the weights themselves (queries on rows, keys on columns). {m}"))


BAD_INPUT = {
    "table with 3 axes": (lambda: plot_positional_encoding(torch.zeros(2, 3, 4)), "max_len, d_model"),
    "anchor outside table": (lambda: plot_dot_product_vs_offset(sinusoidal_encoding(10, 4), (12,)), "anchors in [0, 10)"),
    "weights with 3 axes": (lambda: plot_attention_weights(_weights(2, 3, 4)), "q_seq, kv_seq"),
    "too few query labels": (lambda: plot_attention_weights(_weights(3, 4), query_labels=["a"]), "expected 3 labels"),
    "too many key labels": (lambda: plot_attention_weights(_weights(3, 4), key_labels=list("abcde")), "expected 4 labels"),
    "float mask": (lambda: plot_mask(torch.ones(3, 3)), "boolean"),
    "no masks": (lambda: plot_masks({}), "at least one mask"),
    "heads grid with 3 axes": (lambda: plot_attention_heads(_weights(2, 3, 4)), "rows, cols, q_seq, kv_seq"),
    "wrong number of row labels": (lambda: plot_attention_heads(_weights(2, 3, 4, 4), row_labels=["a"]), "expected 2 labels"),
    "curve of the wrong length": (lambda: plot_lines([1, 2, 3], {"a": [1, 2]}, "t", "x", "y"), "curve 'a'"),
    "empty weights": (lambda: plot_attention_weights(torch.zeros(0, 3)), "non-empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_with_a_clear_message(case, runtime_checks):
    """A learner who passes the wrong shape reads what was expected, not a matplotlib traceback."""
    make, expected_text = BAD_INPUT[case]
    with pytest.raises(ValueError) as error:
        make()
    assert expected_text in str(error.value), f"{case}: message {str(error.value)!r} lacks {expected_text!r}"


def test_run_folder_curves_keep_fixed_margins_and_their_panels_apart(tmp_path):
    """The cheap layout of the run folders' curves (`tight=False`): the file is the whole figure at
    the asked resolution (no cropping pass), and no two panels overlap."""
    from PIL import Image

    from transformer.plotting.save import save_figure_to
    from transformer.plotting.training import plot_learning_curves

    records = [dict(epoch=e, train_loss=1 / e, valid_loss=1.2 / e, valid_accuracy=e / 4) for e in range(1, 5)]
    fig = plot_learning_curves({"lstm": records}, ("train_loss", "valid_loss", "valid_accuracy"), title="copy", tight=False)
    boxes = [ax.get_position() for ax in fig.axes]
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:])), f"panels overlap: {boxes}"
    assert all(0 < b.x0 and b.x1 <= 1 and 0 < b.y0 and b.y1 < 1 for b in boxes), f"a panel leaves the figure: {boxes}"
    width, height = fig.get_size_inches()
    path = save_figure_to(fig, tmp_path / "curves.png", dpi=80, tight=False)
    assert Image.open(path).size == (round(width * 80), round(height * 80)), "the saved figure was cropped or rescaled"
