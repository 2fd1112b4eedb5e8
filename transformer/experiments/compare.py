"""Side-by-side comparison of model families on one task, whatever its shape, and the README's demo.

`compare` trains each model on the same data and batches, with the recurrent models sized to
the Transformer's parameter count (`match_size`), then writes `comparison.md` (a table),
`summaries.json`, `curves.png` (learning curves overlaid) and, for sequence-to-sequence tasks,
`accuracy_by_length.png`. Every argument is checked before any training starts. The folder
follows the run-folder rules: an existing comparison is refused unless `resume` (finished runs
are reused, an interrupted one continues) or `force` (start over).
"""

import time
from pathlib import Path

from transformer.checkpoint import write_json
from transformer.experiments.evaluate import TRANSLATION_TASKS
from transformer.experiments.recipes import RECIPES, check_model
from transformer.experiments.runs import holds_a_run, train_run
from transformer.interface import CLASSIFICATION, LANGUAGE_MODEL, SEQ2SEQ, TAGGING
from transformer.tasks import load_task, task_shape
from transformer.tasks.registry import check_task_options

# The demo trains with each task's recipe, but number words for 10 of its 20 epochs, so that the
# whole demo fits in about 5 minutes on a 2-core CPU; `benchmarks/tasks.py` runs the full recipes
# (see BENCHMARKS.md for both). Then one synthetic task of each other shape, a Transformer beside
# a recurrent model, in seconds each.
DEMO_PLAN = {  # task -> the models compared on it
    "copy": ("transformer", "lstm-bahdanau"),
    "numbers": ("transformer", "lstm-bahdanau"),
    "sorted": ("transformer", "lstm"),
    "running-max": ("transformer", "bilstm"),
    "grammar": ("transformer", "lstm"),
}
DEMO_MODELS = DEMO_PLAN["copy"]
DEMO_SETTINGS = {"numbers": {"epochs": 10}}
DEMO_MEASURED = "4 min 39 s on an idle 2-core CPU (2026-12-02)"
QUICK_TASK_OPTIONS = {
    "copy": dict(n_train=256, n_valid=32, n_test=32, n_long=32),
    "reverse": dict(n_train=256, n_valid=32, n_test=32, n_long=32),
    "numbers": dict(max_number=300, n_valid=20, n_test=20),
    "sorted": dict(n_train=200, n_valid=40, n_test=40),
    "running-max": dict(n_train=200, n_valid=40, n_test=40),
    "grammar": dict(n_train=200, n_valid=40),
}
# What each shape's learning curves and table show.
CURVE_METRICS = {
    SEQ2SEQ: ("train_loss", "valid_loss", "valid_token_accuracy"),
    CLASSIFICATION: ("train_loss", "valid_loss", "valid_accuracy"),
    TAGGING: ("train_loss", "valid_loss", "valid_token_accuracy"),
    LANGUAGE_MODEL: ("train_loss", "valid_loss", "valid_bits_per_token"),
}


def check_comparison(task: str, models: list[str], epochs: int | None, task_options: dict | None) -> None:
    """Every argument of a comparison, checked before any work starts (one line for the first bad one)."""
    if task not in RECIPES:
        raise ValueError(f"unknown task {task!r}: expected one of {', '.join(RECIPES)}")
    if not models:
        raise ValueError("compare: expected at least one model name")
    repeated = sorted({m for m in models if models.count(m) > 1})
    if repeated:
        raise ValueError(f"compare: each model once, got {', '.join(repeated)} more than once")
    for name in models:
        check_model(name, task_shape(task), f"task {task!r}")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise ValueError(f"compare: expected epochs to be a positive integer, got {epochs!r}")
    check_task_options(task, {**RECIPES[task].task_options, **(task_options or {})})


def compare(task: str, models: list[str], out: Path, epochs: int | None = None, task_options: dict | None = None,
            progress: bool = True, log=print, data=None, resume: bool = False, force: bool = False,
            time_limit: float | None = None) -> list[dict]:
    """Train `models` on `task` at matched size; write and print the comparison; return the summaries.

    `data` is the task already loaded with `task_options` (loaded here when not given). With
    `time_limit` (seconds), each model trains at most that long (`TrainConfig.time_limit`). If a
    run is interrupted, the comparison stops there and the last summary says `"interrupted": True`.
    """
    check_comparison(task, models, epochs, task_options)
    out = Path(out)
    existing = [name for name in models if holds_a_run(out / name)]
    if existing and not (resume or force):
        raise ValueError(f"{out} already holds runs ({', '.join(existing)}): continue with --resume, "
                         "or start over with --force (or choose another --out)")
    data = data if data is not None else load_task(task, **{**RECIPES[task].task_options, **(task_options or {})})
    train_overrides = {"epochs": epochs} if epochs is not None else {}
    if time_limit is not None:
        train_overrides["time_limit"] = float(time_limit)
    summaries, target = [], None
    ordered = sorted(models, key=lambda m: m != "transformer")  # the Transformer sets the size to match
    for name in ordered:
        run_dir = out / name
        started = time.perf_counter()
        if resume and (run_dir / "metrics.json").exists():
            import json

            summary = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
            log(f"{name}: finished earlier, reusing {run_dir}")
        elif resume and (run_dir / "checkpoint_last.pt").exists():
            summary = train_run(task, name, run_dir, resume=True, progress=progress, log=log, data=data)
        else:
            summary = train_run(task, name, run_dir, task_options=task_options, train_overrides=train_overrides,
                                match_parameters=None if name == "transformer" else target, progress=progress,
                                log=log, data=data, force=force)
        summaries.append(summary)
        if summary.get("interrupted"):
            return summaries
        log(f"{name} on {task}: done in {time.perf_counter() - started:.0f} s")
        if name == "transformer":
            target = summary["parameters"]
    table = comparison_table(summaries, task)
    (out / "comparison.md").write_text(table + "\n", encoding="utf-8")
    write_json(out / "summaries.json", summaries)
    _plots(out, summaries, data)
    log("\n" + table)
    return summaries


