"""The comparison runner and the demo: tables, plots, matched sizes."""

import json

import pytest

from transformer.experiments.compare import (
    compare,
    comparison_table,
    demo,
    plot_curves,
    plot_exact_match_by_length,
)
from transformer.interface import SHAPES
from transformer.tasks import task_shape

pytestmark = pytest.mark.experiments


def _summary(model, em, params=1000, long=None, bleu=None):
    test = {"exact_match": em, "token_accuracy": 0.5}
    if bleu is not None:
        test.update(bleu=bleu, chrf=50.0)
    summary = {"model": model, "parameters": params, "train_seconds": 12.0, "best_epoch": 3, "test": test}
    if long is not None:
        summary["test_long"] = {"exact_match": long}
    return summary


def test_comparison_table_has_one_row_per_model_and_translation_columns():
    table = comparison_table([_summary("transformer", 1.0, long=0.4), _summary("lstm", 0.5, long=0.0)], "copy")
    lines = table.splitlines()
    assert len(lines) == 4 and "| transformer | 1,000 | 12 | 3 | 1.000 | 0.500 | 0.400 |" in lines, (
        f"expected a header, a rule and one row per model (the transformer's with its long-split score):\n{table}")
    assert "BLEU" not in table, f"a copy table has no BLEU column:\n{table}"
    translation = comparison_table([_summary("transformer", 0.1, bleu=30.0)], "multi30k")
    assert "BLEU" in translation, f"a translation table needs a BLEU column:\n{translation}"


def test_tagging_table_shows_no_accuracy_for_words_the_test_split_lacks():
    """A tagging test split without unseen words (running-max) shows "-" there, not 0.000."""
    test = {"token_accuracy": 0.99, "seen_accuracy": 0.99, "seen_tokens": 500, "unseen_accuracy": 0.0, "unseen_tokens": 0}
    summary = {"model": "bilstm", "shape": "tagging", "parameters": 10, "train_seconds": 1.0, "best_epoch": 2, "test": test}
    row = comparison_table([summary], "running-max").splitlines()[-1]
    assert row == "| bilstm | 10 | 1 | 2 | 0.990 | 0.990 | - |", f"expected '-' for the unseen words, got {row}"


def test_by_length_plot_joins_the_test_and_longer_splits_per_model():
    """One line per model, running over the training lengths and on into the longer ones."""
    runs = [dict(_summary("transformer", 1.0), model="transformer"), dict(_summary("gru", 0.5), model="gru")]
    for run, (short, long) in zip(runs, ((1.0, 0.2), (0.9, 0.0))):
        run["test"]["exact_match_by_source_length"] = {"1": short, "2": short}
        run["test_long"] = {"exact_match": long, "exact_match_by_source_length": {"3": long, "4": long}}
    ax = plot_exact_match_by_length(runs, train_max_length=2).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    lengths = list(lines["transformer"].get_xdata())
    assert lengths == [1, 2, 3, 4], f"the line should run over the test lengths 1, 2 then the longer 3, 4: {lengths}"
    scores = list(lines["gru"].get_ydata())
    assert scores == [0.9, 0.9, 0.0, 0.0], f"gru's exact match by length, test then longer split: {scores}"
    assert "longest in training" in lines, f"no 'longest in training' line among {sorted(lines)}"


def test_curves_plot_has_one_line_per_model_in_every_panel():
    runs = [dict(model=name, history=[{"epoch": 1, "valid_loss": 2.0}, {"epoch": 2, "valid_loss": 1.0}])
            for name in ("transformer", "lstm", "gru")]
    fig = plot_curves(runs, ("valid_loss",))
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["transformer", "lstm", "gru"], f"expected one line per model in order, got {labels}"


@pytest.mark.slow
def test_compare_matches_recurrent_size_to_the_transformer(tmp_path):
    """A recurrent model is sized to within a few percent of the Transformer's parameters."""
    options = dict(n_train=48, n_valid=8, n_test=8, n_long=8, max_length=4)
    summaries = compare("copy", ["gru", "transformer"], tmp_path, epochs=1, task_options=options, progress=False,
                        log=lambda *a: None)
    by_model = {s["model"]: s for s in summaries}
    ratio = by_model["gru"]["parameters"] / by_model["transformer"]["parameters"]
    assert 0.95 < ratio < 1.05, f"gru has {ratio:.3f}x the Transformer's parameters"
    for name in ("comparison.md", "curves.png", "accuracy_by_length.png", "summaries.json"):
        assert (tmp_path / name).exists(), f"compare did not write {name}"
    written = json.loads((tmp_path / "summaries.json").read_text())
    assert len(written) == 2, f"summaries.json should hold the 2 models' summaries, holds {len(written)}"


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(tmp_path):
    results = demo(tmp_path, progress=False, quick=True, log=lambda *a: None)
    expected = {"copy", "numbers", "sorted", "running-max", "grammar"}
    assert set(results) == expected, f"the quick demo runs a task of every shape {sorted(expected)}, ran {sorted(results)}"
    assert {task_shape(task) for task in results} == set(SHAPES), "the demo should show every shape"
    for task, summaries in results.items():
        assert (tmp_path / task / "comparison.md").exists(), f"the demo wrote no comparison.md for {task}"
        assert len(summaries) == 2 and all("test" in s for s in summaries), f"{task}: expected two tested models"
