"""Every task shape through the one harness: `transformer train` on each shape's synthetic task,
scored by its shape's metrics, interrupted and resumed to exactly the uninterrupted result, and
used on new text by its own command (classify, tag, generate)."""

import importlib
import json

import pytest
import torch

from transformer.cli import main
from transformer.experiments.recipes import check_model, model_names, parse_model_name
from transformer.tasks import TASK_SHAPES, load_task

pytestmark = pytest.mark.experiments

TINY = {
    "sorted": ["--task-option", "n_train=96", "--task-option", "n_valid=16", "--task-option", "n_test=16"],
    "running-max": ["--task-option", "n_train=96", "--task-option", "n_valid=16", "--task-option", "n_test=16"],
    "grammar": ["--task-option", "n_train=60", "--task-option", "n_valid=12", "--batch-tokens", "128"],
}
# One model of each family a shape can take, as small as the recipe makes it.
CASES = [("sorted", "transformer"), ("sorted", "bilstm"), ("sorted", "textcnn"), ("sorted", "tfidf"),
         ("running-max", "transformer-char-crf"), ("running-max", "bigru-crf"),
         ("grammar", "transformer"), ("grammar", "gru")]
METRICS = {"classification": "accuracy", "tagging": "unseen_accuracy", "language_model": "bits_per_token"}


def train_args(task, model, run, epochs=2):
    return ["train", "--task", task, "--model", model, "--run-dir", str(run), "--epochs", str(epochs), "--no-progress",
            "--no-bf16", *TINY[task]]


@pytest.fixture
def interrupt_at_step(monkeypatch):
    """Make `transformer train` stop as Ctrl-C would, after the given step."""
    runs = importlib.import_module("transformer.experiments.runs")
    real_train = runs.train

    def arm(step: int):
        def train(*args, **kwargs):
            def on_step(n, loss):
                if n == step:
                    raise KeyboardInterrupt

            return real_train(*args, **{**kwargs, "on_step": on_step})

        monkeypatch.setattr(runs, "train", train)
        return lambda: monkeypatch.setattr(runs, "train", real_train)

    return arm


@pytest.mark.parametrize("task, model", CASES, ids=[f"{t}-{m}" for t, m in CASES])
def test_each_shape_trains_end_to_end_and_resumes_exactly(task, model, tmp_path, interrupt_at_step):
    """Train, and train again interrupted after step 3 then resumed: the same weights, bit for bit,
    and the same history and test scores (timings aside)."""
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert main(train_args(task, model, straight)) == 0, f"{model} on {task} failed"
    metrics = json.loads((straight / "metrics.json").read_text())
    shape = TASK_SHAPES[task]
    assert metrics["shape"] == shape and METRICS[shape] in metrics["test"], f"test scores: {sorted(metrics['test'])}"

    disarm = interrupt_at_step(3)
    assert main(train_args(task, model, interrupted)) == 130, "an interrupted train must exit 130"
    disarm()
    assert main(["train", "--resume", str(interrupted), "--no-progress"]) == 0, "resume failed"
    a = torch.load(straight / "checkpoint_last.pt", weights_only=True)["model"]
    b = torch.load(interrupted / "checkpoint_last.pt", weights_only=True)["model"]
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0, msg=lambda m, name=name: f"{name}: {m}")
    drop = ("seconds", "tokens_per_second", "sentences_per_second")
    history = [json.loads((run / "history.json").read_text())["epochs"] for run in (straight, interrupted)]
    assert [{k: v for k, v in r.items() if k not in drop} for r in history[0]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in history[1]], "the resumed history differs"
    scores = [json.loads((run / "metrics.json").read_text())["test"][METRICS[shape]] for run in (straight, interrupted)]
    assert scores[0] == scores[1], f"test {METRICS[shape]}: {scores}"


