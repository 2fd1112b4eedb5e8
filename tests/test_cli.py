"""The `transformer` command: a tiny run end to end, run folders that never lose work, and one
clear line (exit status 2, no traceback) for every kind of bad input."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from transformer.cli import main

pytestmark = pytest.mark.training

TINY_MODEL = ["--set", "d_model=16", "--set", "n_heads=2", "--set", "d_ff=32",
              "--set", "n_encoder_layers=1", "--set", "n_decoder_layers=1"]
TINY_COPY = ["--task-option", "n_train=64", "--task-option", "n_valid=8", "--task-option", "n_test=8",
             "--task-option", "n_long=8", "--task-option", "max_length=5"]


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "copy"
    code = main(["train", "--task", "copy", "--model", "transformer", "--run-dir", str(run), "--epochs", "2",
                 "--no-progress", *TINY_MODEL, *TINY_COPY])
    assert code == 0, f"training the tiny copy run exited {code}"
    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a folder, byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_one_line_error(capsys, argv, expected) -> None:
    """Exit status 2 and exactly one line on stderr, starting `error:`, naming what was wrong."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, f"exit status {code}, expected 2 (stderr: {err!r})"
    assert len(err.splitlines()) == 1 and err.startswith("error: "), f"expected one error line, got {err!r}"
    assert expected in err, f"{expected!r} not in {err!r}"


def test_train_writes_a_complete_run_folder(copy_run):
    """config, both checkpoints, history, test metrics and the learning-curve plot."""
    for name in ("config.json", "checkpoint_best.pt", "checkpoint_last.pt", "history.json", "metrics.json", "curves.png"):
        assert (copy_run / name).exists(), f"{name} missing from the run folder"
    metrics = json.loads((copy_run / "metrics.json").read_text())
    assert metrics["test"]["size"] == 8 and 0.0 <= metrics["test"]["exact_match"] <= 1.0, f"test scores {metrics['test']}"
    assert len(metrics["history"]) == 2, f"{len(metrics['history'])} epochs recorded, expected 2"
    assert not list(copy_run.glob("*.tmp")), "a temporary file was left in the run folder"


def test_evaluate_and_translate_use_the_run(copy_run, capsys):
    assert main(["evaluate", str(copy_run), "--beam", "2"]) == 0, "evaluate failed"
    assert "exact match" in capsys.readouterr().out, "evaluate printed no exact match"
    assert main(["translate", str(copy_run), "c a b", "d e"]) == 0, "translate failed"
    out = capsys.readouterr().out
    assert len(out.split("\n")) == 3, f"expected one output line per input, got {out!r}"  # two lines + final ""


def test_translate_reads_stdin_and_draws_the_attention_map(copy_run, capsys, monkeypatch, tmp_path):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a b c\nd e\n"))
    png = tmp_path / "align.png"
    assert main(["translate", str(copy_run), "--attention", str(png)]) == 0, "translate --attention failed"
    assert len(capsys.readouterr().out.splitlines()) == 2, "expected two translated lines"
    assert png.exists() and png.stat().st_size > 1000, "no attention map was drawn"


def test_attention_maps_have_one_row_per_produced_token_with_or_without_eos(copy_run, monkeypatch):
    """A map row per output token (and <eos> when it came), a column per source token (and <eos>)."""
    import transformer.experiments.evaluate as evaluate
    from transformer.experiments.evaluate import translate_texts
    from transformer.tasks import EOS, UNK

    original = evaluate.greedy_decode

    def ending_after_one_token(model, src, bos, eos, max_len, **kwargs):
        ids, attention = original(model, src, bos, -1, max_len, **kwargs)
        return torch.cat([ids[:, :1].masked_fill(ids[:, :1] == EOS, UNK + 1), torch.full_like(ids[:, 1:], EOS)], 1), attention

    def never_ending(model, src, bos, eos, max_len, **kwargs):  # runs to the length limit
        ids, attention = original(model, src, bos, -1, max_len, **kwargs)
        return ids.masked_fill(ids == EOS, UNK + 1), attention

    for fake, rows in ((ending_after_one_token, 2), (never_ending, None)):
        monkeypatch.setattr(evaluate, "greedy_decode", fake)
        (output,), ((source, produced, weights),) = translate_texts(copy_run, ["a b c"], return_attention=True)
        assert source == ["a", "b", "c", "<eos>"], f"source labels {source}"
        assert weights.shape == (len(produced), len(source)), (weights.shape, produced)
        if rows:
            assert len(produced) == rows and produced[-1] == "<eos>", produced
        else:
            assert "<eos>" not in produced and len(produced) == len(weights) > 2, produced


