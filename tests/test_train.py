"""Spec for the training loop: the paper's schedule, label smoothing, exact and signal-safe resume."""

import errno
import importlib
import json
import math
import os
import signal
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from transformer import TransformerConfig, build_transformer
from transformer.checkpoint import load_checkpoint, save_checkpoint
from transformer.objectives import drop_words
from transformer.tasks import make_batch
from transformer.tasks.vocab import UNK
from transformer.train import (
    TrainConfig,
    TrainingDiverged,
    evaluate,
    label_smoothed_cross_entropy,
    learning_rate,
    paper_peak_lr,
    pick_device,
    train,
    warmup_rate,
    cosine_rate,
)

pytestmark = pytest.mark.training

PAD = 0
TIMING = ("seconds", "tokens_per_second")  # what two identical runs cannot share


def copy_batches(n_batches: int, batch: int = 8, length: int = 6, vocab: int = 11, seed: int = 0):
    """Copy-task batches (target = source), made by `make_batch` as the tasks make them."""
    g = torch.Generator().manual_seed(seed)
    return [make_batch([(row, row) for row in torch.randint(4, vocab, (batch, length), generator=g).tolist()])
            for _ in range(n_batches)]


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_transformer(TransformerConfig.tiny(11, 11, d_model=16, n_heads=2, d_ff=32, n_encoder_layers=1,
                                                    n_decoder_layers=1))


def without_timing(history: dict) -> list[dict]:
    return [{k: v for k, v in record.items() if k not in TIMING} for record in history["epochs"]]


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module, what: str) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(y, x, rtol=0, atol=0, msg=lambda m, name=name: f"{what}: {name} differs: {m}")


@given(st.integers(1, 20_000), st.sampled_from([64, 256, 512]), st.sampled_from([400, 4000]))
def test_warmup_rate_equals_paper_equation_3(step, d_model, warmup):
    """With the paper's peak, the explicit-peak form is lrate = d^-0.5 min(s^-0.5, s w^-1.5)."""
    paper = d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
    ours = warmup_rate(step, paper_peak_lr(d_model, warmup), warmup)
    assert math.isclose(ours, paper, rel_tol=1e-12), f"step {step}: {ours} vs paper {paper}"


def test_warmup_rate_peaks_at_warmup_steps():
    """The rate rises linearly to its peak at warmup_steps, then falls."""
    rates = [warmup_rate(s, 1.0, 100) for s in range(1, 400)]
    assert max(rates) == rates[99] == 1.0, f"peak {max(rates)} at step {rates.index(max(rates)) + 1}, expected 1.0 at 100"
    assert rates[49] == pytest.approx(0.5), f"halfway up the warm-up the rate is {rates[49]}, expected 0.5"
    assert rates[399 - 1] == pytest.approx(math.sqrt(100 / 399)), f"at step 399 the rate is {rates[398]}"


@given(st.integers(1, 200), st.integers(1, 2_000), st.floats(0.0, 0.9))
def test_cosine_rate_equals_pytorch_after_warmup(warmup, decay, final):
    """After the warm-up, cosine_rate is torch's CosineAnnealingLR from the peak down to the floor."""
    total, peak = warmup + decay, 3e-3
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=decay, eta_min=final * peak)
    for t in range(decay + 1):
        ours = cosine_rate(warmup + t, peak, warmup, total, final)
        theirs = optimizer.param_groups[0]["lr"]
        assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-15), f"step {warmup + t}: {ours} vs torch {theirs}"
        optimizer.step()
        reference.step()


@given(st.integers(1, 100), st.integers(1, 1_000), st.floats(0.0, 0.9))
def test_cosine_rate_rises_then_falls_to_its_floor(warmup, decay, final):
    """Linear up to the peak at warmup_steps, never rising after it, at the floor from total_steps on."""
    total = warmup + decay
    rates = [cosine_rate(s, 1.0, warmup, total, final) for s in range(1, total + 20)]
    assert rates[warmup - 1] == 1.0, f"the rate at warmup_steps is {rates[warmup - 1]}, expected the peak 1.0"
    assert all(math.isclose(r, s / warmup) for s, r in zip(range(1, warmup), rates)), "the warm-up is not linear"
    after = rates[warmup - 1:]
    assert all(b <= a + 1e-12 for a, b in zip(after, after[1:])), "the rate rose after the warm-up"
    assert all(math.isclose(r, final) for r in rates[total - 1:]), f"after total_steps the rate is not the floor {final}"