def test_each_shape_is_used_by_its_own_command(tmp_path, capsys):
    runs = {}
    for task, model in (("sorted", "lstm"), ("running-max", "bilstm-char"), ("grammar", "transformer")):
        runs[task] = tmp_path / task
        assert main(train_args(task, model, runs[task], epochs=1)) == 0, f"{model} on {task} failed"
    capsys.readouterr()
    assert main(["classify", str(runs["sorted"]), "a b c", "c b a"]) == 0, "classify failed"
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.split("\t")[0] in ("sorted", "unsorted") for line in lines), lines
    assert main(["classify", str(runs["sorted"]), "a c b", "--explain", "lime"]) == 0, "classify --explain failed"
    label_line, words_line = capsys.readouterr().out.splitlines()
    ranked = [item.split()[0] for item in words_line.strip().split(", ")]
    assert sorted(ranked) == ["a", "b", "c"], f"--explain should rank every word once, got {words_line!r}"
    assert main(["tag", str(runs["running-max"]), "a c b"]) == 0, "tag failed"
    pairs = capsys.readouterr().out.split()
    assert [pair.split("/")[0] for pair in pairs] == ["a", "c", "b"] and all("/" in pair for pair in pairs), pairs
    generate = ["generate", str(runs["grammar"]), "--prompt", "the cat", "--tokens", "5", "--seed", "1"]
    assert main(generate) == 0, "generate failed"
    first = capsys.readouterr().out
    assert main(generate) == 0, "generate failed the second time with the same seed"
    assert capsys.readouterr().out == first and first.startswith("the cat"), f"same seed, other text: {first!r}"
    code, out = main(["evaluate", str(runs["grammar"])]), capsys.readouterr().out
    assert code == 0 and "bits/token" in out, f"evaluate should exit 0 and report bits/token, got {code}: {out!r}"


def test_a_model_that_cannot_serve_the_tasks_shape_is_refused_naming_its_shapes(capsys, tmp_path):
    code = main(["train", "--task", "grammar", "--model", "lstm-bahdanau", "--run-dir", str(tmp_path / "r")])
    assert code == 2, f"a seq2seq model on a language-model task should exit with 2 (usage error), got {code}"
    err = capsys.readouterr().err.strip()
    assert err == ("error: model 'lstm-bahdanau' serves seq2seq, but task 'grammar' is language_model: it takes one "
                   "of transformer, rnn, lstm, gru"), err


def test_every_task_has_a_recipe_and_every_name_parses():
    """The task registry, the recipes and the model names agree, shape by shape."""
    from transformer.experiments.recipes import RECIPES

    assert set(RECIPES) == set(TASK_SHAPES), f"tasks without a recipe: {set(TASK_SHAPES) ^ set(RECIPES)}"
    for shape in set(TASK_SHAPES.values()):
        for name in model_names(shape):
            check_model(name, shape)
            family, _ = parse_model_name(name, shape)
            assert family in ("transformer", "recurrent", "textcnn", "bag_of_words"), f"{name}: family {family}"


def test_train_help_lists_the_tasks_with_their_shape(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for shape, example in (("seq2seq", "multi30k"), ("classification", "sst2"), ("tagging", "ud-pos"),
                           ("language_model", "shakespeare")):
        line = next((line for line in out.splitlines() if line.strip().startswith(f"{shape}:")), "")
        assert example in line, f"--help lists no {shape} line with {example}: {out[-800:]}"


def test_synthetic_tasks_are_what_their_names_say():
    sorted_task = load_task("sorted", n_train=50, n_valid=10, n_test=10)
    for (ids, label), text in zip(sorted_task.train, sorted_task.texts["train"]):
        symbols = text.split()
        assert (symbols == sorted(symbols)) == (sorted_task.labels.name(label) == "sorted"), (text, label)
    tags = load_task("running-max", n_train=20, n_valid=5, n_test=5)
    for words, (_, tag_ids, _) in zip(tags.words["train"], tags.train):
        running = [max(words[: i + 1]).upper() for i in range(len(words))]
        assert [tags.tags.name(t) for t in tag_ids] == running, (words, tag_ids)
    grammar = load_task("grammar", n_train=20, n_valid=5)
    assert grammar.decode(grammar.train[:40]).splitlines()[0].endswith("."), "a grammar sentence ends with a full stop"


def test_a_run_for_choosing_a_recipe_never_reads_the_test_split(tmp_path, monkeypatch):
    """`train_run(test=False)` (benchmarks/variants.py) scores validation only: no test metric is
    computed, so a recipe chosen from it cannot have been tuned on test."""
    from transformer.experiments import runs

    data = load_task("sorted", n_train=64, n_valid=16, n_test=16)
    evaluated = []
    monkeypatch.setattr(runs, "evaluate_split", lambda model, data, split, *a, **k: evaluated.append(split) or {})
    summary = runs.train_run("sorted", "textcnn", tmp_path / "run", train_overrides={"epochs": 1}, data=data,
                             progress=False, log=lambda *a: None, test=False)
    assert evaluated == [] and "test" not in summary, f"test=False evaluated {evaluated}"
    runs.train_run("sorted", "textcnn", tmp_path / "run", train_overrides={"epochs": 1}, data=data, progress=False,
                   log=lambda *a: None, force=True)
    assert evaluated == ["test"], f"by default the run is scored on test, evaluated {evaluated}"
