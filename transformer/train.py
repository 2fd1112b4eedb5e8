"""Training: one loop for every model family and every task shape, with the paper's recipe.

Chapter: walkthrough/09_training.md. Paper: Vaswani et al. 2017, §5.3 and §5.4:

    lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)        (3)

Adam with beta_1 = 0.9, beta_2 = 0.98, eps = 1e-9; label smoothing eps_ls = 0.1 (Szegedy et al.
2016). `warmup_rate` writes (3) with its peak made explicit: the rate climbs linearly to
`peak_lr` at `warmup_steps`, then decays as 1/sqrt(step); `paper_peak_lr` gives the peak that
(3) implies. Gradient clipping (by global norm) is our addition; set `clip_norm=0` to turn it off.
What a batch's loss is, and what validation measures, depends on the model's shape
(`transformer.objectives`).

Interrupting training (Ctrl-C) never loses work and never leaves a half state. The signal
handler only raises a flag; the loop looks at it between steps (and between validation
batches), saves a consistent checkpoint and returns. A second Ctrl-C while it saves changes
nothing. `resume=True` continues from that checkpoint to exactly the result an uninterrupted
run gives on a CPU: the same weights bit for bit and the same `history.json` (timings aside),
because the checkpoint holds the loop's position, the random state and the running sums of the
interrupted epoch. Checkpoints hold only tensors and plain values, and load with
`torch.load(weights_only=True)`, which never unpickles code.
"""

import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from transformer.checkpoint import load_checkpoint, save_checkpoint, write_json
from transformer.configs import check_choice, check_fields, check_fraction
from transformer.devices import DEVICE_NAMES, autocast, bf16_support, pick_device, worth_bf16
from transformer.losses import label_smoothed_cross_entropy
from transformer.objectives import evaluate, objective_for

SCHEDULES = ("warmup", "cosine", "constant")
__all__ = ["History", "TrainConfig", "TrainingDiverged", "average_checkpoints", "evaluate", "label_smoothed_cross_entropy",
           "cosine_rate", "learning_rate", "load_checkpoint", "paper_peak_lr", "pick_device", "save_checkpoint",
           "seed_everything", "train", "warmup_rate"]


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. The paper's values in the comments."""

    epochs: int = 10
    peak_lr: float = 1e-3  # (3) gives d_model^-0.5 * warmup^-0.5 = 7e-4 for the base model
    schedule: str = "warmup"  # warmup: equation (3); cosine: warm-up, then a half cosine to the end; constant
    final_lr: float = 0.1  # cosine: the rate at the last planned step, as a fraction of peak_lr
    warmup_steps: int = 4000  # 4000
    label_smoothing: float = 0.1  # 0.1
    clip_norm: float = 1.0  # none in the paper
    betas: tuple[float, float] = (0.9, 0.98)  # (0.9, 0.98)
    adam_eps: float = 1e-9  # 1e-9
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"  # auto: CUDA, then Apple MPS, then CPU
    bf16: bool = True  # bfloat16 autocast where the device computes it natively (see transformer.devices)
    word_dropout: float = 0.0  # classifiers and taggers: each input token becomes UNK with this probability
    average_last: int = 0  # keep the last k epochs' weights; the run's final model is their average (§6.1: 5)
    time_limit: float = 0.0  # stop training after this many seconds (0: no limit); the epoch in hand is validated

    def __post_init__(self):
        check_fields(self, positive=("epochs", "peak_lr", "warmup_steps", "adam_eps"))
        check_choice(self, "schedule", SCHEDULES)
        check_fraction(self, "label_smoothing", "word_dropout", "final_lr")
        if self.average_last < 0 or self.time_limit < 0:
            raise ValueError(f"TrainConfig: expected average_last >= 0 and time_limit >= 0, "
                             f"got {self.average_last} and {self.time_limit}")
        if self.clip_norm < 0 or self.weight_decay < 0:
            raise ValueError(f"TrainConfig: expected clip_norm >= 0 and weight_decay >= 0, "
                             f"got {self.clip_norm} and {self.weight_decay}")
        if not all(0.0 <= beta < 1.0 for beta in self.betas):
            raise ValueError(f"TrainConfig.betas: expected two values in [0, 1), got {self.betas}")
        if self.device.split(":")[0] not in DEVICE_NAMES:
            raise ValueError(f"TrainConfig.device: expected auto, cpu, cuda, cuda:N or mps, got {self.device!r}")


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: training stops, the last good checkpoint stays."""


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


def cosine_rate(step: int, peak_lr: float, warmup_steps: int, total_steps: int, final_lr: float) -> float:
    """Linear warm-up to `peak_lr`, then half a cosine down to `final_lr * peak_lr` at `total_steps`.

    Not the paper's schedule: the one most small-budget recipes use (nanoGPT, for one), because
    the rate reaches its floor exactly when the planned steps run out, whatever their number.
    After `total_steps` the rate stays at the floor.
    """
    step = max(step, 1)
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(total_steps - warmup_steps, 1))
    floor = final_lr * peak_lr
    return floor + (peak_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate(step: int, config: TrainConfig, total_steps: int | None = None) -> float:
    """The rate at `step` (from 1). `total_steps`, the run's planned steps, is what cosine needs."""
    if config.schedule == "constant":
        return config.peak_lr
    if config.schedule == "cosine":
        if total_steps is None:
            raise ValueError("learning_rate: the cosine schedule needs total_steps, the run's planned number of steps")
        return cosine_rate(step, config.peak_lr, config.warmup_steps, total_steps, config.final_lr)
    return warmup_rate(step, config.peak_lr, config.warmup_steps)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """What a run measured: one dict per epoch (train loss, validation metrics, time, rate)."""

    epochs: list[dict]
    best_epoch: int
    interrupted: bool = False
    time_limited: bool = False  # stopped by TrainConfig.time_limit before its last epoch

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Position:
    """Where the loop is, and what the current epoch has summed so far: all a resume needs."""

    epoch: int = 0
    batch: int = 0  # the next batch of `epoch` to train on (== len(batches): on to validation)
    step: int = 0
    best_loss: float = float("inf")
    loss_sum: float = 0.0
    items: int = 0
    seconds: float = 0.0  # spent on the current epoch before an interruption
    bf16: bool | None = None  # the precision the run trains in (decided when it starts)


