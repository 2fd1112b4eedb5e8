"""Spec for the training loop: the paper's schedule, label smoothing, exact resume."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from transformer import TransformerConfig, build_transformer
from transformer.train import (
    TrainConfig,
    evaluate,
    label_smoothed_cross_entropy,
    load_checkpoint,
    paper_peak_lr,
    pick_device,
    train,
    warmup_rate,
)

pytestmark = pytest.mark.training

BOS, EOS, PAD = 1, 2, 0


def copy_batches(n_batches: int, batch: int = 8, length: int = 6, vocab: int = 11, seed: int = 0):
    """Copy-task batches: target = source, shifted as the loop expects."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        x = torch.randint(3, vocab, (batch, length), generator=g)
        bos = torch.full((batch, 1), BOS)
        eos = torch.full((batch, 1), EOS)
        out.append(SimpleNamespace(src=torch.cat([x, eos], 1), tgt_in=torch.cat([bos, x], 1), tgt_out=torch.cat([x, eos], 1)))
    return out


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_transformer(TransformerConfig.tiny(11, 11, d_model=16, n_heads=2, d_ff=32, n_encoder_layers=1, n_decoder_layers=1))


@given(st.integers(1, 20_000), st.sampled_from([64, 256, 512]), st.sampled_from([400, 4000]))
def test_warmup_rate_equals_paper_equation_3(step, d_model, warmup):
    """With the paper's peak, the explicit-peak form is lrate = d^-0.5 min(s^-0.5, s w^-1.5)."""
    paper = d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
    ours = warmup_rate(step, paper_peak_lr(d_model, warmup), warmup)
    assert math.isclose(ours, paper, rel_tol=1e-12), f"step {step}: {ours} vs paper {paper}"


def test_warmup_rate_peaks_at_warmup_steps():
    """The rate rises linearly to its peak at warmup_steps, then falls."""
    rates = [warmup_rate(s, 1.0, 100) for s in range(1, 400)]
    assert max(rates) == rates[99] == 1.0
    assert rates[49] == pytest.approx(0.5) and rates[399 - 1] == pytest.approx(math.sqrt(100 / 399))


@given(st.floats(0.0, 0.5), st.integers(0, 2**31 - 1))
def test_label_smoothing_equals_pytorch(smoothing, seed):
    """Our smoothed loss equals F.cross_entropy(label_smoothing=...) with ignore_index=pad."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 5, 7, generator=g, dtype=torch.float64)
    target = torch.randint(0, 7, (3, 5), generator=g)
    target[0, 3:] = PAD
    ours = label_smoothed_cross_entropy(logits, target, smoothing, PAD)
    theirs = F.cross_entropy(logits.reshape(-1, 7), target.reshape(-1), ignore_index=PAD, label_smoothing=smoothing)
    torch.testing.assert_close(ours.double(), theirs, rtol=1e-6, atol=1e-6)


def test_label_smoothing_zero_is_negative_log_likelihood():
    """Without smoothing the loss is the mean -log p(target) over real tokens."""
    logits = torch.randn(2, 4, 5)
    target = torch.tensor([[1, 2, 3, 0], [4, 1, 0, 0]])
    log_p = logits.log_softmax(-1)
    expected = -(log_p[0, 0, 1] + log_p[0, 1, 2] + log_p[0, 2, 3] + log_p[1, 0, 4] + log_p[1, 1, 1]) / 5
    torch.testing.assert_close(label_smoothed_cross_entropy(logits, target, 0.0, PAD), expected)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="cosine")
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainConfig(label_smoothing=1.5)


def test_pick_device_falls_back_to_cpu_without_accelerators():
    device = pick_device("auto")
    if not torch.cuda.is_available():
        assert device.type in ("cpu", "mps")
    assert pick_device("cpu") == torch.device("cpu")


def test_training_lowers_validation_loss_and_keeps_best_checkpoint(tmp_path):
    """A few epochs on the copy task lower the loss; the best and last checkpoints are written."""
    data = copy_batches(12)
    model = tiny_model()
    config = TrainConfig(epochs=3, peak_lr=3e-3, warmup_steps=10)
    before = evaluate(model, data[:2])["loss"]
    history = train(model, lambda epoch: data[2:], data[:2], config, run_dir=tmp_path, meta={"note": "test"}, progress=False)
    after = history.epochs[-1]["valid_loss"]
    assert after < before * 0.8, f"validation loss went from {before:.3f} to {after:.3f}; expected a clear drop"
    assert (tmp_path / "checkpoint_best.pt").exists() and (tmp_path / "checkpoint_last.pt").exists()
    saved = load_checkpoint(tmp_path / "checkpoint_best.pt")
    assert saved["meta"] == {"note": "test"}
    assert history.best_epoch == min(history.epochs, key=lambda r: r["valid_loss"])["epoch"]


def test_interrupted_then_resumed_run_equals_uninterrupted_run(tmp_path):
    """Ctrl-C mid-epoch saves a checkpoint; resuming reaches exactly the same weights on CPU."""
    data = copy_batches(7)
    config = TrainConfig(epochs=2, peak_lr=3e-3, warmup_steps=5, device="cpu")

    def batches(epoch):  # a different order each epoch, fixed by the epoch number
        order = torch.randperm(6, generator=torch.Generator().manual_seed(epoch)).tolist()
        return [data[1:][i] for i in order]

    straight = tiny_model()
    train(straight, batches, data[:1], config, progress=False)

    def interrupt_at_step_4(step, loss):
        if step == 4:
            raise KeyboardInterrupt

    resumed = tiny_model()
    history = train(resumed, batches, data[:1], config, run_dir=tmp_path, progress=False, on_step=interrupt_at_step_4)
    assert history.interrupted
    resumed = tiny_model(seed=123)  # a fresh process would start from other weights
    history = train(resumed, batches, data[:1], config, run_dir=tmp_path, resume=True, progress=False)
    assert not history.interrupted and len(history.epochs) == 2
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=lambda m: f"{name} differs after resume: {m}")


def test_ctrl_c_stops_after_the_current_step_and_saves(tmp_path):
    """A real SIGINT (what Ctrl-C sends) finishes the step in hand, saves, and returns."""
    import os
    import signal
    import time

    data = copy_batches(6)
    handler_before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c_at_step_2(step, loss):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # a blocking call: Python runs the signal handler before it returns

    history = train(tiny_model(), lambda e: data[1:], data[:1], TrainConfig(epochs=3, warmup_steps=5, device="cpu"),
                    run_dir=tmp_path, progress=False, on_step=press_ctrl_c_at_step_2)
    assert history.interrupted and history.epochs == []
    progress = load_checkpoint(tmp_path / "checkpoint_last.pt")["progress"]
    assert (progress["epoch"], progress["batch"], progress["step"]) == (0, 2, 2)
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
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=lambda m: f"{name}: {m}")


def test_resume_without_checkpoint_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint_last.pt"):
        train(tiny_model(), lambda e: [], [], TrainConfig(epochs=1), run_dir=tmp_path, resume=True, progress=False)