def test_cosine_schedule_decays_over_the_runs_planned_steps(tmp_path):
    """In train(), the cosine schedule ends at the floor on the last step of the last epoch."""
    batches = copy_batches(3)
    config = TrainConfig(epochs=2, peak_lr=1e-3, schedule="cosine", warmup_steps=2, final_lr=0.25, device="cpu")
    history = train(tiny_model(), lambda epoch: batches, batches[:1], config, progress=False)
    assert [r["step"] for r in history.epochs] == [3, 6], f"steps per epoch: {[r['step'] for r in history.epochs]}"
    assert math.isclose(history.epochs[-1]["lr"], 0.25e-3), f"last step's rate {history.epochs[-1]['lr']}, expected 2.5e-4"
    assert history.epochs[0]["lr"] > history.epochs[-1]["lr"], "the rate did not decay"


def test_cosine_schedule_needs_the_planned_steps():
    with pytest.raises(ValueError, match="total_steps"):
        learning_rate(10, TrainConfig(schedule="cosine"))


def test_a_run_resumed_under_the_cosine_schedule_equals_the_uninterrupted_run(tmp_path):
    """The planned steps are the same whether a run starts or resumes, so the rates are too."""
    data, config = copy_batches(8), TrainConfig(epochs=2, peak_lr=3e-3, warmup_steps=2, schedule="cosine", device="cpu")
    straight = tiny_model()
    train(straight, _batches_by_epoch(data), data[:2], config, run_dir=tmp_path / "straight", progress=False)

    def interrupt(step, loss):
        if step == 8:  # in the second epoch, so the resumed run starts from train_batches(1)
            raise KeyboardInterrupt

    run = tmp_path / "run"
    train(tiny_model(), _batches_by_epoch(data), data[:2], config, run_dir=run, progress=False, on_step=interrupt)
    resumed = tiny_model(seed=123)
    train(resumed, _batches_by_epoch(data), data[:2], config, run_dir=run, resume=True, progress=False)
    assert_same_weights(straight, resumed, "resumed under the cosine schedule")
    expected = json.loads((tmp_path / "straight" / "history.json").read_text())
    assert without_timing(json.loads((run / "history.json").read_text())) == without_timing(expected), (
        "history.json of the run resumed under the cosine schedule differs from the uninterrupted run's")


