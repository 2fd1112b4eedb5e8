"""Spec for the tagging chapter's figures (chapter 13): each draws what it is given (words and tags,
wrong tags marked, matrices the right way round, the Viterbi path) and refuses mismatched input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from transformer.plotting.tagging import (  # noqa: E402
    RIGHT_COLOUR,
    WRONG_COLOUR,
    plot_seen_unseen_accuracy,
    plot_tag_confusion,
    plot_tagged_sentence,
    plot_transitions,
    plot_viterbi_lattice,
)
from transformer.tagging.crf import viterbi_decode, viterbi_lattice  # noqa: E402

pytestmark = pytest.mark.tagging

WORDS = ["The", "old", "man", "the", "boats", "."]
GOLD = ["DET", "NOUN", "VERB", "DET", "NOUN", "PUNCT"]
PREDICTED = ["DET", "ADJ", "NOUN", "DET", "NOUN", "PUNCT"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def boxed_texts(fig):
    """(text, box colour) of every boxed text of the first axes."""
    return [(t.get_text(), to_hex(t.get_bbox_patch().get_facecolor())) for t in fig.axes[0].texts if t.get_bbox_patch()]


def test_tagged_sentence_puts_each_tag_under_its_word_and_marks_the_wrong_ones():
    """Two of six tags are wrong: two red tag boxes, each with its gold tag written under it."""
    fig = plot_tagged_sentence(WORDS, PREDICTED, GOLD)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert all(word in texts for word in WORDS), f"a word is missing from {texts}"
    assert [text for text, _ in boxed_texts(fig)] == PREDICTED, "the tag boxes are not the predicted tags in order"
    red = [text for text, colour in boxed_texts(fig) if colour == WRONG_COLOUR]
    assert red == ["ADJ", "NOUN"], f"expected the wrong tags ADJ, NOUN in red, got {red}"
    assert "gold NOUN" in texts and "gold VERB" in texts, "the gold tags of the wrong words are not shown"
    assert "2 of 6 tags wrong" in ax.get_title(), f"the title {ax.get_title()!r} should say '2 of 6 tags wrong'"
    for word, tag in zip((t for t in ax.texts if t.get_text() in WORDS), (t for t in ax.texts if t.get_bbox_patch())):
        assert word.get_position()[0] == tag.get_position()[0] and word.get_position()[1] > tag.get_position()[1], (
            f"tag {tag.get_text()!r} is not right under {word.get_text()!r}")


def test_without_gold_tags_nothing_is_marked_and_long_sentences_wrap():
    fig = plot_tagged_sentence(WORDS * 8, PREDICTED * 8, max_width=40)
    assert {colour for _, colour in boxed_texts(fig)} == {RIGHT_COLOUR}, "without gold tags no tag should be red"
    heights = {t.get_position()[1] for t in fig.axes[0].texts if t.get_text() in WORDS}
    assert len(heights) > 1, "48 words in lines of 40 characters should wrap onto several lines"


def test_confusion_rows_are_gold_tags_columns_predicted_and_colour_is_the_row_share():
    """matrix[gold][predicted], as metrics.confusion_matrix: 3 NOUNs tagged VERB is row NOUN, column VERB."""
    matrix = [[5, 3], [0, 2]]  # NOUN: 5 right, 3 tagged VERB; VERB: 2 right
    fig = plot_tag_confusion(matrix, ["NOUN", "VERB"])
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["NOUN", "VERB"] and ax.get_ylabel() == "gold tag", (
        f"rows should be the gold tags ['NOUN', 'VERB'] labelled 'gold tag', got {rows} labelled {ax.get_ylabel()!r}")
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns == ["NOUN", "VERB"] and ax.get_xlabel() == "predicted tag", (
        f"columns should be the predicted tags ['NOUN', 'VERB'] labelled 'predicted tag', "
        f"got {columns} labelled {ax.get_xlabel()!r}")
    shares = ax.images[0].get_array()
    assert shares[0, 1] == pytest.approx(3 / 8) and shares[1, 1] == pytest.approx(1.0), f"row shares are {shares}"
    cells = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "5", (0, 1): "3", (1, 1): "2"}, f"counts drawn: {cells}"


def test_transition_heatmap_has_tag_names_and_optional_start_row_and_end_column():
    transitions = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    fig = plot_transitions(transitions, ["DET", "NOUN"], start=torch.tensor([3.0, -1.0]), end=torch.tensor([-0.5, 2.0]))
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["START", "DET", "NOUN"], f"rows (from tag) should be START then the tags, got {rows}"
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns == ["DET", "NOUN", "END"], f"columns (to tag) should be the tags then END, got {columns}"
    table = ax.images[0].get_array()
    assert table[1, 1] == -2.0 and table[0, 0] == 3.0 and table[2, 2] == 2.0, f"cells are not [from, to]: {table}"
    assert table.mask[0, 2], "START -> END is no transition and should be blank"
    low, high = ax.images[0].get_clim()
    assert low == -high, f"the colour scale should be centred on 0, got ({low}, {high})"


def test_viterbi_lattice_draws_every_back_pointer_and_highlights_the_decoded_path():
    """From the CRF's own recursion: seq * tags nodes, (seq - 1) * tags arrows, seq - 1 of them on the path."""
    generator = torch.Generator().manual_seed(0)
    emissions = torch.randn(1, 4, 3, generator=generator)
    transitions, start, end = torch.randn(3, 3, generator=generator), torch.randn(3, generator=generator), torch.randn(3, generator=generator)
    mask = torch.ones(1, 4, dtype=torch.bool)
    deltas, pointers = viterbi_lattice(emissions, mask, transitions, start)
    path, _ = viterbi_decode(emissions, mask, transitions, start, end)
    fig = plot_viterbi_lattice(["a", "b", "c", "d"], ["X", "Y", "Z"], deltas[0], pointers[0], path[0], end=end)
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 3 * 3, f"expected one arrow per node after the first position, got {len(arrows)}"
    on_path = [a for a in arrows if to_hex(a.get_edgecolor()) == RIGHT_COLOUR]
    assert len(on_path) == 3, f"expected the 3 arrows of the best path highlighted, got {len(on_path)}"
    nodes = boxed_texts(fig)
    assert len(nodes) == 4 * 3, f"expected 12 nodes, got {len(nodes)}"
    highlighted = [t for t in ax.texts if t.get_bbox_patch() and to_hex(t.get_bbox_patch().get_facecolor()) == RIGHT_COLOUR]
    cells = [(round(t.get_position()[0]), round(t.get_position()[1])) for t in highlighted]
    assert cells == list(enumerate(path[0].tolist())), (
        f"highlighted nodes (position, tag) {cells}, expected the decoded path {list(enumerate(path[0].tolist()))}")
    assert sum("+ end" in t.get_text() for t in ax.texts) == 3, "the end scores of the last position are not shown"