def train(
    model: torch.nn.Module,
    train_batches: Callable[[int], Sequence],
    valid_batches: Sequence,
    config: TrainConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    meta: dict | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> History:
    """Train `model` for `config.epochs` epochs; evaluate after each; keep the best checkpoint.

    `train_batches(epoch)` returns that epoch's batches (deterministic for a given epoch, so a
    resumed run sees the same ones). With `run_dir`, writes `checkpoint_best.pt`,
    `checkpoint_last.pt` (for resuming) and `history.json`. `meta` (config, vocabularies) is
    stored inside each checkpoint so it can be used on its own. `on_step(step, loss)` and
    `on_epoch(epoch, record)` let callers watch; raising KeyboardInterrupt in them stops the run
    as Ctrl-C does. `log` receives one line saying the device and precision.
    """
    from tqdm.auto import tqdm

    objective = objective_for(model)
    device = pick_device(config.device)
    seed_everything(config.seed)
    model.to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.peak_lr, betas=config.betas, eps=config.adam_eps, weight_decay=config.weight_decay
    )
    history = History(epochs=[], best_epoch=-1)
    at = _Position()
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        at, history = _restore(run_dir, model, optimizer, device)
    first_batches = train_batches(at.epoch) if at.epoch < config.epochs else None
    # the planned steps (what the cosine schedule decays over): epochs x the first epoch's batches,
    # the same number whether the run starts here or resumes
    first_length = len(first_batches) if at.epoch == 0 and first_batches is not None else len(train_batches(0))
    total_steps = config.epochs * first_length
    if resume and at.bf16 is not None:  # the precision the run started with, so it resumes exactly
        use_bf16, why = at.bf16, "as when this run started"
    else:
        use_bf16, why = _choose_bf16(model, config, device)
    at.bf16 = use_bf16
    if log is not None:
        log(f"training on {device}; bfloat16 autocast on {device.type}: {'yes' if use_bf16 else 'no'}, {why}")

    def save_last() -> None:
        if run_dir is not None:
            save_checkpoint(run_dir / "checkpoint_last.pt", model, optimizer, _snapshot(at, history, device), meta)
            write_json(run_dir / "history.json", history.to_dict())

    rate_name = "sentences_per_second" if objective.name == "classification" else "tokens_per_second"
    spent_before = sum(record["seconds"] for record in history.epochs)  # training time of the finished epochs

    def out_of_time(in_epoch_since: float | None = None) -> bool:
        """True once the run's training time reaches config.time_limit (0: never)."""
        running = time.perf_counter() - in_epoch_since if in_epoch_since is not None else 0.0
        return config.time_limit > 0 and spent_before + at.seconds + running >= config.time_limit

    with _graceful_interrupt() as interrupt:
        for epoch in range(at.epoch, config.epochs):
            model.train()
            batches = first_batches if epoch == at.epoch and first_batches is not None else train_batches(epoch)
            first_batches = None
            started = time.perf_counter()
            bar = tqdm(total=len(batches), initial=at.batch, desc=f"epoch {epoch + 1}/{config.epochs}",
                       disable=not progress, leave=False)
            while at.batch < len(batches) and not interrupt.requested and not out_of_time(started):
                lr = learning_rate(at.step + 1, config, total_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with autocast(device, use_bf16):
                    loss, n = objective.loss(model, batches[at.batch].to(device), config.label_smoothing,
                                             config.word_dropout)
                value = loss.item()
                if not math.isfinite(value):
                    bar.close()
                    raise TrainingDiverged(
                        f"training diverged at step {at.step + 1} (epoch {epoch + 1}): the loss is {value}; the "
                        f"learning rate there was {lr:.3g}, likely too high (try --lr {config.peak_lr / 10:.3g}); "
                        "the last saved checkpoint is kept")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip_norm > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
                optimizer.step()
                at.step, at.batch = at.step + 1, at.batch + 1
                at.loss_sum, at.items = at.loss_sum + value * n, at.items + n
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}")
                _call(on_step, interrupt, at.step, value)
            bar.close()
            at.seconds += time.perf_counter() - started
            if interrupt.requested:
                break
            valid = evaluate(model, valid_batches, device, stop=lambda: interrupt.requested)
            if valid is None:  # Ctrl-C during validation: the epoch's training is saved, validation reruns
                break
            record = {"epoch": epoch + 1, "step": at.step, "train_loss": at.loss_sum / max(at.items, 1),
                      "lr": learning_rate(at.step, config, total_steps), "bf16": use_bf16, "seconds": at.seconds,
                      rate_name: at.items / max(at.seconds, 1e-9)}
            record.update({f"valid_{k}": v for k, v in valid.items()})
            if at.batch < len(batches):  # stopped by the time limit inside the epoch
                record["batches"] = f"{at.batch} of {len(batches)}"
            history.epochs.append(record)
            if record["valid_loss"] < at.best_loss:
                at.best_loss, history.best_epoch = record["valid_loss"], epoch + 1
                if run_dir is not None:
                    save_checkpoint(run_dir / "checkpoint_best.pt", model, meta=meta)
            if run_dir is not None and config.average_last > 0:
                _keep_epoch_weights(run_dir, model, epoch + 1, config.average_last)
            spent_before += at.seconds
            at = _Position(epoch=epoch + 1, step=at.step, best_loss=at.best_loss, bf16=at.bf16)  # seconds back to 0
            save_last()
            _call(on_epoch, interrupt, epoch + 1, record)
            if interrupt.requested:
                break
            if out_of_time():
                history.time_limited = True
                save_last()
                break
        if interrupt.requested and at.epoch < config.epochs:
            history.interrupted = True
            save_last()
    return history


