"""Plots for sentence classification: what a classifier gets wrong, what it learned, and why.

Chapter 12 (walkthrough/12_sentence_classification.md). Every function takes data (tensors,
nested lists or plain numbers) and returns a matplotlib Figure with a title and labelled axes;
saving it is the caller's job (`transformer.course.save_figure`). Nothing here runs a model.

The confusion matrix puts the actual class on the rows and the predicted class on the
columns, the same way round as `transformer.metrics.confusion_matrix` (`matrix[actual][predicted]`).
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Float
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from torch import Tensor

Numbers = Sequence[int | float] | np.ndarray | Tensor


def _array(values, name: str, ndim: int) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().to("cpu", torch.float64)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim or array.size == 0:
        raise ValueError(f"{name}: expected a non-empty {ndim}-d array, got shape {array.shape}")
    return array


def _names(name: str, labels: Sequence[str], expected: int, what: str) -> list[str]:
    labels = [str(label) for label in labels]
    if len(labels) != expected:
        raise ValueError(f"{name}: expected {expected} {what}, got {len(labels)}")
    return labels


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]] | Tensor, class_names: Sequence[str], title: str = "Confusion matrix"
) -> Figure:
    """Counts of (actual, predicted) pairs, each cell's count written in it; the diagonal is right."""
    counts = _array(matrix, "plot_confusion_matrix: matrix", 2)
    n = counts.shape[0]
    if counts.shape != (n, n):
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {counts.shape}")
    names = _names("plot_confusion_matrix", class_names, n, "class names (one per row)")
    fig, ax = plt.subplots(figsize=(2.4 + 0.9 * n, 1.9 + 0.8 * n), layout="constrained")
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    for i in range(n):
        for j in range(n):
            colour = "white" if counts[i, j] > 0.6 * counts.max() else "black"
            ax.text(j, i, f"{counts[i, j]:g}", ha="center", va="center", color=colour)
    ax.set_xticks(range(n), names, rotation=30 if max(map(len, names)) > 6 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="sentences")
    return fig


def plot_top_words(
    weights: Float[Tensor, "classes vocab"],
    words: Sequence[str],
    class_names: Sequence[str],
    k: int = 10,
    title: str = "The words that weigh most for each class",
) -> Figure:
    """One panel per class: the k words with the largest weights for it, as horizontal bars.

    `weights[c, t]` is a linear model's weight of word t (column t of its features) for class c;
    `words[t]` is that word.
    """
    values = _array(weights, "plot_top_words: weights", 2)
    n_classes, vocab = values.shape
    words = _names("plot_top_words", words, vocab, "words (one per column of weights)")
    names = _names("plot_top_words", class_names, n_classes, "class names (one per row of weights)")
    k = min(k, vocab)
    fig, axes = plt.subplots(1, n_classes, figsize=(3.2 * n_classes, 0.9 + 0.32 * k), squeeze=False,
                             layout="constrained")
    for c, ax in enumerate(axes[0]):
        top = np.argsort(values[c])[::-1][:k]
        ax.barh(range(k), values[c, top], color=f"C{c}")
        ax.set_yticks(range(k), [words[t] for t in top])
        ax.invert_yaxis()  # the heaviest word on top
        ax.set_title(names[c])
        ax.set_xlabel("weight")
        ax.axvline(0, color="black", linewidth=0.6)
    axes[0, 0].set_ylabel("word")
    fig.suptitle(title)
    return fig


def plot_explained_sentence(
    words: Sequence[str],
    importance: Numbers,
    title: str = "Which words made the prediction",
    max_per_line: int = 10,
) -> Figure:
    """The sentence, each word on a background coloured by its importance (red: pushed towards the
    predicted class, blue: away from it), its value written below it."""
    values = _array(importance, "plot_explained_sentence: importance", 1)
    words = _names("plot_explained_sentence", words, len(values), "words (one per importance)")
    bound = max(float(np.abs(values).max()), 1e-12)
    norm, cmap = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound), plt.get_cmap("coolwarm")
    lines = (len(words) + max_per_line - 1) // max_per_line
    width = min(len(words), max_per_line)
    fig, ax = plt.subplots(figsize=(1.0 + 1.1 * width, 0.9 + 0.9 * lines), layout="constrained")
    for i, (word, value) in enumerate(zip(words, values)):
        x, y = i % max_per_line, i // max_per_line
        ax.text(x, y, word, ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.3", facecolor=cmap(norm(value)), edgecolor="none"))
        ax.text(x, y + 0.38, f"{value:+.3f}", ha="center", va="center", fontsize=7, color="#4a5568")
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(lines - 0.35, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("word (importance below it)")
    ax.set_title(title)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="importance", shrink=0.8)
    return fig


def plot_sentence_vectors(
    points: Float[Tensor, "n 2"],
    labels: Sequence[int] | Tensor,
    class_names: Sequence[str],
    title: str = "Sentence vectors in 2-D (PCA)",
) -> Figure:
    """One dot per sentence at its 2-D coordinates (e.g. `project_2d`), coloured by its class."""
    xy = _array(points, "plot_sentence_vectors: points", 2)
    if xy.shape[1] != 2:
        raise ValueError(f"plot_sentence_vectors: expected points of shape (n, 2), got {xy.shape}")
    classes = np.asarray(labels.tolist() if isinstance(labels, Tensor) else labels, dtype=int)
    if classes.shape != (len(xy),):
        raise ValueError(f"plot_sentence_vectors: expected {len(xy)} labels (one per point), got {classes.shape}")
    names = [str(name) for name in class_names]
    if classes.min() < 0 or classes.max() >= len(names):
        raise ValueError(f"plot_sentence_vectors: expected labels in [0, {len(names)}), "
                         f"got values in [{classes.min()}, {classes.max()}]")
    fig, ax = plt.subplots(figsize=(6.0, 4.8), layout="constrained")
    for c, name in enumerate(names):
        chosen = classes == c
        if chosen.any():
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=14, alpha=0.7, color=f"C{c}", label=name)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title(title)
    ax.legend(title="class")
    return fig


def plot_accuracy_by_model(
    accuracies: Mapping[str, float], title: str = "Test accuracy by model", ylabel: str = "test accuracy"
) -> Figure:
    """One bar per model, its accuracy (0 to 1) written above it."""
    if not accuracies:
        raise ValueError("plot_accuracy_by_model: expected at least one model, got none")
    names, values = list(accuracies), [float(v) for v in accuracies.values()]
    wrong = [name for name, value in zip(names, values) if not 0.0 <= value <= 1.0]
    if wrong:
        raise ValueError(f"plot_accuracy_by_model: expected accuracies in [0, 1], "
                         f"got {accuracies[wrong[0]]} for {wrong[0]!r}")
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(names), 4.2), layout="constrained")
    bars = ax.bar(range(len(names)), values, color=[f"C{i}" for i in range(len(names))])
    ax.bar_label(bars, labels=[f"{value:.1%}" for value in values], padding=2)
    ax.set_xticks(range(len(names)), names, rotation=20 if max(map(len, names)) > 10 else 0)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("model")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig
