"""Side-by-side comparison of model families on one task, and the README's demo.

`compare` trains each model on the same data and batches, with the recurrent models sized to
the Transformer's parameter count (`match_hidden_size`), then writes `comparison.md` (a table),
`curves.png` (learning curves overlaid) and `accuracy_by_length.png`.
"""

import json
import time
from pathlib import Path

from transformer.experiments.evaluate import TRANSLATION_TASKS
from transformer.experiments.runs import train_run
from transformer.tasks import load_task

# The demo trains with each task's recipe, but number words for 10 of its 20 epochs, so that all
# four runs fit in about 5 minutes on a 2-core CPU; `benchmarks/tasks.py` runs the full recipes
# (see BENCHMARKS.md for both).
DEMO_SETTINGS = {"copy": {}, "numbers": {"epochs": 10}}
QUICK_TASK_OPTIONS = {
    "copy": dict(n_train=256, n_valid=32, n_test=32, n_long=32),
    "reverse": dict(n_train=256, n_valid=32, n_test=32, n_long=32),
    "numbers": dict(max_number=300, n_valid=20, n_test=20),
}


def compare(task: str, models: list[str], out: Path, epochs: int | None = None, task_options: dict | None = None,
            progress: bool = True, log=print, data=None) -> list[dict]:
    """Train `models` on `task` at matched size; write and print the comparison; return the summaries.

    `data` is the task already loaded with `task_options` (loaded here when not given).
    """
    if not models:
        raise ValueError("compare: expected at least one model name")
    out = Path(out)
    data = data if data is not None else load_task(task, **(task_options or {}))
    train_overrides = {"epochs": epochs} if epochs else {}
    summaries, target = [], None
    ordered = sorted(models, key=lambda m: m != "transformer")  # the Transformer sets the size to match
    for name in ordered:
        summary = train_run(task, name, out / name, task_options=task_options, train_overrides=train_overrides,
                            match_parameters=None if name == "transformer" else target, progress=progress,
                            log=log, data=data)
        if name == "transformer":
            target = summary["parameters"]
        summaries.append(summary)
    table = comparison_table(summaries, task)
    (out / "comparison.md").write_text(table + "\n")
    (out / "summaries.json").write_text(json.dumps(summaries, indent=2))
    _plots(out, summaries, data)
    log("\n" + table)
    return summaries


def comparison_table(summaries: list[dict], task: str) -> str:
    """A Markdown table: one row per model."""
    translation = task in TRANSLATION_TASKS
    header = ["model", "parameters", "train time (s)", "best epoch", "test exact match", "test token accuracy"]
    if translation:
        header += ["BLEU", "chrF"]
    if any("test_long" in s for s in summaries):
        header += ["exact match, longer than training"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        test = s["test"]
        cells = [s["model"], f"{s['parameters']:,}", f"{s['train_seconds']:.0f}", str(s["best_epoch"]),
                 f"{test['exact_match']:.3f}", f"{test['token_accuracy']:.3f}"]
        if translation:
            cells += [f"{test['bleu']:.2f}", f"{test['chrf']:.2f}"]
        if "test_long" in s:
            cells += [f"{s['test_long']['exact_match']:.3f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _plots(out: Path, summaries: list[dict], data) -> None:
    from transformer.plotting.save import save_figure_to

    save_figure_to(plot_curves(summaries), out / "curves.png")
    longest = max(len(source) for source, _ in data.train)
    save_figure_to(plot_exact_match_by_length(summaries, longest), out / "accuracy_by_length.png")


def plot_curves(summaries: list[dict], metrics=("train_loss", "valid_loss", "valid_token_accuracy")):
    """Learning curves of every run overlaid, one panel per metric."""
    from transformer.plotting.training import plot_learning_curves

    return plot_learning_curves({s["model"]: s["history"] for s in summaries}, metrics)


def plot_exact_match_by_length(summaries: list[dict], train_max_length: int | None = None):
    """Test exact match against source length for every run (the `test_long` split included)."""
    from transformer.plotting.training import plot_accuracy_by_length

    by_length = {}
    for s in summaries:
        merged = {}
        for split in ("test", "test_long"):
            if split in s:
                merged.update({int(k): v for k, v in s[split]["exact_match_by_source_length"].items()})
        by_length[s["model"]] = merged
    return plot_accuracy_by_length(by_length, train_max_length=train_max_length)


def demo(out: Path, progress: bool = True, quick: bool = False, log=print) -> dict:
    """The main job: the Transformer and an LSTM with attention on copy and number words."""
    started = time.perf_counter()
    results = {}
    for task in ("copy", "numbers"):
        log(f"\n=== {task} ===")
        settings = dict(task_options=QUICK_TASK_OPTIONS[task], epochs=1) if quick else DEMO_SETTINGS[task]
        results[task] = compare(task, ["transformer", "lstm-bahdanau"], Path(out) / task, progress=progress, log=log,
                                **settings)
    log(f"\ndemo finished in {time.perf_counter() - started:.0f}s; tables and plots in {out}/*/")
    return results
