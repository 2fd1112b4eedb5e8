"""Figures for language models and generation (chapter 14, walkthrough/14_language_models.md):
learning curves against wall-clock time, the next-token distribution under several temperatures,
entropy against temperature, and one attention head's map over a generated line.

Each function takes data (numbers, logits, attention weights, token strings) and returns a
matplotlib Figure; saving it is the caller's job (`transformer.course.save_figure`). The
distributions are those that `transformer.generation` samples, computed by its functions.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Float
from matplotlib.figure import Figure
from torch import Tensor

from transformer.generation import entropy, next_token_distribution
from transformer.plotting.core import Numbers, _numpy, _vector, plot_attention_weights

VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u2192"}  # open box, return arrow, tab arrow


def visible(token: str) -> str:
    """A token as a tick label: a space, newline or tab drawn as a symbol instead of nothing."""
    return "".join(VISIBLE.get(character, character) for character in str(token)) or "''"


def _logits(name: str, logits: Tensor, vocab_labels: Sequence[str] | None = None) -> Tensor:
    """One row of logits as float64 (the numbers checked for shape and labels)."""
    values = torch.from_numpy(_numpy(name, logits, "vocab"))
    if vocab_labels is not None and len(vocab_labels) != values.shape[0]:
        raise ValueError(f"{name}: expected {values.shape[0]} token labels (one per vocabulary entry), got {len(vocab_labels)}")
    return values


def plot_curves_against_time(
    runs: Mapping[str, tuple[Numbers, Numbers]],
    targets: Mapping[str, float] | None = None,
    title: str = "Validation loss against training time",
    ylabel: str = "validation loss (nats per token)",
) -> Figure:
    """One line per run: its validation loss against the wall-clock seconds it had trained.

    `runs` maps a name to (seconds, losses), one pair per evaluation. Against time, not epochs
    or steps, models of different cost compare fairly: what each learns in the same minutes.
    `targets` (label -> loss) draws dashed horizontal lines, e.g. a benchmark to reach.
    """
    if not runs:
        raise ValueError("plot_curves_against_time: expected at least one run, got none")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, (seconds, losses) in runs.items():
        xs, ys = _vector(seconds), _vector(losses)
        if xs.ndim != 1 or len(xs) == 0 or xs.shape != ys.shape:
            raise ValueError(
                f"plot_curves_against_time: run {name!r}: expected as many losses as seconds (at least one), "
                f"got {ys.shape} and {xs.shape}"
            )
        if (xs < 0).any() or (np.diff(xs) < 0).any():
            raise ValueError(f"plot_curves_against_time: run {name!r}: expected seconds >= 0 and non-decreasing, got {xs.tolist()}")
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    for n, (label, value) in enumerate((targets or {}).items()):
        ax.axhline(value, color="grey", linestyle=("--", ":", "-.")[n % 3], linewidth=1, label=label)
    ax.set_title(title)
    ax.set_xlabel("wall-clock seconds of training")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_temperature_distributions(
    logits: Float[Tensor, " vocab"],
    token_labels: Sequence[str],
    temperatures: Sequence[float] = (0.5, 1.0, 2.0),
    top: int = 10,
    context: str | None = None,
) -> Figure:
    """The next-token distribution softmax(z / T) at one position, one panel per temperature.

    Each panel has the same `top` tokens (the most likely, most likely first) so the eye sees
    the mass move: T < 1 piles it on the favourite, T > 1 spreads it to the rest. Each title
    gives the entropy; the text in the corner, the mass left to the tokens not drawn.
    """
    values = _logits("plot_temperature_distributions: logits", logits, token_labels)
    temperatures = list(temperatures)
    if not temperatures or top < 1:
        raise ValueError(f"plot_temperature_distributions: expected temperatures and top >= 1, got {temperatures}, {top}")
    shown = values.argsort(descending=True, stable=True)[: min(top, len(values))]
    labels = [visible(token_labels[int(t)]) for t in shown]
    fig, axes = plt.subplots(1, len(temperatures), figsize=(min(15.0, 4.2 * len(temperatures)), 3.6),
                             sharey=True, squeeze=False)
    for ax, temperature in zip(axes[0], temperatures):
        probabilities = next_token_distribution(values[None], temperature)[0]
        heights = probabilities[shown].numpy()
        ax.bar(range(len(shown)), heights, color="tab:blue")
        ax.set_xticks(range(len(shown)), labels, rotation=0 if max(map(len, labels)) <= 2 else 60)
        ax.set_title(f"T = {temperature:g}: entropy {entropy(probabilities).item():.2f} nats")
        ax.text(0.97, 0.95, f"other tokens: {1 - heights.sum():.3f}", transform=ax.transAxes, ha="right", va="top", fontsize=8)
        ax.set_xlabel("next token")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("probability")
    after = f" after {context!r}" if context else ""
    fig.suptitle(f"Next-token distribution{after} at {len(temperatures)} temperature{'s' if len(temperatures) > 1 else ''}")
    fig.tight_layout()
    return fig


def plot_entropy_against_temperature(
    curves: Mapping[str, Float[Tensor, " vocab"]],
    temperatures: Numbers | None = None,
    title: str = "Entropy of the next-token distribution against temperature",
) -> Figure:
    """H(softmax(z / T)) against T (log scale) for each entry's logits z (label -> logits).

    Entropy rises with T, from 0 (greedy) towards ln V (uniform), drawn as a dashed line.
    """
    if not curves:
        raise ValueError("plot_entropy_against_temperature: expected at least one row of logits, got none")
    ts = _vector(np.geomspace(0.05, 20.0, 60) if temperatures is None else temperatures)
    if ts.ndim != 1 or len(ts) == 0 or (ts <= 0).any():
        raise ValueError(f"plot_entropy_against_temperature: expected positive temperatures, got {ts.tolist()}")
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    sizes = set()
    for label, logits in curves.items():
        values = _logits(f"plot_entropy_against_temperature: {label!r}", logits)
        sizes.add(len(values))
        entropies = [entropy(next_token_distribution(values[None], float(t)))[0].item() for t in ts]
        ax.plot(ts, entropies, label=label)
    for size in sorted(sizes):
        ax.axhline(np.log(size), color="grey", linestyle="--", linewidth=1, label=f"uniform over {size}: ln {size} = {np.log(size):.2f}")
    ax.axvline(1.0, color="black", linestyle=":", linewidth=1, label="T = 1: the model's own distribution")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_xlabel("temperature T (log scale)")
    ax.set_ylabel("entropy H (nats)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_attention_over_text(
    weights: Float[Tensor, "seq seq"],
    tokens: Sequence[str] | str,
    prompt_length: int | None = None,
    title: str = "Attention of one head over a generated line",
) -> Figure:
    """One head's causal self-attention over a text, its tokens (e.g. characters) on both axes.

    Row i is where the model looked when predicting the token after token i; everything above
    the diagonal is 0 (the future). `prompt_length` draws lines between the prompt and the
    generated tokens.
    """
    values = _numpy("plot_attention_over_text: weights", weights, "q_seq kv_seq")
    n = values.shape[0]
    if values.shape[1] != n:
        raise ValueError(f"plot_attention_over_text: expected square self-attention weights (seq, seq), got {values.shape}")
    labels = [visible(token) for token in tokens]
    if len(labels) != n:
        raise ValueError(f"plot_attention_over_text: expected {n} tokens (one per row of weights), got {len(labels)}")
    if prompt_length is not None and not 0 < prompt_length <= n:
        raise ValueError(f"plot_attention_over_text: expected prompt_length in [1, {n}], got {prompt_length}")
    fig = plot_attention_weights(weights, labels, labels, title=title)
    ax = fig.axes[0]
    if n > 24:  # one character per tick: room for each label
        side = min(12.0, 0.17 * n + 2.0)
        fig.set_size_inches(side + 1.5, side)
        ax.tick_params(labelsize=7)
    if prompt_length is not None and prompt_length < n:
        for line in (ax.axhline, ax.axvline):
            line(prompt_length - 0.5, color="white", linewidth=1.5, linestyle="--")
        ax.set_xlabel("key (dashed line: end of the prompt)")
    return fig
