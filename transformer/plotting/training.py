"""Figures for training and comparing runs: learning curves, the learning-rate schedule,
smoothed targets, and exact match against sequence length."""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


# One look per run, the same in every panel: colours, then line styles and markers, so two runs
# whose curves lie on top of each other can still be told apart.
_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def run_styles(names: Sequence[str]) -> dict[str, dict]:
    """Matplotlib line keywords for each run: colour, line style and marker all differ between runs."""
    return {name: dict(color=f"C{i}", linestyle=_STYLES[i % len(_STYLES)], marker=_MARKERS[i % len(_MARKERS)])
            for i, name in enumerate(names)}


def plot_learning_curves(runs: Mapping[str, Sequence[dict]], metrics: Sequence[str] = ("train_loss", "valid_loss"),
                         title: str | None = None, x: str = "epoch", tight: bool = True) -> Figure:
    """One panel per metric; one line per run; x = epoch (or another field of the records, e.g.
    "seconds" of training). `runs` maps a name to its epoch records; `title` names the task.
    `tight=False` sets fixed margins instead of measuring every label (`tight_layout` draws the
    figure once more): the run folders' own curves use it, so a short run is not spent drawing."""
    if not runs or not all(runs.values()):
        raise ValueError("plot_learning_curves: expected at least one run with at least one epoch record")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    styles = run_styles(list(runs))
    for ax, metric in zip(axes[0], metrics):
        for name, records in runs.items():
            points = [(r[x], r[metric]) for r in records if metric in r and x in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, markersize=4, label=name, alpha=0.9, **styles[name])
        if x == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch" if x == "epoch" else x.replace("_", " "))
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    if tight:
        fig.tight_layout()
    else:
        fig.subplots_adjust(left=0.2 / len(metrics), right=0.99, bottom=0.14, top=0.82 if title else 0.9, wspace=0.25)
    return fig


def plot_learning_rate(steps: Sequence[int], rates: Mapping[str, Sequence[float]]) -> Figure:
    """Learning rate against training step, one line per schedule."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, values in rates.items():
        if len(values) != len(steps):
            raise ValueError(f"plot_learning_rate: expected {len(steps)} rates for {name!r}, got {len(values)}")
        ax.plot(steps, values, label=name)
    ax.set_title("Learning-rate schedule")
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_target_distributions(distributions: Mapping[str, Sequence[float]], token_labels: Sequence[str]) -> Figure:
    """Bar charts of target distributions over the vocabulary (one-hot vs label-smoothed)."""
    fig, axes = plt.subplots(1, len(distributions), figsize=(4.2 * len(distributions), 3.2), squeeze=False, sharey=True)
    for ax, (name, values) in zip(axes[0], distributions.items()):
        if len(values) != len(token_labels):
            raise ValueError(f"plot_target_distributions: expected {len(token_labels)} values for {name!r}, got {len(values)}")
        ax.bar(range(len(values)), values, color="tab:blue")
        ax.set_xticks(range(len(values)), token_labels, rotation=45, fontsize=8)
        ax.set_title(name)
        ax.set_xlabel("target token")
    axes[0][0].set_ylabel("probability")
    fig.tight_layout()
    return fig


def plot_accuracy_by_length(runs: Mapping[str, Mapping[int, float]], train_max_length: int | None = None,
                            ylabel: str = "exact match", counts: Mapping[int, int] | None = None,
                            title: str | None = None) -> Figure:
    """Exact match (y) against source length (x) for each run. A dashed line marks the longest
    length seen in training, so generalisation beyond it is visible (give it only where training
    and test lengths are comparable). With `counts` (items per length), each length's count is
    written under the axis: a 0.0 at a length with two items says little."""
    if not runs:
        raise ValueError("plot_accuracy_by_length: expected at least one run")
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    styles = run_styles(list(runs))
    for name, by_length in runs.items():
        lengths = sorted(int(n) for n in by_length)
        ax.plot(lengths, [by_length[n] if n in by_length else by_length[str(n)] for n in lengths],
                markersize=3, label=name, **styles[name])
    if train_max_length is not None:
        ax.axvline(train_max_length + 0.5, color="grey", linestyle="--", label="longest in training")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # lengths are whole numbers
    ax.set_title(title or f"{ylabel.capitalize()} by source length")
    ax.set_xlabel("source length (tokens)" + ("; test items per length below" if counts else ""))
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.03, 1.03)
    if counts:
        for length, n in sorted((int(k), v) for k, v in counts.items()):
            ax.annotate(str(n), (length, 0), xytext=(0, -26), textcoords="offset points", ha="center",
                        fontsize=6, color="dimgrey", annotation_clip=False)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