@given(st.floats(0.0, 0.5), st.integers(0, 2**31 - 1))
def test_label_smoothing_equals_pytorch(smoothing, seed):
    """Our smoothed loss equals F.cross_entropy(label_smoothing=...) with ignore_index=pad."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 5, 7, generator=g, dtype=torch.float64)
    target = torch.randint(0, 7, (3, 5), generator=g)
    target[0, 3:] = PAD
    ours = label_smoothed_cross_entropy(logits, target, smoothing, PAD)
    theirs = F.cross_entropy(logits.reshape(-1, 7), target.reshape(-1), ignore_index=PAD, label_smoothing=smoothing)
    torch.testing.assert_close(ours, theirs, msg=lambda m: f"smoothing {smoothing}: {m}")


def test_label_smoothing_zero_is_negative_log_likelihood():
    """Without smoothing the loss is the mean -log p(target) over real tokens."""
    logits = torch.randn(2, 4, 5)
    target = torch.tensor([[1, 2, 3, 0], [4, 1, 0, 0]])
    log_p = logits.log_softmax(-1)
    expected = -(log_p[0, 0, 1] + log_p[0, 1, 2] + log_p[0, 2, 3] + log_p[1, 0, 4] + log_p[1, 1, 1]) / 5
    torch.testing.assert_close(label_smoothed_cross_entropy(logits, target, 0.0, PAD), expected,
                               msg=lambda m: f"the unsmoothed loss is not the mean NLL of the 5 real tokens: {m}")


def test_an_explicit_mask_chooses_the_positions_that_count():
    """With `mask`, any target value may sit at a masked position (a tag 0, say): it never counts."""
    logits = torch.randn(1, 3, 4, dtype=torch.float64)
    target = torch.tensor([[2, 0, 0]])
    mask = torch.tensor([[True, True, False]])
    expected = F.cross_entropy(logits[0, :2], target[0, :2])
    torch.testing.assert_close(label_smoothed_cross_entropy(logits, target, 0.0, mask=mask), expected,
                               msg=lambda m: f"the mask's 2 positions, tag 0 included, should count: {m}")


@given(p=st.floats(0.0, 0.9), seed=st.integers(0, 2**16))
def test_word_dropout_only_turns_words_into_unk(p, seed):
    """Dropped words become UNK; padding, BOS, EOS and the words kept are untouched."""
    torch.manual_seed(seed)
    ids = torch.randint(0, 40, (4, 30))
    dropped = drop_words(ids, p, PAD)
    changed = dropped != ids
    assert (dropped[changed] == UNK).all(), "a dropped word should become UNK"
    assert (ids[changed] > UNK).all(), "only words (ids above UNK) may be dropped"


def test_word_dropout_drops_about_p_of_the_words():
    torch.manual_seed(0)
    ids = torch.randint(UNK + 1, 100, (200, 100))
    rate = (drop_words(ids, 0.25, PAD) == UNK).float().mean().item()
    assert abs(rate - 0.25) < 0.01, f"expected about 25% of words dropped, got {rate:.1%}"
    assert torch.equal(drop_words(ids, 0.0, PAD), ids), "p = 0 should change nothing"


@pytest.mark.parametrize("field, value, message", [
    ("schedule", "linear", r"schedule: expected one of \['warmup', 'cosine', 'constant'\]"),
    ("label_smoothing", 1.5, r"label_smoothing: expected a value in \[0, 1\)"),
    ("word_dropout", -0.1, r"word_dropout: expected a value in \[0, 1\)"),
    ("epochs", 1.5, "epochs: expected a positive integer, got 1.5"),
    ("epochs", 0, "epochs: expected a positive integer, got 0"),
    ("peak_lr", float("inf"), "peak_lr: expected a positive number, got inf"),
    ("peak_lr", "abc", "peak_lr: expected a positive number, got 'abc'"),
    ("bf16", "yes", "bf16: expected true or false"),
    ("device", "nonsense", "device: expected auto, cpu"),
])
def test_config_refuses_each_bad_value_in_one_line(field, value, message, runtime_checks):
    """Every field is type-checked: a value typed on the command line never trains as a string."""
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_pick_device_falls_back_to_cpu_and_names_a_device_it_cannot_use():
    device = pick_device("auto")
    if not torch.cuda.is_available():
        assert device.type in ("cpu", "mps"), f"auto chose {device} on a machine without CUDA"
        with pytest.raises(ValueError, match="no CUDA device"):
            pick_device("cuda")
    assert pick_device("cpu") == torch.device("cpu"), "cpu must be the CPU"
    with pytest.raises(ValueError, match="expected auto, cpu, cuda, cuda:N or mps, got 'nonsense'"):
        pick_device("nonsense")


def test_training_lowers_validation_loss_and_keeps_best_checkpoint(tmp_path):
    """A few epochs on the copy task lower the loss; the best and last checkpoints are written."""
    data = copy_batches(12)
    model = tiny_model()
    config = TrainConfig(epochs=3, peak_lr=3e-3, warmup_steps=10)
    before = evaluate(model, data[:2])["loss"]
    history = train(model, lambda epoch: data[2:], data[:2], config, run_dir=tmp_path, meta={"note": "test"}, progress=False)
    after = history.epochs[-1]["valid_loss"]
    assert after < before * 0.8, f"validation loss went from {before:.3f} to {after:.3f}; expected a clear drop"
    for name in ("checkpoint_best.pt", "checkpoint_last.pt", "history.json"):
        assert (tmp_path / name).exists(), f"{name} was not written"
    assert load_checkpoint(tmp_path / "checkpoint_best.pt")["meta"] == {"note": "test"}, "meta did not travel"
    best = min(history.epochs, key=lambda r: r["valid_loss"])["epoch"]
    assert history.best_epoch == best, f"best epoch {history.best_epoch}, but epoch {best} has the lowest loss"
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"


def _batches_by_epoch(data):
    """Training batches data[2:], in a different order each epoch, fixed by the epoch number."""
    def batches(epoch):
        order = torch.randperm(len(data) - 2, generator=torch.Generator().manual_seed(epoch)).tolist()
        return [data[2:][i] for i in order]

    return batches


CONFIG = TrainConfig(epochs=2, peak_lr=3e-3, warmup_steps=5, device="cpu")


def _uninterrupted(tmp_path, data):
    """The run every interrupted one must equal: validation on data[:2], training on the rest."""
    model = tiny_model()
    history = train(model, _batches_by_epoch(data), data[:2], CONFIG, run_dir=tmp_path / "straight", progress=False)
    return model, history


@pytest.mark.parametrize("stop_at", [4, 6], ids=["mid_epoch", "last_batch_of_epoch"])
def test_interrupted_then_resumed_run_equals_uninterrupted_run_weights_and_history(tmp_path, stop_at):
    """Ctrl-C mid-epoch saves the loop's position, random state and the epoch's running sums;
    resuming gives every tensor bit for bit and the same history.json (timings aside)."""
    data = copy_batches(8)
    straight, straight_history = _uninterrupted(tmp_path, data)

    def interrupt(step, loss):
        if step == stop_at:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    history = train(tiny_model(), _batches_by_epoch(data), data[:2], CONFIG, run_dir=run, progress=False, on_step=interrupt)
    assert history.interrupted, "the run should report the interruption"
    resumed = tiny_model(seed=123)  # a fresh process would start from other weights
    history = train(resumed, _batches_by_epoch(data), data[:2], CONFIG, run_dir=run, resume=True, progress=False)
    assert not history.interrupted and len(history.epochs) == 2, f"resumed history: {history}"
    assert_same_weights(straight, resumed, f"resumed after step {stop_at}")
    expected = json.loads((tmp_path / "straight" / "history.json").read_text())
    assert without_timing(json.loads((run / "history.json").read_text())) == without_timing(expected), (
        "history.json of the resumed run differs from the uninterrupted run's")


class _InterruptsValidation(torch.nn.Module):
    """Wraps a model; the first time it runs in eval mode (validation), it presses Ctrl-C (twice)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.shape, self.tgt_pad_id, self.pressed = model, model.shape, model.tgt_pad_id, False

    def forward(self, src, tgt_in):
        if not self.training and not self.pressed:
            self.pressed = True
            for _ in range(2):  # a second Ctrl-C must change nothing
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.02)
        return self.model(src, tgt_in)