def test_resume_of_a_finished_run_changes_nothing(copy_run):
    before = json.loads((copy_run / "history.json").read_text())
    assert main(["train", "--resume", str(copy_run), "--no-progress"]) == 0, "resuming a finished run failed"
    after = json.loads((copy_run / "history.json").read_text())
    assert after["epochs"] == before["epochs"], "resuming a finished run changed its history"


def test_resume_with_more_epochs_trains_on(tmp_path, copy_run):
    """--resume RUN --epochs N extends the run: the recorded epochs stay, new ones follow."""
    import shutil

    run = tmp_path / "longer"
    shutil.copytree(copy_run, run)
    before = json.loads((run / "history.json").read_text())["epochs"]
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0, "resume --epochs 3 failed"
    after = json.loads((run / "history.json").read_text())["epochs"]
    assert after[:2] == before and len(after) == 3, f"expected the 2 old epochs then a third, got {len(after)}"
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 3, "config.json keeps the old epochs"


def test_resume_refuses_other_settings_in_one_line(capsys, copy_run):
    before = snapshot(copy_run)
    assert_one_line_error(capsys, ["train", "--resume", str(copy_run), "--lr", "0.1"], "only --epochs and --device")
    assert snapshot(copy_run) == before, "a refused --resume changed the run folder"


def test_training_into_a_folder_that_holds_a_run_is_refused_and_changes_nothing(capsys, copy_run):
    """Repeating the README's command must not overwrite a finished run."""
    before = snapshot(copy_run)
    assert_one_line_error(capsys, ["train", "--task", "copy", "--run-dir", str(copy_run), "--epochs", "1", "--no-progress",
                                   *TINY_MODEL, *TINY_COPY], "already holds a run")
    assert snapshot(copy_run) == before, "the existing run folder changed"


def test_force_starts_over_in_a_folder_that_holds_a_run(tmp_path, copy_run):
    import shutil

    run = tmp_path / "again"
    shutil.copytree(copy_run, run)
    assert main(["train", "--task", "copy", "--run-dir", str(run), "--epochs", "1", "--force", "--no-progress",
                 *TINY_MODEL, *TINY_COPY]) == 0, "--force failed"
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == 1, "--force did not start a new run"


@pytest.mark.parametrize("argv, expected", [
    (["--model", "bert"], "unknown model 'bert': task 'copy' (seq2seq) takes one of transformer"),
    (["--model", "textcnn"], "model 'textcnn' serves classification, but task 'copy' is seq2seq"),
    (["--batch-tokens", "0"], "batch tokens: expected a positive integer, got 0"),
    (["--set", "norm_first=abc"], "TransformerConfig.norm_first: expected true or false, got 'abc'"),
    (["--set", "dropout=abc"], "TransformerConfig.dropout: expected a finite number, got 'abc'"),
    (["--set", "foo=1"], "unknown field(s) foo"),
    (["--set", "max_len=4"], "max_len=4 is too short for copy"),
    (["--lr", "inf"], "TrainConfig.peak_lr: expected a positive number, got inf"),
    (["--train-set", "epochs=1.5"], "TrainConfig.epochs: expected a positive integer, got 1.5"),
    (["--train-set", "nope=1"], "unknown training setting(s) nope"),
    (["--task-option", "eval_seed=abc"], "option eval_seed expects an integer, got 'abc'"),
    (["--device", "nonsense"], "TrainConfig.device: expected auto, cpu, cuda, cuda:N or mps, got 'nonsense'"),
    (["--set", "d_model"], "--set: expected KEY=VALUE, got 'd_model'"),
])
def test_bad_settings_are_refused_before_anything_is_written(capsys, tmp_path, argv, expected, runtime_checks):
    """Every bad setting is one line, and no run folder is left behind."""
    run = tmp_path / "r"
    assert_one_line_error(capsys, ["train", "--task", "copy", "--run-dir", str(run), "--no-progress", *argv,
                                   *TINY_COPY], expected)
    assert not (run / "config.json").exists(), "a refused run left a config.json behind"


