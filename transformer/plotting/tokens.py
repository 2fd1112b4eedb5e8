"""Plots for chapter 01 (walkthrough/01_tokens_and_batches.md): lengths, padded batches, padding cost.

Every function takes data and returns a matplotlib Figure with a title and labelled axes;
saving it is the caller's job (`transformer.course.save_figure`).
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from jaxtyping import Int
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from torch import Tensor

from transformer.checks import expect_shape
from transformer.tasks.tokenize import JOINER
from transformer.tasks.vocab import BOS, EOS, PAD, Vocabulary

REAL_COLOUR = "#2b6cb0"
SPECIAL_COLOUR = "#90cdf4"
PAD_COLOUR = "#dde3ea"


def plot_length_histogram(
    lengths: Mapping[str, Sequence[int]], title: str = "Sequence lengths", xlabel: str = "tokens per sequence"
) -> Figure:
    """Overlaid histograms (one bin per length) of each named list of lengths."""
    if not lengths or any(len(values) == 0 for values in lengths.values()):
        raise ValueError("plot_length_histogram: expected one or more non-empty lists of lengths")
    longest = max(max(values) for values in lengths.values())
    bins = np.arange(0.5, longest + 1.5)
    fig, ax = plt.subplots(figsize=(8.0, 4.2))
    for name, values in lengths.items():
        values = np.asarray(values)
        ax.hist(values, bins=bins, histtype="step", linewidth=1.8,
                label=f"{name} (mean {values.mean():.1f}, max {values.max()})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of sequences")
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def _cell_text(token: str, width: int = 7) -> str:
    """The token as a cell label: the joiner drawn as a small square (the usual fonts lack it), long ones cut."""
    token = token.replace(JOINER, "\u25aa")
    return token if len(token) <= width else token[: width - 1] + "…"


def plot_padded_batch(
    ids: Int[Tensor, "batch seq"], vocab: Vocabulary | None = None, title: str = "A padded batch and its mask"
) -> Figure:
    """Top: the batch, one row per sequence, each cell its token (or id); PAD cells grey.

    Bottom: its padding mask `ids != PAD` (True = a real token attention may look at).
    """
    expect_shape("ids", ids, "batch seq")
    grid = ids.detach().cpu().numpy()
    n_rows, n_cols = grid.shape
    kind = np.where(grid == PAD, 0, np.where((grid == BOS) | (grid == EOS), 1, 2))
    mask = grid != PAD
    width = 0.75 if vocab is not None else 0.42
    fig, (ax_ids, ax_mask) = plt.subplots(
        2, 1, figsize=(width * n_cols + 1.6, 0.8 * n_rows + 2.6), gridspec_kw={"hspace": 0.45}
    )
    ax_ids.imshow(kind, cmap=ListedColormap([PAD_COLOUR, SPECIAL_COLOUR, REAL_COLOUR]), vmin=0, vmax=2, aspect="auto")
    for r in range(n_rows):
        for c in range(n_cols):
            text = _cell_text(vocab.token(int(grid[r, c]))) if vocab is not None else str(grid[r, c])
            ax_ids.text(c, r, text, ha="center", va="center", fontsize=8,
                        color="white" if kind[r, c] == 2 else "#333333")
    ax_ids.set_title("token ids" if vocab is None else "tokens")
    ax_mask.imshow(mask, cmap=ListedColormap([PAD_COLOUR, REAL_COLOUR]), vmin=0, vmax=1, aspect="auto")
    for r in range(n_rows):
        for c in range(n_cols):
            ax_mask.text(c, r, "T" if mask[r, c] else "F", ha="center", va="center", fontsize=8,
                         color="white" if mask[r, c] else "#333333")
    ax_mask.set_title("padding mask (True = real token)")
    for ax in (ax_ids, ax_mask):
        ax.set_xticks(range(n_cols))
        ax.set_yticks(range(n_rows))
        ax.set_xlabel("position")
        ax.set_ylabel("row")
    legend = [Patch(color=REAL_COLOUR, label="token"), Patch(color=SPECIAL_COLOUR, label="BOS / EOS"),
              Patch(color=PAD_COLOUR, label="PAD")]
    fig.legend(handles=legend, loc="upper center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.02))
    fig.suptitle(title)
    return fig


def plot_padding_cost(costs: Mapping[str, tuple[int, int]], title: str = "Real tokens and padding per epoch") -> Figure:
    """Stacked bars, one per batching scheme: (real tokens, PAD tokens) of a whole epoch."""
    if not costs:
        raise ValueError("plot_padding_cost: expected at least one (real, pad) pair")
    names = list(costs)
    real = np.array([costs[n][0] for n in names], dtype=float)
    pad = np.array([costs[n][1] for n in names], dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.7 * len(names)))
    ax.barh(names, real, color=REAL_COLOUR, label="real tokens")
    ax.barh(names, pad, left=real, color=PAD_COLOUR, edgecolor="#999999", label="PAD tokens")
    for y, (r, p) in enumerate(zip(real, pad)):
        ax.text(r + p, y, f"  {p / (r + p):.0%} padding", va="center", fontsize=9)
    ax.set_xlim(0, (real + pad).max() * 1.25)
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("tokens in the padded tensors (source + target)")
    ax.set_ylabel("batching")
    ax.invert_yaxis()
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.set_title(title, pad=24)
    return fig


def _thousands(value: float, _position) -> str:
    """Axis label for a token count: 850k, 1.7M."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}".rstrip("0").rstrip(".") + "M"
    return f"{value / 1e3:.0f}k" if value >= 1e3 else f"{value:.0f}"