def test_seen_unseen_bars_are_grouped_per_model_with_their_values():
    fig = plot_seen_unseen_accuracy({"baseline": (0.92, 0.31), "BiLSTM + chars": (0.96, 0.85)}, counts=(22802, 2292))
    ax = fig.axes[0]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [92.0, 96.0, 31.0, 85.0], f"bars (seen for each model, then unseen): {heights}"
    groups = [t.get_text() for t in ax.get_xticklabels()]
    assert groups == ["baseline", "BiLSTM + chars"], f"one group of bars per model in order expected, got {groups}"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["seen words (22,802)", "unseen words (2,292)"], (
        f"the legend should name seen and unseen words with their counts, got {legend}")
    assert ax.get_ylabel() and ax.get_title(), (
        f"the plot needs a y label and a title, got {ax.get_ylabel()!r} and {ax.get_title()!r}")


def test_mismatched_input_is_refused_in_one_line(runtime_checks):
    with pytest.raises(ValueError, match=r"plot_tagged_sentence: tags: expected 2 tags \(one per word\), got 1"):
        plot_tagged_sentence(["a", "b"], ["X"])
    with pytest.raises(ValueError, match=r"plot_tag_confusion: matrix: expected shape \(3, 3\), got \(2, 2\)"):
        plot_tag_confusion([[1, 0], [0, 1]], ["A", "B", "C"])
    with pytest.raises(ValueError, match=r"plot_transitions: transitions: expected shape \(tags=3, tags=3\), got \(2, 2\)"):
        plot_transitions(torch.zeros(2, 2), ["A", "B", "C"])
    with pytest.raises(ValueError, match=r"expected a path of 2 tags"):
        plot_viterbi_lattice(["a", "b"], ["X", "Y"], torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long), [0, 5])
    with pytest.raises(ValueError, match=r"expected \(seen, unseen\) fractions in \[0, 1\] for 'm', got \(93.0, 40.0\)"):
        plot_seen_unseen_accuracy({"m": (93.0, 40.0)})
