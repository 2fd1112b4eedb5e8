"""Plots for the core of the Transformer: positional encodings, masks and attention weights.

Chapters 05-08 (walkthrough/05_embeddings_and_positions.md ... 08_decoder_and_model.md).
Every function takes data (tensors, or plain numbers for line plots) and returns a matplotlib
Figure with a title and labelled axes; saving it is the caller's job
(`transformer.course.save_figure`). Nothing here changes a model or needs one.

Heatmaps put queries on the rows and keys on the columns, the same way round as the weights
tensor `weights[..., i, j]` (query i, key j), so a figure reads like the tensor prints.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Bool, Float
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torch import Tensor

from transformer.checks import expect_shape

MAY_ATTEND_COLOUR = "#2b6cb0"
MASKED_COLOUR = "#dde3ea"
_MASK_COLOURS = ListedColormap([MASKED_COLOUR, MAY_ATTEND_COLOUR])

Numbers = Sequence[int | float] | np.ndarray | Tensor


def _numpy(name: str, tensor: Tensor, axes: str) -> np.ndarray:
    """Check the shape (one clear line on error) and return a float64 numpy copy."""
    expect_shape(name, tensor, axes)
    if tensor.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {tuple(tensor.shape)}")
    return tensor.detach().to("cpu", torch.float64).numpy()


def _vector(values: Numbers) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().to("cpu", torch.float64)
    return np.asarray(values, dtype=np.float64)


def _check_labels(name: str, labels: Sequence[str] | None, expected: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    labels = [str(label) for label in labels]
    if len(labels) != expected:
        raise ValueError(f"{name}: expected {expected} labels (one per {what}), got {len(labels)}")
    return labels


def _label_axes(
    ax, query_labels: list[str] | None, key_labels: list[str] | None, n_rows: int, n_cols: int, small: bool = False
) -> None:
    """Tick labels for a query-by-key heatmap: the tokens when given, else the positions.

    Key labels turn upright when they would run into each other (`small` panels: any label
    longer than one character; full-size plots: longer than two).
    """
    if query_labels is not None:
        ax.set_yticks(range(n_rows), query_labels)
    if key_labels is not None:
        long_labels = max(len(label) for label in key_labels) > (1 if small else 2)
        ax.set_xticks(range(n_cols), key_labels, rotation=90 if long_labels else 0)
    ax.set_xlabel("key position" if key_labels is None else "key")
    ax.set_ylabel("query position" if query_labels is None else "query")


def _heatmap_size(n_rows: int, n_cols: int, base: float = 5.0) -> tuple[float, float]:
    aspect = n_rows / n_cols
    width = min(8.5, max(4.0, base * min(1.6, max(0.8, 1 / aspect))))
    return width, min(8.0, max(3.0, width * aspect * 0.95))


def plot_positional_encoding(
    table: Float[Tensor, "max_len d_model"], title: str = "Sinusoidal positional encoding"
) -> Figure:
    """Heatmap of a positional table: one row per position, one column per dimension."""
    values = _numpy("plot_positional_encoding: table", table, "max_len d_model")
    max_len, d_model = values.shape
    limit = max(1.0, float(np.abs(values).max()))
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="PE(pos, dimension)")
    ax.set_title(f"{title}\n({max_len} positions x d_model = {d_model})")
    ax.set_xlabel("dimension (even: sine, odd: cosine; frequency falls to the right)")
    ax.set_ylabel("position pos")
    return fig


def plot_dot_product_vs_offset(
    table: Float[Tensor, "max_len d_model"],
    anchors: Sequence[int] = (0, 30, 60),
    title: str = "Dot product of positional encodings vs offset",
) -> Figure:
    """PE(p) . PE(p + k) against the offset k, one line per anchor position p.

    For the sinusoidal table the lines coincide: the dot product depends on k only.
    """
    values = _numpy("plot_dot_product_vs_offset: table", table, "max_len d_model")
    max_len = values.shape[0]
    anchors = list(anchors)
    if not anchors or any(not 0 <= p < max_len for p in anchors):
        raise ValueError(
            f"plot_dot_product_vs_offset: expected anchors in [0, {max_len}) (rows of the table), got {anchors}"
        )
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    styles = ["-", "--", ":", "-."]
    for n, p in enumerate(anchors):
        dots = values @ values[p]
        offsets = np.arange(max_len) - p
        ax.plot(offsets, dots, styles[n % len(styles)], linewidth=2.6 - 0.5 * (n % 4), label=f"anchor p = {p}")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel("offset k (key position - anchor position)")
    ax.set_ylabel("PE(p) . PE(p + k)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_lines(
    x: Numbers,
    curves: Mapping[str, Numbers],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
) -> Figure:
    """One line per entry of `curves` (label -> y values), all over the same `x`."""
    xs = _vector(x)
    if xs.ndim != 1 or len(xs) == 0:
        raise ValueError(f"plot_lines: expected a non-empty 1-d sequence for x, got shape {xs.shape}")
    if not curves:
        raise ValueError("plot_lines: expected at least one curve, got none")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, ys in curves.items():
        ys = _vector(ys)
        if ys.shape != xs.shape:
            raise ValueError(f"plot_lines: curve {label!r} has {ys.shape} values, expected {xs.shape} (one per x)")
        ax.plot(xs, ys, marker="o", label=label)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_attention_weights(
    weights: Float[Tensor, "q_seq kv_seq"],
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "Attention weights",
    annotate: bool | None = None,
) -> Figure:
    """Heatmap of one attention map: row i is how query i spreads its attention over the keys.

    `annotate` writes each weight in its cell (default: when the map is at most 12 x 12).
    """
    values = _numpy("plot_attention_weights: weights", weights, "q_seq kv_seq")
    n_rows, n_cols = values.shape
    query_labels = _check_labels("plot_attention_weights: query_labels", query_labels, n_rows, "query, row of weights")
    key_labels = _check_labels("plot_attention_weights: key_labels", key_labels, n_cols, "key, column of weights")
    fig, ax = plt.subplots(figsize=_heatmap_size(n_rows, n_cols))
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=max(float(values.max()), 1e-12))
    fig.colorbar(image, ax=ax, label="attention weight", shrink=0.85)
    if annotate is None:
        annotate = n_rows <= 12 and n_cols <= 12
    if annotate:
        for i in range(n_rows):
            for j in range(n_cols):
                colour = "black" if values[i, j] > 0.6 * values.max() else "white"
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7, color=colour)
    _label_axes(ax, query_labels, key_labels, n_rows, n_cols)
    ax.set_title(title)
    return fig


def plot_masks(
    masks: Mapping[str, Bool[Tensor, "q_seq kv_seq"]],
    title: str = "Attention masks (True = may attend)",
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
) -> Figure:
    """Boolean masks side by side, one panel per entry (panel title -> mask)."""
    if not masks:
        raise ValueError("plot_masks: expected at least one mask, got none")
    panels = []
    for name, mask in masks.items():
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"plot_masks: mask {name!r}: expected a boolean tensor (True = may attend), got {kind}")
        panels.append((name, _numpy(f"plot_masks: mask {name!r}", mask, "q_seq kv_seq")))
    width = min(10.0, 3.4 * len(panels))
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 3.9), squeeze=False)
    for ax, (name, values) in zip(axes[0], panels):
        n_rows, n_cols = values.shape
        rows = _check_labels("plot_masks: query_labels", query_labels, n_rows, "query, row of the mask")
        cols = _check_labels("plot_masks: key_labels", key_labels, n_cols, "key, column of the mask")
        ax.imshow(values, cmap=_MASK_COLOURS, vmin=0, vmax=1)
        ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
        ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="minor", length=0)
        _label_axes(ax, rows, cols, n_rows, n_cols)
        ax.set_title(name)
    legend = [Patch(color=MAY_ATTEND_COLOUR, label="True: may attend"), Patch(color=MASKED_COLOUR, label="False: masked")]
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    return fig


def plot_mask(
    mask: Bool[Tensor, "q_seq kv_seq"],
    title: str = "Attention mask (True = may attend)",
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
) -> Figure:
    """One boolean mask: filled cells are the (query, key) pairs that may attend."""
    return plot_masks({title: mask}, title, query_labels, key_labels)


def plot_attention_heads(
    weights: Float[Tensor, "rows cols q_seq kv_seq"],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "Attention weights per layer and head",
) -> Figure:
    """A grid of attention maps, e.g. rows = layers and columns = heads, on one colour scale."""
    values = _numpy("plot_attention_heads: weights", weights, "rows cols q_seq kv_seq")
    n_grid_rows, n_grid_cols, n_rows, n_cols = values.shape
    row_labels = _check_labels("plot_attention_heads: row_labels", row_labels, n_grid_rows, "row of the grid")
    col_labels = _check_labels("plot_attention_heads: col_labels", col_labels, n_grid_cols, "column of the grid")
    query_labels = _check_labels("plot_attention_heads: query_labels", query_labels, n_rows, "query")
    key_labels = _check_labels("plot_attention_heads: key_labels", key_labels, n_cols, "key")
    panel = min(2.4, 8.0 / n_grid_cols)
    fig, axes = plt.subplots(
        n_grid_rows, n_grid_cols, figsize=(panel * n_grid_cols + 1.6, 0.85 * panel * n_grid_rows * n_rows / n_cols + 1.2),
        squeeze=False, sharex=True, sharey=True, layout="constrained",
    )
    top = max(float(values.max()), 1e-12)
    for r in range(n_grid_rows):
        for c in range(n_grid_cols):
            ax = axes[r, c]
            image = ax.imshow(values[r, c], cmap="viridis", vmin=0.0, vmax=top)
            _label_axes(ax, query_labels, key_labels, n_rows, n_cols, small=True)
            ax.label_outer()
            if r == 0:
                ax.set_title(col_labels[c] if col_labels else f"column {c}", fontsize=10)
            if c == 0 and row_labels:
                ax.set_ylabel(f"{row_labels[r]}\n{ax.get_ylabel()}")
    fig.colorbar(image, ax=axes, label="attention weight", shrink=0.9)
    fig.suptitle(title)
    return fig
