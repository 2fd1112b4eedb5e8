"""Plots for the recurrent baseline: gradient flow, accuracy against length, alignments.

Chapters 02-04 (walkthrough/02_recurrent_networks.md, 03_seq2seq.md, 04_attention_for_rnns.md).
Every function takes data (tensors or plain numbers) and returns a matplotlib Figure with a
title and labelled axes; saving it is the caller's job (`transformer.course.save_figure`).

Alignment heatmaps put the produced (target) tokens on the rows and the source tokens on the
columns, the same way round as the weights tensor `weights[t, j]` (output step t, source j).
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Float
from matplotlib.figure import Figure
from torch import Tensor

from transformer.checks import expect_shape

Numbers = Sequence[int | float] | np.ndarray | Tensor


def _curves(name: str, x: Numbers, curves: Mapping[str, Numbers]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Check that every curve has one value per x; return numpy arrays."""
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 1 or len(xs) == 0:
        raise ValueError(f"{name}: expected a non-empty 1-d sequence for x, got shape {xs.shape}")
    if not curves:
        raise ValueError(f"{name}: expected at least one curve, got none")
    arrays = {}
    for label, ys in curves.items():
        ys = np.asarray(ys, dtype=np.float64)
        if ys.shape != xs.shape:
            raise ValueError(f"{name}: curve {label!r} has {ys.shape} values, expected {xs.shape} (one per x)")
        arrays[label] = ys
    return xs, arrays


def plot_gradient_norms(
    distances: Numbers,
    norms: Mapping[str, Numbers],
    title: str = "How far back does the gradient reach?",
    ylabel: str = r"$\|\partial\, u^\top h_T / \partial x_t\|$",
) -> Figure:
    """Gradient size against time distance T - t, one line per model, on a log scale.

    Labels containing "forget bias" are drawn dashed, so variants of one cell read as a family.
    """
    xs, arrays = _curves("plot_gradient_norms", distances, norms)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for label, ys in arrays.items():
        style = "--" if "forget bias" in label else "-"
        ax.plot(xs, np.maximum(ys, 1e-300), style, linewidth=2, label=label)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("time distance T - t (steps between the input and the state)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="major")
    ax.legend()
    return fig


def plot_accuracy_vs_length(
    lengths: Numbers,
    accuracies: Mapping[str, Numbers],
    title: str = "Accuracy against sequence length",
    ylabel: str = "exact-match accuracy",
    trained_up_to: int | None = None,
) -> Figure:
    """Accuracy (0 to 1) against source length, one line per model.

    `trained_up_to` shades the lengths beyond the longest training example.
    """
    xs, arrays = _curves("plot_accuracy_vs_length", lengths, accuracies)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for label, ys in arrays.items():
        ax.plot(xs, ys, marker="o", linewidth=2, label=label)
    if trained_up_to is not None and trained_up_to < xs.max():
        ax.axvspan(trained_up_to + 0.5, xs.max() + 0.5, color="grey", alpha=0.15, label="longer than any training example")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title)
    ax.set_xlabel("source length (tokens)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_alignment(
    weights: Float[Tensor, "tgt_seq src_seq"],
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    title: str = "Attention alignment",
    ax=None,
) -> Figure:
    """Heatmap of one sentence's attention: row t is where output token t looked in the source.

    Pass `ax` to draw into a panel of a larger figure (see `plot_alignments`).
    """
    expect_shape("plot_alignment: weights", weights, "tgt_seq src_seq")
    values = weights.detach().to("cpu", torch.float64).numpy()
    n_rows, n_cols = values.shape
    if len(source_tokens) != n_cols or len(target_tokens) != n_rows:
        raise ValueError(
            f"plot_alignment: weights are {n_rows} x {n_cols} (target x source), "
            f"got {len(target_tokens)} target and {len(source_tokens)} source tokens"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(2.0 + 0.3 * n_cols, 1.6 + 0.4 * n_rows), layout="constrained")
    else:
        fig = ax.figure
    ax.imshow(values, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(n_rows):
        for j in range(n_cols):
            if values[i, j] >= 0.1:
                colour = "white" if values[i, j] > 0.55 else "black"
                ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(n_cols), list(source_tokens))
    for label in ax.get_xticklabels():  # single characters stay upright, longer tokens turn
        label.set_rotation(90 if len(label.get_text()) > 2 else 0)
    ax.set_yticks(range(n_rows), list(target_tokens))
    ax.set_xlabel("source token")
    ax.set_ylabel("produced token")
    ax.set_title(title)
    return fig


def plot_alignments(
    examples: Sequence[tuple[Tensor, Sequence[str], Sequence[str]]],
    titles: Sequence[str],
    suptitle: str = "Attention alignments",
) -> Figure:
    """Several alignments stacked vertically: `examples[k] = (weights, source_tokens, target_tokens)`."""
    if not examples or len(titles) != len(examples):
        raise ValueError(f"plot_alignments: expected one title per example, got {len(titles)} and {len(examples)}")
    width = max(len(source) for _, source, _ in examples)
    heights = [len(target) for _, _, target in examples]
    fig, axes = plt.subplots(len(examples), 1, figsize=(2.0 + 0.3 * width, 0.8 + sum(1.4 + 0.4 * h for h in heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
    for ax, (weights, source, target), title in zip(axes[:, 0], examples, titles):
        plot_alignment(weights, source, target, title, ax=ax)
    fig.suptitle(suptitle)
    return fig