def test_ctrl_c_during_validation_resumes_to_the_same_history_and_weights(tmp_path):
    """Two real SIGINTs while validating: the epoch's training is kept, validation reruns on resume,
    and the resumed run equals the uninterrupted one (no train loss of 0.000 in history)."""
    data = copy_batches(8)
    straight, _ = _uninterrupted(tmp_path, data)
    run = tmp_path / "run"
    wrapped = _InterruptsValidation(tiny_model())
    history = train(wrapped, _batches_by_epoch(data), data[:2], CONFIG, run_dir=run, progress=False)
    assert history.interrupted and history.epochs == [], f"validation of epoch 1 was interrupted, got {history}"
    resumed = _InterruptsValidation(tiny_model(seed=5))
    resumed.pressed = True
    history = train(resumed, _batches_by_epoch(data), data[:2], CONFIG, run_dir=run, resume=True, progress=False)
    assert len(history.epochs) == 2 and history.epochs[0]["train_loss"] > 0.1, f"history after resume: {history.epochs}"
    assert_same_weights(straight, resumed.model, "resumed after an interrupted validation")
    expected = json.loads((tmp_path / "straight" / "history.json").read_text())
    assert without_timing(json.loads((run / "history.json").read_text())) == without_timing(expected), (
        "history.json differs after an interruption during validation")


def test_ctrl_c_stops_after_the_current_step_and_saves(tmp_path):
    """A real SIGINT (what Ctrl-C sends) finishes the step in hand, saves, and returns."""
    data = copy_batches(6)
    handler_before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c_twice_at_step_2(step, loss):
        if step == 2:
            for _ in range(2):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.02)  # a blocking call: Python runs the signal handler before it returns

    history = train(tiny_model(), lambda e: data[1:], data[:1], TrainConfig(epochs=3, warmup_steps=5, device="cpu"),
                    run_dir=tmp_path, progress=False, on_step=press_ctrl_c_twice_at_step_2)
    assert history.interrupted and history.epochs == [], f"expected an interrupted run with no epoch, got {history}"
    progress = load_checkpoint(tmp_path / "checkpoint_last.pt")["progress"]
    position = (progress["epoch"], progress["batch"], progress["step"])
    assert position == (0, 2, 2), f"saved at (epoch, batch, step) = {position}, expected (0, 2, 2)"
    assert signal.getsignal(signal.SIGINT) is handler_before, "the Ctrl-C handler was not restored"


