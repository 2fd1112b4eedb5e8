"""The map of the course: chapters in reading order, in lanes, with what each builds on.

Chapter 00 (walkthrough/00_start_here.md). Takes plain data and returns a matplotlib Figure.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

LANE_COLOURS = ("#edf2f7", "#fefcbf", "#c6f6d5", "#bee3f8", "#fed7e2")
BOX_WIDTH, BOX_HEIGHT = 0.8, 0.74


def plot_course_map(
    chapters: Sequence[tuple[str, str, str]],
    builds_on: Mapping[str, Sequence[str]],
    exercises: Mapping[str, int] | None = None,
    title: str = "The course: read left to right; an arrow points to a chapter that builds on another",
) -> Figure:
    """One box per chapter, at its place in the reading order (x) and in its lane (y).

    `chapters`: (number, title, lane) in reading order, e.g. ("06", "Attention", "Transformer");
    lanes are drawn top to bottom in the order they first appear. `builds_on[number]` lists the
    chapters it needs (an arrow from each). `exercises[number]`, if given, is printed in the box.
    """
    if not chapters:
        raise ValueError("plot_course_map: expected at least one chapter, got none")
    numbers = [number for number, _, _ in chapters]
    named = set(builds_on) | {n for needs in builds_on.values() for n in needs}
    unknown = sorted(named - set(numbers))
    if unknown:
        raise ValueError(f"plot_course_map: builds_on names chapters that are not drawn: {', '.join(unknown)}")
    lanes = list(dict.fromkeys(lane for _, _, lane in chapters))
    place = {number: (x, lanes.index(lane)) for x, (number, _, lane) in enumerate(chapters)}

    fig, ax = plt.subplots(figsize=(max(8.0, 0.95 * len(chapters)), 1.0 + 1.1 * len(lanes)))
    for row, lane in enumerate(lanes):
        ax.axhspan(row - 0.5, row + 0.5, color=LANE_COLOURS[row % len(LANE_COLOURS)], zorder=0)
    for number, needs in builds_on.items():
        for need in needs:
            ax.add_patch(_arrow(place[need], place[number]))
    for number, name, _ in chapters:
        x, y = place[number]
        ax.add_patch(FancyBboxPatch(
            (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
            boxstyle="round,pad=0.02", facecolor="white", edgecolor="#2d3748", linewidth=1.0, zorder=2,
        ))
        label = f"{number}\n{_wrap(name)}"
        if exercises is not None:
            count = exercises.get(number, 0)
            label += f"\n{count} exercise{'s' if count != 1 else ''}" if count else "\n(reading)"
        ax.text(x, y, label, ha="center", va="center", fontsize=7.5, zorder=3)

    ax.set_xlim(-0.6, len(chapters) - 0.4)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xticks(range(len(chapters)), numbers)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_xlabel("chapter, in reading order")
    ax.set_ylabel("part of the course")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _arrow(start: tuple[int, int], end: tuple[int, int]) -> FancyArrowPatch:
    """From a chapter to one that builds on it: straight within a lane; across lanes, along the
    earlier chapter's lane first, then down (or up) into the later chapter's box."""
    (x0, y0), (x1, y1) = start, end
    style = dict(arrowstyle="-|>", mutation_scale=11, color="#4a5568", linewidth=1.0, zorder=1)
    if y0 == y1:
        return FancyArrowPatch((x0 + BOX_WIDTH / 2, y0), (x1 - BOX_WIDTH / 2, y1), **style)
    edge = y1 - BOX_HEIGHT / 2 if y1 > y0 else y1 + BOX_HEIGHT / 2  # the y axis points down
    return FancyArrowPatch((x0 + BOX_WIDTH / 2, y0), (x1, edge), connectionstyle="angle,angleA=0,angleB=90,rad=6", **style)


def _wrap(name: str, width: int = 10) -> str:
    """Break a title over lines of about `width` characters, so it fits its box."""
    lines, line = [], ""
    for word in name.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
