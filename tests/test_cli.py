"""The `transformer` command: a tiny run end to end, and one clear line for each kind of bad input."""

import json

import pytest

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
    assert code == 0
    return run


def test_train_writes_a_complete_run_folder(copy_run):
    """config, both checkpoints, history, test metrics and the learning-curve plot."""
    for name in ("config.json", "checkpoint_best.pt", "checkpoint_last.pt", "history.json", "metrics.json", "curves.png"):
        assert (copy_run / name).exists(), f"{name} missing from the run folder"
    metrics = json.loads((copy_run / "metrics.json").read_text())
    assert metrics["test"]["size"] == 8 and 0.0 <= metrics["test"]["exact_match"] <= 1.0
    assert len(metrics["history"]) == 2


def test_evaluate_and_translate_use_the_run(copy_run, capsys):
    assert main(["evaluate", str(copy_run), "--beam", "2"]) == 0
    assert "exact match" in capsys.readouterr().out
    assert main(["translate", str(copy_run), "c a b", "d e"]) == 0
    out = capsys.readouterr().out
    assert len(out.split("\n")) == 3, f"expected one output line per input, got {out!r}"  # two lines + final ""


def test_translate_reads_stdin_and_draws_the_attention_map(copy_run, capsys, monkeypatch, tmp_path):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a b c\nd e\n"))
    png = tmp_path / "align.png"
    assert main(["translate", str(copy_run), "--attention", str(png)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert png.exists() and png.stat().st_size > 1000


def test_attention_maps_have_one_row_per_produced_token_with_or_without_eos(copy_run, monkeypatch):
    """A map row per output token (and <eos> when it came), a column per source token (and <eos>)."""
    import torch

    import transformer.decoding as decoding
    from transformer.experiments.evaluate import translate_texts
    from transformer.tasks import EOS, UNK

    original = decoding.greedy_decode

    def ending_after_one_token(model, src, bos, eos, max_len, **kwargs):
        ids, attention = original(model, src, bos, -1, max_len, **kwargs)
        return torch.cat([ids[:, :1].masked_fill(ids[:, :1] == EOS, UNK + 1), torch.full_like(ids[:, 1:], EOS)], 1), attention

    def never_ending(model, src, bos, eos, max_len, **kwargs):  # runs to the length limit
        ids, attention = original(model, src, bos, -1, max_len, **kwargs)
        return ids.masked_fill(ids == EOS, UNK + 1), attention

    for fake, rows in ((ending_after_one_token, 2), (never_ending, None)):
        monkeypatch.setattr(decoding, "greedy_decode", fake)
        (output,), ((source, produced, weights),) = translate_texts(copy_run, ["a b c"], return_attention=True)
        assert source == ["a", "b", "c", "<eos>"]
        assert weights.shape == (len(produced), len(source)), (weights.shape, produced)
        if rows:
            assert len(produced) == rows and produced[-1] == "<eos>", produced
        else:
            assert "<eos>" not in produced and len(produced) == len(weights) > 2, produced


def test_resume_of_a_finished_run_changes_nothing(copy_run):
    before = json.loads((copy_run / "history.json").read_text())
    assert main(["train", "--resume", str(copy_run), "--no-progress"]) == 0
    assert json.loads((copy_run / "history.json").read_text())["epochs"] == before["epochs"]


def _assert_one_line_error(capsys, argv, expected):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, f"exit status {code}, expected 2"
    assert len(err.splitlines()) == 1 and err.startswith("error: "), f"expected one error line, got {err!r}"
    assert expected in err, f"{expected!r} not in {err!r}"


def test_unknown_model_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "bert"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'bert'" in capsys.readouterr().err


def test_missing_pairs_file_is_one_line(capsys, tmp_path):
    _assert_one_line_error(capsys, ["train", "--task", "pairs", "--task-option", f"path={tmp_path}/none.tsv",
                             "--run-dir", str(tmp_path / "r"), "--no-progress"], "none.tsv")


def test_malformed_pairs_file_names_the_line(capsys, tmp_path):
    data = tmp_path / "pairs.tsv"
    data.write_text("Hello.\tHallo.\nno tab on this line\n")
    _assert_one_line_error(capsys, ["train", "--task", "pairs", "--task-option", f"path={data}",
                             "--run-dir", str(tmp_path / "r"), "--no-progress"], "line 2")


def test_empty_translation_input_is_one_line(capsys, copy_run):
    _assert_one_line_error(capsys, ["translate", str(copy_run), "   "], "empty")


def test_checkpoint_from_another_config_is_one_line(capsys, copy_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((copy_run / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config))
    import torch

    payload = torch.load(copy_run / "checkpoint_best.pt", weights_only=True)
    meta = json.loads(payload["meta_json"])
    meta["model"]["config"]["d_ff"] = 64  # the weights were trained with d_ff=32
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, other / "checkpoint_best.pt")
    _assert_one_line_error(capsys, ["evaluate", str(other)], "do not fit")


def test_not_a_run_folder_is_one_line(capsys, tmp_path):
    _assert_one_line_error(capsys, ["evaluate", str(tmp_path)], "checkpoint")


def test_bad_override_is_one_line(capsys, tmp_path):
    _assert_one_line_error(capsys, ["train", "--set", "d_model", "--run-dir", str(tmp_path / "r")], "KEY=VALUE")
