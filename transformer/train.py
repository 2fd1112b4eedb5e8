"""Training: one loop for every model family, with the paper's recipe.

Chapter: walkthrough/09_training.md. Paper: Vaswani et al. 2017, §5.3 and §5.4:

    lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)        (3)

Adam with beta_1 = 0.9, beta_2 = 0.98, eps = 1e-9; label smoothing eps_ls = 0.1 (Szegedy et al.
2016). `warmup_rate` writes (3) with its peak made explicit: the rate climbs linearly to
`peak_lr` at `warmup_steps`, then decays as 1/sqrt(step); `paper_peak_lr` gives the peak that
(3) implies. Gradient clipping (by global norm) is our addition; set `clip_norm=0` to turn it off.

Interrupting training (Ctrl-C) saves a checkpoint; `resume=True` continues from it to exactly
the result an uninterrupted run gives on a CPU (same seed, same batches, same dropout masks).
Checkpoints hold only tensors and plain values, and load with `torch.load(weights_only=True)`,
which never unpickles code.
"""

import json
import math
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from transformer.checkpoint import load_checkpoint, save_checkpoint
from transformer.losses import label_smoothed_cross_entropy
from transformer.metrics import perplexity
from transformer.interface import Seq2Seq

SCHEDULES = ("warmup", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. The paper's values in the comments."""

    epochs: int = 10
    peak_lr: float = 1e-3  # (3) gives d_model^-0.5 * warmup^-0.5 = 7e-4 for the base model
    schedule: str = "warmup"  # warmup: equation (3); constant: peak_lr throughout
    warmup_steps: int = 4000  # 4000
    label_smoothing: float = 0.1  # 0.1
    clip_norm: float = 1.0  # none in the paper
    betas: tuple[float, float] = (0.9, 0.98)  # (0.9, 0.98)
    adam_eps: float = 1e-9  # 1e-9
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"  # auto: CUDA, then Apple MPS, then CPU
    bf16: bool = True  # bfloat16 autocast, on CUDA only

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs: expected >= 1, got {self.epochs}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule: expected one of {SCHEDULES}, got {self.schedule!r}")
        if self.peak_lr <= 0 or self.warmup_steps < 1:
            raise ValueError(f"TrainConfig: expected peak_lr > 0 and warmup_steps >= 1, got {self.peak_lr}, {self.warmup_steps}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"TrainConfig.label_smoothing: expected a value in [0, 1), got {self.label_smoothing}")


def paper_peak_lr(d_model: int, warmup_steps: int) -> float:
    """The highest rate equation (3) reaches, at step = warmup_steps."""
    return d_model**-0.5 * warmup_steps**-0.5


# exercise(training): the warm-up schedule of equation (3) (§5.3), scaled so that its peak is
#   peak_lr, reached at step warmup_steps.
#   hint: a linear rise to the peak over warmup_steps steps, then a decay as 1/sqrt(step): the
#     smaller of the two branches; step 0 counts as step 1.
#   hint: equation (3) with a peak: peak_lr * min(step / warmup_steps, sqrt(warmup_steps / step)),
#     treating step 0 as step 1.
def warmup_rate(step: int, peak_lr: float, warmup_steps: int) -> float:
    """Equation (3) with an explicit peak: linear warm-up, then inverse square-root decay.

    Equals the paper's formula exactly when peak_lr = paper_peak_lr(d_model, warmup_steps).
    """
    step = max(step, 1)
    return peak_lr * min(step / warmup_steps, math.sqrt(warmup_steps / step))


def learning_rate(step: int, config: TrainConfig) -> float:
    if config.schedule == "constant":
        return config.peak_lr
    return warmup_rate(step, config.peak_lr, config.warmup_steps)


def pick_device(name: str = "auto") -> torch.device:
    """CUDA if present, then Apple MPS, then CPU; or the device named."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _autocast(device: torch.device, config: TrainConfig):
    if device.type == "cuda" and config.bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def evaluate(model: Seq2Seq, batches: Iterable, device: torch.device | None = None) -> dict:
    """Teacher-forced loss (no smoothing), perplexity and token accuracy on `batches`."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, total_tokens, correct = 0.0, 0, 0
    for batch in batches:
        src, tgt_in, tgt_out = batch.src.to(device), batch.tgt_in.to(device), batch.tgt_out.to(device)
        logits = model(src, tgt_in).float()
        real = tgt_out != model.tgt_pad_id
        n = int(real.sum())
        total_loss += label_smoothed_cross_entropy(logits, tgt_out, 0.0, model.tgt_pad_id).item() * n
        correct += int(((logits.argmax(-1) == tgt_out) & real).sum())
        total_tokens += n
    model.train(was_training)
    loss = total_loss / max(total_tokens, 1)
    return {"loss": loss, "perplexity": perplexity(loss), "token_accuracy": correct / max(total_tokens, 1)}


@dataclass
class History:
    """What a run measured: one dict per epoch (train loss, validation metrics, time, rate)."""

    epochs: list[dict]
    best_epoch: int
    interrupted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def train(
    model: Seq2Seq,
    train_batches: Callable[[int], Sequence],
    valid_batches: Sequence,
    config: TrainConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    meta: dict | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> History:
    """Train `model` for `config.epochs` epochs; evaluate after each; keep the best checkpoint.

    `train_batches(epoch)` returns that epoch's batches (deterministic for a given epoch, so a
    resumed run sees the same ones). With `run_dir`, writes `checkpoint_best.pt`,
    `checkpoint_last.pt` (for resuming) and `history.json`. `meta` (config, vocabularies) is
    stored inside each checkpoint so it can be used on its own. `on_step(step, loss)` and
    `on_epoch(epoch, record)` let callers watch (the tests interrupt through `on_step`).
    """
    from tqdm.auto import tqdm

    device = pick_device(config.device)
    seed_everything(config.seed)
    model.to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.peak_lr, betas=config.betas, eps=config.adam_eps, weight_decay=config.weight_decay
    )
    history = History(epochs=[], best_epoch=-1)
    start_epoch, skip, step = 0, 0, 0
    best_loss = float("inf")
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        last = run_dir / "checkpoint_last.pt" if run_dir else None
        if last is None or not last.exists():
            raise FileNotFoundError(f"resume: expected a checkpoint at {last}, found none")
        state = load_checkpoint(last, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        p = state["progress"]
        start_epoch, skip, step, best_loss = p["epoch"], p["batch"], p["step"], p["best_loss"]
        history = History(**json.loads(p["history_json"]))
        history.interrupted = False
        torch.set_rng_state(p["torch_rng"].cpu())
        if device.type == "cuda" and "cuda_rng" in p:
            torch.cuda.set_rng_state(p["cuda_rng"].cpu())

    def snapshot(epoch: int, batch_index: int) -> dict:
        p = {"epoch": epoch, "batch": batch_index, "step": step, "best_loss": best_loss,
             "history_json": json.dumps(history.to_dict()), "torch_rng": torch.get_rng_state()}
        if device.type == "cuda":
            p["cuda_rng"] = torch.cuda.get_rng_state()
        return p

    epoch, done = start_epoch, skip
    with _graceful_interrupt() as interrupt:
        try:
            for epoch in range(start_epoch, config.epochs):
                model.train()
                batches = train_batches(epoch)
                started, loss_sum, tokens, done = time.perf_counter(), 0.0, 0, skip
                bar = tqdm(total=len(batches), initial=skip, desc=f"epoch {epoch + 1}/{config.epochs}",
                           disable=not progress, leave=False)
                for index in range(skip, len(batches)):
                    batch = batches[index]
                    for group in optimizer.param_groups:
                        group["lr"] = learning_rate(step + 1, config)
                    src, tgt_in, tgt_out = batch.src.to(device), batch.tgt_in.to(device), batch.tgt_out.to(device)
                    with _autocast(device, config):
                        logits = model(src, tgt_in)
                    loss = label_smoothed_cross_entropy(logits, tgt_out, config.label_smoothing, model.tgt_pad_id)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.clip_norm > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
                    optimizer.step()
                    step, done = step + 1, index + 1
                    n = int((tgt_out != model.tgt_pad_id).sum())
                    loss_sum, tokens = loss_sum + loss.item() * n, tokens + n
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}")
                    if on_step is not None:
                        on_step(step, loss.item())
                    if interrupt.requested:
                        raise KeyboardInterrupt
                bar.close()
                skip = 0
                elapsed = time.perf_counter() - started
                record = {"epoch": epoch + 1, "step": step, "train_loss": loss_sum / max(tokens, 1),
                          "lr": learning_rate(step, config), "seconds": elapsed,
                          "tokens_per_second": tokens / max(elapsed, 1e-9)}
                record.update({f"valid_{k}": v for k, v in evaluate(model, valid_batches, device).items()})
                history.epochs.append(record)
                if record["valid_loss"] < best_loss:
                    best_loss, history.best_epoch = record["valid_loss"], epoch + 1
                    if run_dir is not None:
                        save_checkpoint(run_dir / "checkpoint_best.pt", model, meta=meta)
                if run_dir is not None:
                    save_checkpoint(run_dir / "checkpoint_last.pt", model, optimizer, snapshot(epoch + 1, 0), meta)
                    (run_dir / "history.json").write_text(json.dumps(history.to_dict(), indent=2))
                if on_epoch is not None:
                    on_epoch(epoch + 1, record)
        except KeyboardInterrupt:
            history.interrupted = True
            if run_dir is not None:
                save_checkpoint(run_dir / "checkpoint_last.pt", model, optimizer, snapshot(epoch, done), meta)
                (run_dir / "history.json").write_text(json.dumps(history.to_dict(), indent=2))
    return history


class _graceful_interrupt:
    """While training, the first Ctrl-C asks the loop to stop after the current step (so the
    checkpoint is consistent); a second one interrupts at once. Only in the main thread."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
