"""Runs: train one model on one task into a run folder, resume it, load it back.

A run folder holds everything needed to use the model later:

    config.json       task, task options, model family and config, training recipe
    checkpoint_best.pt / checkpoint_last.pt   weights (+ optimizer and loop state in _last, for --resume)
    history.json      one record per epoch      metrics.json   test scores after training
    curves.png        learning curves
"""

import dataclasses
import json
import time
from pathlib import Path

from transformer.experiments.evaluate import evaluate_split
from transformer.experiments.recipes import RECIPES, build_model, model_spec, recipe_train_config
from transformer.interface import Seq2Seq, count_parameters
from transformer.tasks import TaskData, load_task, make_batches
from transformer.train import TrainConfig, load_checkpoint, pick_device, seed_everything, train


def train_run(
    task: str,
    model_name: str,
    run_dir: Path,
    *,
    task_options: dict | None = None,
    model_overrides: dict | None = None,
    train_overrides: dict | None = None,
    max_tokens: int | None = None,
    match_parameters: int | None = None,
    resume: bool = False,
    progress: bool = True,
    log=print,
    data: TaskData | None = None,
) -> dict:
    """Train one model on one task into `run_dir`; evaluate the best checkpoint on the test split.

    With `resume`, every setting comes from `run_dir/config.json` and training continues from
    `checkpoint_last.pt`. Returns the run's summary (also written to `metrics.json`).
    """
    run_dir = Path(run_dir)
    if resume:
        config_path = run_dir / "config.json"
        if not config_path.exists():
            raise FileNotFoundError(f"--resume: expected {config_path} from an earlier run, found none")
        saved = json.loads(config_path.read_text())
        task, model_name = saved["task"], saved["model"]["name"]
        task_options, max_tokens = saved["task_options"], saved["max_tokens"]
        train_config = TrainConfig(**{**saved["train"], "betas": tuple(saved["train"]["betas"])})
        data = data or load_task(task, **task_options)
        spec = saved["model"]
    else:
        if task not in RECIPES:
            raise ValueError(f"unknown task {task!r}: expected one of {', '.join(RECIPES)}")
        recipe = RECIPES[task]
        task_options = {**recipe.task_options, **(task_options or {})}
        data = data or load_task(task, **task_options)
        spec = model_spec(model_name, data, recipe, model_overrides, match_parameters)
        train_config = recipe_train_config(recipe, train_overrides or {})
        max_tokens = max_tokens or recipe.max_tokens
    seed_everything(train_config.seed)  # the initial weights too come from the run's seed
    model = build_model(spec)
    n_parameters = count_parameters(model)
    meta = {"task": task, "task_options": task_options, "model": spec, "train": dataclasses.asdict(train_config),
            "max_tokens": max_tokens, "source": data.source.to_dict(), "target": data.target.to_dict(),
            "parameters": n_parameters}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    log(f"{model_name} on {task}: {n_parameters:,} parameters, {len(data.train):,} training pairs, run folder {run_dir}")

    valid_batches = make_batches(data.valid, max_tokens=max_tokens)
    seed = train_config.seed

    def train_batches(epoch: int):
        return make_batches(data.train, max_tokens=max_tokens, shuffle=True, seed=seed + epoch)

    def report(epoch: int, record: dict) -> None:
        log(f"  epoch {epoch:>2}: train loss {record['train_loss']:.3f}, valid loss {record['valid_loss']:.3f}, "
            f"valid token accuracy {record['valid_token_accuracy']:.3f}, {record['tokens_per_second']:,.0f} tgt tok/s")

    started = time.perf_counter()
    history = train(model, train_batches, valid_batches, train_config, run_dir=run_dir, resume=resume,
                    meta=meta, progress=progress, on_epoch=report)
    seconds = time.perf_counter() - started
    if history.interrupted:
        log(f"interrupted: checkpoint saved; continue with `transformer train --resume {run_dir}`")
        return {"interrupted": True, "run_dir": str(run_dir)}
    _plot_curves(run_dir, model_name, history.epochs)
    model.load_state_dict(load_checkpoint(run_dir / "checkpoint_best.pt")["model"])
    summary = {"task": task, "model": model_name, "parameters": n_parameters,
               "train_seconds": sum(r["seconds"] for r in history.epochs), "wall_seconds": seconds,
               "best_epoch": history.best_epoch, "history": history.epochs}
    for split in [s for s in ("test", "test_long") if s in data.splits]:
        summary[split] = evaluate_split(model, data, split, RECIPES[task].decode_extra)
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def load_run(run_dir: Path, checkpoint: str = "checkpoint_best.pt") -> tuple[Seq2Seq, dict]:
    """The trained model of a run folder (on the best device) and its meta data."""
    from transformer.tasks import TextCodec

    path = Path(run_dir) / checkpoint
    if not path.exists():
        raise FileNotFoundError(f"expected a checkpoint at {path}: is {run_dir} a finished run folder?")
    payload = load_checkpoint(path)
    meta = payload["meta"]
    if "model" not in meta:
        raise ValueError(f"{path}: no model description inside; it was not written by `transformer train`")
    model = build_model(meta["model"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(f"{path}: the weights do not fit the model its config describes ({first[-1].strip()})") from None
    meta["source_codec"] = TextCodec.from_dict(meta["source"])
    meta["target_codec"] = TextCodec.from_dict(meta["target"])
    return model.to(pick_device()).eval(), meta


def _plot_curves(run_dir: Path, name: str, records: list[dict]) -> None:
    from transformer.plotting.save import save_figure_to
    from transformer.plotting.training import plot_learning_curves

    save_figure_to(plot_learning_curves({name: records}), Path(run_dir) / "curves.png")
