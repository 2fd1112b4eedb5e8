"""Figures for token tagging (chapter 13, walkthrough/13_tagging.md): a tagged sentence, the tag
confusion matrix, a CRF's learned transition scores, a worked Viterbi lattice, and accuracy on
words seen and unseen in training.

Every function takes data (tag strings, counts, tensors of scores) and returns a matplotlib
Figure with a title; saving it is the caller's job (`transformer.course.save_figure`). Matrices
read like the tensors they come from: the confusion matrix is `matrix[gold][predicted]` (as
`transformer.metrics.confusion_matrix` returns it), the transition matrix `transitions[from,
to]`, the lattice `deltas[t, tag]` and `pointers[t, tag]` (from `viterbi_lattice`, one sentence).
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Float, Int
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from torch import Tensor

from transformer.checks import expect_shape

RIGHT_COLOUR = "#2b6cb0"
WRONG_COLOUR = "#c53030"
OTHER_COLOUR = "#a0aec0"
CELL_COLOUR = "#edf2f7"


def _strings(name: str, values: Sequence[str], expected: int | None = None, what: str = "") -> list[str]:
    values = [str(value) for value in values]
    if expected is not None and len(values) != expected:
        raise ValueError(f"{name}: expected {expected} {what}, got {len(values)}")
    return values


def _matrix(name: str, values, rows: int, cols: int) -> np.ndarray:
    """A float64 (rows, cols) numpy copy of a tensor, array or nested list, or one clear line."""
    if isinstance(values, Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (rows, cols):
        raise ValueError(f"{name}: expected shape ({rows}, {cols}), got {array.shape}")
    return array


def plot_tagged_sentence(
    words: Sequence[str], tags: Sequence[str], gold: Sequence[str] | None = None, title: str = "A tagged sentence",
    max_width: int = 72,
) -> Figure:
    """Each word with its tag below; given `gold`, wrong tags in red with the gold tag under them.

    Lines wrap after about `max_width` characters, so a long sentence stays readable.
    """
    words = _strings("plot_tagged_sentence: words", words)
    if not words:
        raise ValueError("plot_tagged_sentence: expected at least one word, got none")
    tags = _strings("plot_tagged_sentence: tags", tags, len(words), "tags (one per word)")
    gold = None if gold is None else _strings("plot_tagged_sentence: gold", gold, len(words), "gold tags (one per word)")
    widths = [max(len(w), len(t), len(g) if gold else 0) + 2 for w, t, g in zip(words, tags, gold or tags)]
    places, x, line = [], 0, 0  # (x of the cell's centre, line) in character units
    for width in widths:
        if x and x + width > max_width:
            x, line = 0, line + 1
        places.append((x + width / 2, line))
        x += width
    n_lines = line + 1
    line_width = max_width if n_lines > 1 else x
    fig, ax = plt.subplots(figsize=(min(14.0, 0.13 * line_width + 0.6), 1.25 * n_lines + 0.7))
    wrong = 0
    for k, ((centre, row), word, tag) in enumerate(zip(places, words, tags)):
        y = -3.0 * row
        is_wrong = gold is not None and tag != gold[k]
        wrong += is_wrong
        ax.text(centre, y, word, ha="center", va="center", fontsize=11)
        ax.text(centre, y - 1.0, tag, ha="center", va="center", fontsize=8.5, color="white",
                bbox=dict(boxstyle="round,pad=0.3", facecolor=WRONG_COLOUR if is_wrong else RIGHT_COLOUR, edgecolor="none"))
        if is_wrong:
            ax.text(centre, y - 1.8, f"gold {gold[k]}", ha="center", va="center", fontsize=7.5, color=WRONG_COLOUR)
    if gold is not None:
        title = f"{title}: {wrong} of {len(words)} tags wrong" + (" (red; the gold tag below)" if wrong else "")
    ax.set_xlim(0, line_width)
    ax.set_ylim(-3.0 * n_lines + 0.6, 0.7)
    ax.axis("off")
    ax.set_title(title)
    return fig


def plot_tag_confusion(
    matrix, tag_names: Sequence[str], title: str = "Tag confusion (rows: gold tag, columns: predicted)",
    annotate: bool = True,
) -> Figure:
    """`matrix[i][j]` counts words of gold tag i tagged j; colour is the share of row i (recall on the
    diagonal), on a square-root scale. Each non-zero cell shows its count when `annotate`.
    """
    names = _strings("plot_tag_confusion: tag_names", tag_names)
    counts = _matrix("plot_tag_confusion: matrix", matrix, len(names), len(names))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(11.0, 2.5 + 0.42 * len(names))
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    norm = PowerNorm(0.5, vmin=0.0, vmax=1.0)  # a square-root scale, so that a 2% confusion still shows
    image = ax.imshow(shares, cmap="Blues", norm=norm)
    fig.colorbar(image, ax=ax, label="share of the gold tag's words (square-root scale)", shrink=0.8)
    if annotate:
        for i, j in zip(*np.nonzero(counts)):
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if norm(shares[i, j]) > 0.6 else "black")
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted tag")
    ax.set_ylabel("gold tag")
    ax.set_title(title)
    return fig


def plot_transitions(
    transitions: Float[Tensor, "tags tags"], tag_names: Sequence[str], start: Float[Tensor, " tags"] | None = None,
    end: Float[Tensor, " tags"] | None = None, title: str = "Learned transition scores A[from, to]",
    annotate: bool | None = None,
) -> Figure:
    """Heatmap of a CRF's `transitions[i, j]` (tag j right after tag i), red for favoured pairs.

    `start` adds a first row START -> tag, `end` a last column tag -> END. `annotate` writes each
    score in its cell (default: at most 12 tags).
    """
    names = _strings("plot_transitions: tag_names", tag_names)
    expect_shape("plot_transitions: transitions", transitions, "tags tags", tags=len(names))
    table = _matrix("plot_transitions: transitions", transitions, len(names), len(names))
    rows, cols = list(names), list(names)
    if start is not None:
        expect_shape("plot_transitions: start", start, "tags", tags=len(names))
        table = np.vstack([_matrix("plot_transitions: start", start[None], 1, len(names)), table])
        rows = ["START", *rows]
    if end is not None:
        expect_shape("plot_transitions: end", end, "tags", tags=len(names))
        column = np.full((len(rows), 1), np.nan)  # START -> END is no transition
        column[-len(names):, 0] = _matrix("plot_transitions: end", end[:, None], len(names), 1)[:, 0]
        table = np.hstack([table, column])
        cols = [*cols, "END"]
    bound = max(float(np.nanmax(np.abs(table))), 1e-12)
    size = min(11.0, 2.5 + 0.42 * len(cols))
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(np.ma.masked_invalid(table), cmap="RdBu_r", vmin=-bound, vmax=bound)
    fig.colorbar(image, ax=ax, label="score (positive: the pair is favoured)", shrink=0.8)
    if annotate is None:
        annotate = len(names) <= 12
    if annotate:
        for i, j in zip(*np.nonzero(~np.isnan(table))):
            ax.text(j, i, f"{table[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(table[i, j]) > 0.6 * bound else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=90)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("to tag (y_t)")
    ax.set_ylabel("from tag (y_{t-1})")
    ax.set_title(title)
    return fig


def plot_viterbi_lattice(
    words: Sequence[str], tag_names: Sequence[str], deltas: Float[Tensor, "seq tags"], pointers: Int[Tensor, "seq tags"],
    path: Sequence[int] | Int[Tensor, " seq"], end: Float[Tensor, " tags"] | None = None,
    title: str = "Viterbi: the best score of each (position, tag), and where it came from",
) -> Figure:
    """The lattice of one sentence: a node per (word, tag) holding δ_t(tag), an arrow from the
    back-pointer ψ_t(tag) at t - 1, and the best path in colour. With `end`, each last node also
    shows δ_n(tag) + end[tag], the total the last tag is chosen by."""
    words = _strings("plot_viterbi_lattice: words", words)
    names = _strings("plot_viterbi_lattice: tag_names", tag_names)
    seq, n_tags = len(words), len(names)
    scores = _matrix("plot_viterbi_lattice: deltas", deltas, seq, n_tags)
    back = _matrix("plot_viterbi_lattice: pointers", pointers, seq, n_tags).astype(int)
    path = [int(tag) for tag in (path.tolist() if isinstance(path, Tensor) else path)]
    if len(path) != seq or not all(0 <= tag < n_tags for tag in path) or not ((back >= 0) & (back < n_tags)).all():
        raise ValueError(f"plot_viterbi_lattice: expected a path of {seq} tags and pointers in [0, {n_tags}), "
                         f"got a path of {len(path)}: {path}")
    fig, ax = plt.subplots(figsize=(min(14.0, 1.7 * seq + 2.6), 0.75 * n_tags + 1.6))
    for t in range(1, seq):
        for j in range(n_tags):
            on_path = path[t] == j and path[t - 1] == back[t, j]
            ax.add_patch(FancyArrowPatch((t - 1, back[t, j]), (t, j), arrowstyle="-|>", mutation_scale=10,
                                         shrinkA=16, shrinkB=16, zorder=3 if on_path else 1,
                                         color=RIGHT_COLOUR if on_path else OTHER_COLOUR, linewidth=2.4 if on_path else 0.9))
    for t in range(seq):
        for j in range(n_tags):
            on_path = path[t] == j
            ax.text(t, j, f"{scores[t, j]:.1f}", ha="center", va="center", fontsize=8.5, zorder=4,
                    color="white" if on_path else "black",
                    bbox=dict(boxstyle="round,pad=0.35", facecolor=RIGHT_COLOUR if on_path else CELL_COLOUR,
                              edgecolor=RIGHT_COLOUR if on_path else OTHER_COLOUR))
    right = seq - 0.5
    if end is not None:
        expect_shape("plot_viterbi_lattice: end", end, "tags", tags=n_tags)
        finals = scores[-1] + _matrix("plot_viterbi_lattice: end", end[None], 1, n_tags)[0]
        for j in range(n_tags):
            ax.text(seq - 0.62, j, f"+ end = {finals[j]:.1f}", ha="left", va="center", fontsize=8,
                    color=RIGHT_COLOUR if path[-1] == j else "black", fontweight="bold" if path[-1] == j else "normal")
        right = seq + 0.3
    ax.set_xlim(-0.5, right)
    ax.set_ylim(n_tags - 0.5, -0.5)
    ax.set_xticks(range(seq), words)
    ax.set_yticks(range(n_tags), names)
    ax.set_xlabel("position t (word)")
    ax.set_ylabel("tag")
    ax.set_title(title)
    return fig


def plot_seen_unseen_accuracy(
    accuracies: Mapping[str, tuple[float, float]], counts: tuple[int, int] | None = None,
    title: str = "Accuracy on words seen and unseen in training",
) -> Figure:
    """Grouped bars: each model's accuracy (a fraction in [0, 1]) on seen words and on unseen words.

    `counts` (seen, unseen) puts the number of test words of each kind in the legend.
    """
    if not accuracies:
        raise ValueError("plot_seen_unseen_accuracy: expected at least one model, got none")
    for model, pair in accuracies.items():
        if len(pair) != 2 or not all(0.0 <= float(a) <= 1.0 for a in pair):
            raise ValueError(f"plot_seen_unseen_accuracy: expected (seen, unseen) fractions in [0, 1] for {model!r}, "
                             f"got {tuple(pair)}")
    labels = ["seen words", "unseen words"]
    if counts is not None:
        labels = [f"{label} ({n:,})" for label, n in zip(labels, counts)]
    models = list(accuracies)
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(models) + 2.0), 4.2))
    for k, (label, colour) in enumerate(zip(labels, (RIGHT_COLOUR, WRONG_COLOUR))):
        values = [100.0 * float(accuracies[m][k]) for m in models]
        bars = ax.bar(x + (k - 0.5) * 0.38, values, 0.38, label=label, color=colour)
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(x, models)
    ax.set_ylim(0, 108)
    ax.set_xlabel("model")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="lower right")
    ax.set_title(title)
    return fig