def test_compare_checks_every_argument_before_training(capsys, tmp_path):
    out = tmp_path / "cmp"
    assert_one_line_error(capsys, ["compare", "--task", "copy", "--models", "transformer,nope", "--out", str(out)],
                          "unknown model 'nope'")
    assert_one_line_error(capsys, ["compare", "--task", "copy", "--models", "transformer", "--epochs", "0",
                                   "--out", str(out)], "epochs to be a positive integer, got 0")
    assert not out.exists(), "compare trained (or wrote) something before reporting a bad argument"


def test_missing_pairs_file_is_one_line(capsys, tmp_path):
    assert_one_line_error(capsys, ["train", "--task", "pairs", "--task-option", f"path={tmp_path}/none.tsv",
                                   "--run-dir", str(tmp_path / "r"), "--no-progress"], "none.tsv")


def test_malformed_pairs_file_names_the_line(capsys, tmp_path):
    data = tmp_path / "pairs.tsv"
    data.write_text("Hello.\tHallo.\nno tab on this line\n")
    assert_one_line_error(capsys, ["train", "--task", "pairs", "--task-option", f"path={data}",
                                   "--run-dir", str(tmp_path / "r"), "--no-progress"], "line 2")


def test_empty_translation_input_is_one_line(capsys, copy_run):
    assert_one_line_error(capsys, ["translate", str(copy_run), "   "], "empty")


def test_checkpoint_from_another_config_is_one_line(capsys, copy_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((copy_run / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config))
    payload = torch.load(copy_run / "checkpoint_best.pt", weights_only=True)
    meta = json.loads(payload["meta_json"])
    meta["model"]["config"]["d_ff"] = 64  # the weights were trained with d_ff=32
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, other / "checkpoint_best.pt")
    assert_one_line_error(capsys, ["evaluate", str(other)], "do not fit")


def test_resuming_with_a_checkpoint_of_another_model_is_one_line(capsys, copy_run, tmp_path):
    import shutil

    run = tmp_path / "mixed"
    shutil.copytree(copy_run, run)
    config = json.loads((run / "config.json").read_text())
    config["model"]["config"]["d_ff"] = 64
    (run / "config.json").write_text(json.dumps(config))
    assert_one_line_error(capsys, ["train", "--resume", str(run), "--epochs", "3", "--no-progress"],
                          "does not fit the model its run folder describes")


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty"),
    (b"PK\x03\x04 cut short", "not a checkpoint this package can read"),
    (None, "no run description"),
])
def test_a_damaged_empty_or_foreign_checkpoint_is_one_line(capsys, copy_run, tmp_path, content, expected):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(copy_run, run)
    if content is None:  # someone else's checkpoint: weights only
        torch.save({"model": torch.load(run / "checkpoint_best.pt", weights_only=True)["model"]}, run / "checkpoint_best.pt")
    else:
        (run / "checkpoint_best.pt").write_bytes(content)
    assert_one_line_error(capsys, ["evaluate", str(run)], expected)


def test_not_a_run_folder_is_one_line(capsys, tmp_path):
    assert_one_line_error(capsys, ["evaluate", str(tmp_path)], "checkpoint")


def test_a_run_of_another_shape_is_refused_by_translate(capsys, tmp_path):
    run = tmp_path / "sorted"
    assert main(["train", "--task", "sorted", "--model", "lstm", "--run-dir", str(run), "--epochs", "1", "--no-progress",
                 "--task-option", "n_train=32", "--task-option", "n_valid=8", "--task-option", "n_test=8"]) == 0, (
        "training an LSTM classifier on sorted failed")
    assert_one_line_error(capsys, ["translate", str(run), "a b"], "holds a classification model")
    assert main(["classify", str(run), "a b c"]) == 0, "classify failed on a classification run"


def _run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "transformer", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kwargs)


