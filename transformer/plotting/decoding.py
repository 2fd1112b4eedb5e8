"""Figures for decoding (chapter 10, walkthrough/10_decoding.md): the n-best hypotheses of a beam
search drawn as a prefix tree, and decoding time against output length with and without the
key/value cache. Each function takes plain data (token strings, scores, seconds) and returns a
matplotlib Figure; saving it is the caller's job (`transformer.course.save_figure`)."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

BEST_COLOUR = "#2b6cb0"
OTHER_COLOUR = "#718096"


def plot_beam_tree(
    hypotheses: Sequence[Sequence[str]],
    scores: Sequence[float],
    log_probs: Sequence[float] | None = None,
    title: str = "Beam search: the n-best hypotheses as a prefix tree",
    start_label: str = "<bos>",
) -> Figure:
    """The hypotheses (token strings, best first) as a tree: a shared prefix is drawn once.

    Row r holds hypothesis r (rank r + 1). A node sits on the row of the best hypothesis that
    passes through it, so the best one is the straight top line and every other one branches off
    where it first differs. Each leaf is labelled with its score (and log-probability if given).
    """
    hypotheses = [[str(token) for token in tokens] for tokens in hypotheses]
    if not hypotheses or any(len(tokens) == 0 for tokens in hypotheses):
        raise ValueError("plot_beam_tree: expected at least one hypothesis, each with at least one token")
    if len(scores) != len(hypotheses):
        raise ValueError(f"plot_beam_tree: expected {len(hypotheses)} scores (one per hypothesis), got {len(scores)}")
    if log_probs is not None and len(log_probs) != len(hypotheses):
        raise ValueError(f"plot_beam_tree: expected {len(hypotheses)} log_probs (one per hypothesis), got {len(log_probs)}")

    row_of: dict[tuple[str, ...], int] = {(): 0}  # prefix -> row of the best hypothesis through it
    for rank, tokens in enumerate(hypotheses):
        for t in range(1, len(tokens) + 1):
            row_of.setdefault(tuple(tokens[:t]), rank)
    notes = [f"score {score:.3f}" for score in scores]
    if log_probs is not None:
        notes = [f"log P {log_prob:.3f}, {note}" for log_prob, note in zip(log_probs, notes)]
    longest = max(len(tokens) for tokens in hypotheses)
    widest = max(len(token) for tokens in hypotheses for token in tokens)
    step = max(0.9, 0.09 * widest + 0.45)  # inches between positions: room for the longest token
    note_room = (0.058 * max(len(note) for note in notes) + 0.2) / step  # the leaf notes, in position units
    right = longest + 0.5 + note_room
    fig, ax = plt.subplots(figsize=(min(15.0, step * (right + 0.6) + 1.0), 0.62 * len(hypotheses) + 1.4))

    def draw_node(x: int, y: int, label: str, on_best: bool) -> None:
        colour = BEST_COLOUR if on_best else OTHER_COLOUR
        ax.text(x, y, label, ha="center", va="center", fontsize=9, color="white" if on_best else "black",
                bbox=dict(boxstyle="round,pad=0.25", facecolor=colour if on_best else "#edf2f7", edgecolor=colour))

    draw_node(0, 0, start_label, True)
    for prefix, row in row_of.items():
        if not prefix:
            continue
        parent_row = row_of[prefix[:-1]]
        x = len(prefix)
        ax.plot([x - 1, x], [-parent_row, -row], color=BEST_COLOUR if row == 0 else OTHER_COLOUR,
                linewidth=2.0 if row == 0 else 1.2, zorder=0)
        draw_node(x, -row, prefix[-1], row == 0)
    for rank, tokens in enumerate(hypotheses):
        ax.text(len(tokens) + 0.5, -rank, notes[rank], ha="left", va="center", fontsize=8.5,
                color=BEST_COLOUR if rank == 0 else "black")

    ax.set_xlim(-0.6, right)
    ax.set_ylim(-len(hypotheses) + 0.4, 0.6)
    ax.set_xticks(range(longest + 1))
    ax.set_yticks([-r for r in range(len(hypotheses))], [str(r + 1) for r in range(len(hypotheses))])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("output position t (0 = the start token)")
    ax.set_ylabel("rank (1 = best score)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_decoding_time(
    lengths: Sequence[int],
    cached_seconds: Sequence[float],
    uncached_seconds: Sequence[float],
    title: str = "Greedy decoding time against output length",
) -> Figure:
    """Left: seconds to generate each output length, with and without the key/value cache.
    Right: the speed-up, uncached time / cached time, against the same lengths."""
    xs = np.asarray(lengths, dtype=np.float64)
    cached = np.asarray(cached_seconds, dtype=np.float64)
    uncached = np.asarray(uncached_seconds, dtype=np.float64)
    if xs.ndim != 1 or len(xs) == 0:
        raise ValueError(f"plot_decoding_time: expected a non-empty list of output lengths, got shape {xs.shape}")
    for name, values in (("cached_seconds", cached), ("uncached_seconds", uncached)):
        if values.shape != xs.shape:
            raise ValueError(f"plot_decoding_time: expected {len(xs)} {name} (one per length), got shape {values.shape}")
        if not (values > 0).all():
            raise ValueError(f"plot_decoding_time: expected positive {name}, got {values.tolist()}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.9))
    left.plot(xs, uncached, marker="o", color="tab:red", label="without cache: whole prefix every step")
    left.plot(xs, cached, marker="o", color="tab:blue", label="with key/value cache: one position per step")
    left.set_title(title)
    left.set_xlabel("output length T (tokens generated)")
    left.set_ylabel("seconds")
    left.legend(fontsize=8)
    right.plot(xs, uncached / cached, marker="o", color="black")
    right.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    right.set_title("Speed-up from the cache")
    right.set_xlabel("output length T (tokens generated)")
    right.set_ylabel("uncached time / cached time")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        if xs.min() > 0 and xs.max() / xs.min() >= 8:
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(int(x)) if x == int(x) else str(x) for x in xs])
    fig.tight_layout()
    return fig
