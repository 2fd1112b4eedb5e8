"""Spec for transformer/plotting/classification.py: each figure of chapter 12 draws what it is
given (the counts, the words, the classes) and refuses mismatched input in one line."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from transformer.plotting.classification import (  # noqa: E402
    plot_accuracy_by_model,
    plot_confusion_matrix,
    plot_explained_sentence,
    plot_sentence_vectors,
    plot_top_words,
)

pytestmark = pytest.mark.classification


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def ticks(labels) -> list[str]:
    return [label.get_text() for label in labels]


def test_confusion_matrix_writes_every_count_with_actual_rows_and_predicted_columns():
    fig = plot_confusion_matrix([[5, 1, 0], [2, 7, 1], [0, 0, 9]], ["neg", "neu", "pos"])
    ax = fig.axes[0]
    assert isinstance(fig, Figure), f"expected a Figure, got {type(fig).__name__}"
    assert texts(ax) == ["5", "1", "0", "2", "7", "1", "0", "0", "9"], f"cell texts {texts(ax)}, expected the counts row by row"
    assert ticks(ax.get_xticklabels()) == ticks(ax.get_yticklabels()) == ["neg", "neu", "pos"], "class names missing"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "actual class"), "axes say which way round"
    with pytest.raises(ValueError, match=r"plot_confusion_matrix: expected 3 class names \(one per row\), got 2"):
        plot_confusion_matrix(torch.eye(3), ["a", "b"])


def test_top_words_draws_one_panel_per_class_with_its_heaviest_words_first():
    weights = torch.tensor([[0.1, 2.0, -1.0, 0.5], [1.5, -0.2, 0.9, 0.0]])
    fig = plot_top_words(weights, ["the", "fire", "calm", "smoke"], ["disaster", "irrelevant"], k=2)
    panels = fig.axes
    assert [ax.get_title() for ax in panels] == ["disaster", "irrelevant"], "one panel per class, titled by it"
    assert ticks(panels[0].get_yticklabels()) == ["fire", "smoke"], f"panel 0 words {ticks(panels[0].get_yticklabels())}"
    assert ticks(panels[1].get_yticklabels()) == ["the", "calm"], f"panel 1 words {ticks(panels[1].get_yticklabels())}"
    widths = [patch.get_width() for patch in panels[0].patches]
    assert widths == pytest.approx([2.0, 0.5]), f"bar lengths {widths}, expected the two largest weights"
    with pytest.raises(ValueError, match=r"plot_top_words: expected 4 words \(one per column of weights\), got 3"):
        plot_top_words(weights, ["a", "b", "c"], ["x", "y"])


def test_explained_sentence_shows_each_word_and_its_importance_in_colour():
    fig = plot_explained_sentence(["forest", "fire", "near", "town"], torch.tensor([0.2, 0.5, -0.1, 0.0]))
    ax = fig.axes[0]
    assert texts(ax) == ["forest", "+0.200", "fire", "+0.500", "near", "-0.100", "town", "+0.000"], texts(ax)
    backgrounds = [text.get_bbox_patch().get_facecolor() for text in ax.texts[::2]]
    assert backgrounds[1][0] > backgrounds[1][2] and backgrounds[2][2] > backgrounds[2][0], (
        f"the most important word should be red, a negative one blue; got {backgrounds}")
    with pytest.raises(ValueError, match=r"plot_explained_sentence: expected 2 words \(one per importance\), got 3"):
        plot_explained_sentence(["a", "b", "c"], [0.1, 0.2])


def test_sentence_vectors_are_coloured_by_class_with_a_legend():
    points = torch.randn(10, 2)
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1, 1, 1])
    fig = plot_sentence_vectors(points, labels, ["relevant", "not relevant"])
    ax = fig.axes[0]
    sizes = [len(collection.get_offsets()) for collection in ax.collections]
    assert sizes == [4, 6], f"dots per class {sizes}, expected [4, 6]"
    assert ticks(ax.get_legend().get_texts()) == ["relevant", "not relevant"], "the legend names the classes"
    assert ax.get_xlabel() and ax.get_ylabel(), "axes are unlabelled"
    with pytest.raises(ValueError, match=r"plot_sentence_vectors: expected labels in \[0, 2\), got values in \[0, 2\]"):
        plot_sentence_vectors(points, labels * 2, ["a", "b"])


def test_accuracy_by_model_draws_one_labelled_bar_per_model():
    fig = plot_accuracy_by_model({"TF-IDF + LR": 0.81, "TextCNN": 0.84, "BiLSTM": 0.835})
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([0.81, 0.84, 0.835]), f"bar heights {heights}"
    assert ticks(ax.get_xticklabels()) == ["TF-IDF + LR", "TextCNN", "BiLSTM"], "bars are not named by model"
    assert texts(ax) == ["81.0%", "84.0%", "83.5%"], f"bar labels {texts(ax)}"
    with pytest.raises(ValueError, match=r"plot_accuracy_by_model: expected accuracies in \[0, 1\], got 81.0 for 'LR'"):
        plot_accuracy_by_model({"LR": 81.0})