def test_bad_input_from_a_real_shell_is_one_line_without_traceback(tmp_path):
    """What a user sees in a terminal: status 2, one `error:` line, no traceback."""
    result = _run(["train", "--task", "copy", "--model", "lstm-bahdanau", "--set", "hidden_size=abc",
                   "--run-dir", str(tmp_path / "r")])
    assert result.returncode == 2, f"exit status {result.returncode}: {result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "hidden_size: expected a positive integer, got 'abc'" in lines[0], result.stderr
    assert "Traceback" not in result.stderr, "a traceback reached the user"


def test_ctrl_c_saves_the_run_exits_130_and_says_how_to_resume(tmp_path):
    """A real SIGINT to a real `transformer train`: the run is saved, the exit status is the shell's
    130, the last line says how to resume, and resuming finishes the run."""
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "transformer", "train", "--task", "copy", "--run-dir", str(run),
                                "--epochs", "50", "--no-progress", *TINY_MODEL, *TINY_COPY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:  # wait until training has started
        if "epoch  1:" in line:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, f"exit status {process.returncode}, expected 130 (stderr: {err[-500:]})"
    assert f"transformer train --resume {run}" in out, f"no resume hint in the output: {out[-300:]}"
    assert "Traceback" not in err, err
    history = json.loads((run / "history.json").read_text())
    assert history["interrupted"] and len(history["epochs"]) < 50, "the interrupted run was not saved as such"
    # The resume runs in this process (the interruption needed a real one): it reads only the folder.
    code = main(["train", "--resume", str(run), "--epochs", str(len(history["epochs"]) + 1), "--no-progress"])
    assert code == 0, f"resume failed with exit status {code}"
    assert not json.loads((run / "history.json").read_text())["interrupted"], "the resumed run is still marked interrupted"


def test_decoding_is_capped_by_the_models_positions_and_says_so_once(tmp_path, capsys):
    """max_len 12 covers every source (test_long's are up to 10 + EOS) but not source + 4 more tokens
    of output: training finishes with its metrics, and evaluating says once that outputs were capped."""
    run = tmp_path / "short"
    code = main(["train", "--task", "copy", "--run-dir", str(run), "--epochs", "1", "--no-progress", "--set", "max_len=12",
                 *TINY_MODEL, *TINY_COPY])
    assert code == 0 and (run / "metrics.json").exists(), f"exit {code}; metrics.json written: {(run / 'metrics.json').exists()}"
    capsys.readouterr()
    assert main(["evaluate", str(run), "--split", "test_long"]) == 0, "evaluate failed on a model with few positions"
    said = [line for line in capsys.readouterr().err.splitlines() if "capped at 12 tokens" in line]
    assert len(said) == 1, f"the cap should be said exactly once, got {said}"


def test_a_subword_run_with_shared_embeddings_translates_new_text(capsys, tmp_path):
    """Multi30k-shaped files in BPE pieces, one vocabulary and one embedding table for both sides:
    the run folder keeps the merges, so `translate` cuts new German and glues the English back."""
    from test_tasks_translation import write_folder

    from transformer.experiments.runs import load_run

    folder, run = write_folder(tmp_path / "multi30k"), tmp_path / "bpe"
    code = main(["train", "--task", "multi30k", "--model", "transformer", "--run-dir", str(run), "--epochs", "1",
                 "--no-progress", *TINY_MODEL, "--set", "share_embeddings=true", "--task-option", f"path={folder}",
                 "--task-option", f"cache_dir={tmp_path / 'cache'}", "--task-option", "tokenizer=bpe",
                 "--task-option", "bpe_size=60", "--task-option", "shared_vocab=true"])
    assert code == 0, f"training on BPE pieces exited {code}"
    model, meta = load_run(run, device="cpu")
    assert model.src_embed.table.weight is model.generator.weight, "the loaded model should share one table again"
    assert meta["source_codec"].tokenizer.name == "bpe", f"the run folder's tokenizer is {meta['source_codec'].tokenizer.name!r}"
    capsys.readouterr()
    assert main(["translate", str(run), "Ein Hundemann läuft."]) == 0, "translate on a BPE run failed"
    (line,) = capsys.readouterr().out.splitlines()
    assert "##" not in line, f"the output {line!r} still shows BPE continuation marks"