def _choose_bf16(model, config: TrainConfig, device) -> tuple[bool, str]:
    """Whether this run trains under bfloat16 autocast, and why (see `transformer.devices`)."""
    if not config.bf16:
        return False, "turned off (TrainConfig.bf16, --no-bf16)"
    native, why = bf16_support(device.type)
    if not native or device.type != "cpu":
        return native, why
    pays, size = worth_bf16(model)
    return pays, f"{why}, but {size}" if not pays else f"{why}, and {size}"


def _keep_epoch_weights(run_dir: Path, model, epoch: int, keep: int) -> None:
    """Weights of this epoch as `checkpoint_epoch{N}.pt`; only the last `keep` stay."""
    save_checkpoint(run_dir / f"checkpoint_epoch{epoch}.pt", model)
    for old in run_dir.glob("checkpoint_epoch*.pt"):
        if int(old.stem.removeprefix("checkpoint_epoch")) <= epoch - keep:
            old.unlink()


def average_checkpoints(paths: Sequence[Path]) -> dict:
    """The element-wise mean of the weights in several checkpoints (Vaswani et al. 2017, §6.1)."""
    if not paths:
        raise ValueError("average_checkpoints: expected at least one checkpoint, got none")
    states = [load_checkpoint(path)["model"] for path in paths]
    return {name: (sum(state[name].double() for state in states) / len(states)).to(value.dtype)
            if value.is_floating_point() else value for name, value in states[0].items()}


def _call(callback, interrupt, *args) -> None:
    """Run a caller's callback; a KeyboardInterrupt it raises stops the run like Ctrl-C."""
    if callback is None:
        return
    try:
        callback(*args)
    except KeyboardInterrupt:
        interrupt.requested = True


def _snapshot(at: _Position, history: History, device: torch.device) -> dict:
    """The checkpoint's `progress`: the loop position, the epoch's sums, history and random state."""
    progress = {**asdict(at), "history_json": json.dumps(history.to_dict()), "torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        progress["cuda_rng"] = torch.cuda.get_rng_state()
    return progress


def _restore(run_dir: Path | None, model, optimizer, device) -> tuple[_Position, History]:
    last = run_dir / "checkpoint_last.pt" if run_dir is not None else None
    if last is None or not last.exists():
        raise FileNotFoundError(f"resume: expected a checkpoint at {last}, found none")
    state = load_checkpoint(last, map_location=device)
    if "progress" not in state or "optimizer" not in state:
        raise ValueError(f"{last}: holds weights only (no optimizer or loop position), so training cannot resume from it")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise ValueError(f"{last}: the checkpoint does not fit the model its run folder describes ({first})") from None
    p = state["progress"]
    at = _Position(**{k: p[k] for k in _Position.__dataclass_fields__ if k in p})
    history = History(**json.loads(p["history_json"]))
    history.interrupted = False
    torch.set_rng_state(p["torch_rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in p:
        torch.cuda.set_rng_state(p["cuda_rng"].cpu())
    return at, history


class _graceful_interrupt:
    """While training, Ctrl-C (SIGINT) only asks the loop to stop at the next consistent point,
    however many times it comes. Only in the main thread (where Python delivers signals)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            print("\nstill saving the checkpoint; training stops in a moment", file=sys.stderr, flush=True)
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