def comparison_table(summaries: list[dict], task: str) -> str:
    """A Markdown table: one row per model, with the columns the task's shape is scored by."""
    shape = summaries[0].get("shape", SEQ2SEQ) if summaries else SEQ2SEQ
    header = ["model", "parameters", "train time (s)", "best epoch"]
    if shape == SEQ2SEQ:
        header += ["test exact match", "test token accuracy"]
        if task in TRANSLATION_TASKS:
            header += ["BLEU", "chrF"]
        if any("test_long" in s for s in summaries):
            header += ["exact match, longer than training"]
    elif shape == CLASSIFICATION:
        header += ["test accuracy", "test macro F1"]
    elif shape == TAGGING:
        header += ["test accuracy", "seen words", "unseen words"]
    else:
        header += ["test loss (nats/token)", "bits/token", "perplexity"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        test = s["test"]
        cells = [s["model"], f"{s['parameters']:,}", f"{s['train_seconds']:.0f}", str(s["best_epoch"])]
        if shape == SEQ2SEQ:
            cells += [f"{test['exact_match']:.3f}", f"{test['token_accuracy']:.3f}"]
            if task in TRANSLATION_TASKS:
                cells += [f"{test['bleu']:.2f}", f"{test['chrf']:.2f}"]
            if "test_long" in s:
                cells += [f"{s['test_long']['exact_match']:.3f}"]
        elif shape == CLASSIFICATION:
            cells += [f"{test['accuracy']:.3f}", f"{test['macro_f1']:.3f}"]
        elif shape == TAGGING:
            # no unseen (or seen) word in the test split, as in running-max: no accuracy to show
            cells += [f"{test['token_accuracy']:.3f}"] + [
                f"{test[f'{kind}_accuracy']:.3f}" if test.get(f"{kind}_tokens", 1) else "-" for kind in ("seen", "unseen")]
        else:
            cells += [f"{test['loss']:.3f}", f"{test['bits_per_token']:.3f}", f"{test['perplexity']:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _plots(out: Path, summaries: list[dict], data) -> None:
    from transformer.plotting.save import save_figure_to

    save_figure_to(plot_curves(summaries, title=f"{data.name}: learning curves"), out / "curves.png")
    if data.shape == SEQ2SEQ:
        # the longest training length is a line worth drawing only where the lengths of training and
        # test are the same kind of thing the model must generalise over (copy, reverse)
        longest = max(len(source) for source, _ in data.train) if data.name in ("copy", "reverse") else None
        figure = plot_exact_match_by_length(summaries, longest, title=f"{data.name}: exact match by source length")
        save_figure_to(figure, out / "accuracy_by_length.png")


def plot_curves(summaries: list[dict], metrics=None, title: str | None = None):
    """Learning curves of every run overlaid, one panel per metric (the shape's, by default)."""
    from transformer.plotting.training import plot_learning_curves

    shape = summaries[0].get("shape", SEQ2SEQ) if summaries else SEQ2SEQ
    return plot_learning_curves({s["model"]: s["history"] for s in summaries}, metrics or CURVE_METRICS[shape],
                                title=title)


def plot_exact_match_by_length(summaries: list[dict], train_max_length: int | None = None, title: str | None = None):
    """Test exact match against source length for every run (the `test_long` split included),
    with how many test items each length has."""
    from transformer.plotting.training import plot_accuracy_by_length

    by_length, counts = {}, {}
    for s in summaries:
        merged = {}
        for split in ("test", "test_long"):
            if split in s:
                merged.update({int(k): v for k, v in s[split]["exact_match_by_source_length"].items()})
                counts.update({int(k): v for k, v in s[split].get("items_by_source_length", {}).items()})
        by_length[s["model"]] = merged
    return plot_accuracy_by_length(by_length, train_max_length=train_max_length, counts=counts or None, title=title)


def demo(out: Path, progress: bool = True, quick: bool = False, log=print, resume: bool = False,
         force: bool = False) -> dict:
    """The main job: the Transformer beside a recurrent model on a task of every shape."""
    started = time.perf_counter()
    plan = {task: (dict(task_options=QUICK_TASK_OPTIONS[task], epochs=1) if quick else DEMO_SETTINGS.get(task, {}))
            for task in DEMO_PLAN}
    for task, settings in plan.items():
        check_comparison(task, list(DEMO_PLAN[task]), settings.get("epochs"), settings.get("task_options"))
    epochs = {task: settings.get("epochs", RECIPES[task].train["epochs"]) for task, settings in plan.items()}
    log(f"demo: {' and '.join(DEMO_MODELS)} on copy ({epochs['copy']} epochs) and German -> English number words "
        f"({epochs['numbers']} of the recipe's {RECIPES['numbers'].train['epochs']} epochs), then a task of each "
        f"other shape: " + ", ".join(f"{task} ({task_shape(task).replace('_', ' ')})" for task in list(DEMO_PLAN)[2:])
        + ("" if quick else f"; the whole demo took {DEMO_MEASURED}, longer on a busy or slower machine"))
    results = {}
    for task, settings in plan.items():
        log(f"\n=== {task} ({task_shape(task).replace('_', ' ')}) ===")
        results[task] = compare(task, list(DEMO_PLAN[task]), Path(out) / task, progress=progress, log=log,
                                resume=resume, force=force, **settings)
        if results[task] and results[task][-1].get("interrupted"):
            return results
    log(f"\ndemo finished in {time.perf_counter() - started:.0f} s; tables and plots in {out}/*/")
    return results