def test_same_seed_same_weights():
    """Two CPU runs with the same seed end with identical weights (dropout included)."""
    data = copy_batches(4)
    config = TrainConfig(epochs=1, warmup_steps=5, device="cpu", seed=3)
    models = []
    for _ in range(2):
        model = tiny_model()
        model.train()
        train(model, lambda e: data[1:], data[:1], config, progress=False)
        models.append(model)
    assert_same_weights(models[0], models[1], "same seed")


def test_a_resumed_run_keeps_the_precision_it_started_with(tmp_path, monkeypatch):
    """The bfloat16 decision is recorded when a run starts and reused on resume, never made again,
    so an interrupted run continues in the precision it began in."""
    training = importlib.import_module("transformer.train")  # `transformer.train` itself is the function

    monkeypatch.setattr(training, "_choose_bf16", lambda *args: (True, "a test says so"))
    data = copy_batches(6)

    def interrupt(step, loss):
        if step == 2:
            raise KeyboardInterrupt

    lines = []
    train(tiny_model(), lambda e: data[2:], data[:2], TrainConfig(epochs=2, warmup_steps=5, device="cpu"),
          run_dir=tmp_path, progress=False, on_step=interrupt)
    monkeypatch.setattr(training, "_choose_bf16", lambda *args: pytest.fail("resume probed again"))
    history = train(tiny_model(), lambda e: data[2:], data[:2], TrainConfig(epochs=2, warmup_steps=5, device="cpu"),
                    run_dir=tmp_path, resume=True, progress=False, log=lines.append)
    assert all(record["bf16"] for record in history.epochs), f"resumed epochs: {history.epochs}"
    assert "autocast on cpu: yes, as when this run started" in lines[0], lines


def test_a_loss_that_becomes_nan_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path):
    data = copy_batches(4)
    config = TrainConfig(epochs=3, warmup_steps=5, device="cpu")
    model = tiny_model()
    train(model, lambda e: data[1:], data[:1], TrainConfig(epochs=1, warmup_steps=5, device="cpu"), run_dir=tmp_path,
          progress=False)
    before = (tmp_path / "checkpoint_last.pt").read_bytes()

    def poison(step, loss):
        if step == 4:
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))

    with pytest.raises(TrainingDiverged, match=r"diverged at step 5 .*learning rate"):
        train(model, lambda e: data[1:], data[:1], config, run_dir=tmp_path, resume=True, progress=False, on_step=poison)
    assert (tmp_path / "checkpoint_last.pt").read_bytes() == before, "the last good checkpoint was overwritten"


def test_a_failed_save_leaves_no_temporary_file_and_says_so(tmp_path, monkeypatch):
    """A full disk: one line naming the file, the old checkpoint kept, no *.tmp left behind."""
    model = tiny_model()
    save_checkpoint(tmp_path / "checkpoint_last.pt", model)
    before = (tmp_path / "checkpoint_last.pt").read_bytes()

    def disk_full(payload, path):
        with open(path, "wb") as file:
            file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="could not write .*checkpoint_last.pt: No space left on device"):
        save_checkpoint(tmp_path / "checkpoint_last.pt", model)
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"
    assert (tmp_path / "checkpoint_last.pt").read_bytes() == before, "the previous checkpoint changed"


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"not a zip, not a pickle", "not a checkpoint this package can read"),
])
def test_a_damaged_or_foreign_checkpoint_is_one_line(tmp_path, content, message):
    path = tmp_path / "checkpoint_best.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)


def test_a_checkpoint_without_its_description_is_named(tmp_path):
    torch.save({"model": tiny_model().state_dict()}, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="no run description"):
        load_checkpoint(tmp_path / "c.pt")


def test_resume_without_checkpoint_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint_last.pt"):
        train(tiny_model(), lambda e: [], [], TrainConfig(epochs=1), run_dir=tmp_path, resume=True, progress=False)
