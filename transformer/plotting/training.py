"""Figures for training and comparing runs: learning curves, the learning-rate schedule,
smoothed targets, and exact match against sequence length."""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def plot_learning_curves(runs: Mapping[str, Sequence[dict]], metrics: Sequence[str] = ("train_loss", "valid_loss")) -> Figure:
    """One panel per metric; one line per run; x = epoch. `runs` maps a name to its epoch records."""
    if not runs or not all(runs.values()):
        raise ValueError("plot_learning_curves: expected at least one run with at least one epoch record")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    colours = {name: f"C{i}" for i, name in enumerate(runs)}  # one colour per run in every panel
    for ax, metric in zip(axes[0], metrics):
        for name, records in runs.items():
            points = [(r["epoch"], r[metric]) for r in records if metric in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", markersize=3, label=name, color=colours[name])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
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
                            ylabel: str = "exact match") -> Figure:
    """Exact match (y) against source length (x) for each run; a dashed line marks the longest
    length seen in training, so generalisation beyond it is visible."""
    if not runs:
        raise ValueError("plot_accuracy_by_length: expected at least one run")
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, by_length in runs.items():
        lengths = sorted(int(n) for n in by_length)
        ax.plot(lengths, [by_length[n] if n in by_length else by_length[str(n)] for n in lengths],
                marker="o", markersize=3, label=name)
    if train_max_length is not None:
        ax.axvline(train_max_length + 0.5, color="grey", linestyle="--", label="longest in training")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # lengths are whole numbers
    ax.set_title(f"{ylabel.capitalize()} by source length")
    ax.set_xlabel("source length (tokens)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
