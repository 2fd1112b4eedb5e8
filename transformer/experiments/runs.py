"""Runs: train one model on one task into a run folder, resume it, load it back.

A run folder holds everything needed to use the model later:

    config.json       task, task options, model family and config, training recipe, codecs
    checkpoint_best.pt / checkpoint_last.pt   weights (+ optimizer and loop state in _last, for --resume)
    history.json      one record per epoch      metrics.json   test scores after training
    curves.png        learning curves           split.json     which rows of the data each split holds
                                                               (for data with no official split)

The folder's promises: a run is never destroyed or mixed with another by accident (training into
a folder that holds a run is refused unless asked to resume it, or to start over with `force`);
every file is written atomically (a temporary file renamed over the old one); an interrupted run
resumes to exactly the result of an uninterrupted one (see `transformer.train`).
"""

import dataclasses
import json
import time
from pathlib import Path

from transformer.checkpoint import load_checkpoint, save_checkpoint, write_json
from transformer.experiments.evaluate import evaluate_split, evaluated_splits
from transformer.experiments.recipes import (
    RECIPES,
    Recipe,
    build_model,
    check_model,
    config_of,
    model_spec,
    parse_model_name,
    recipe_train_config,
)
from transformer.interface import CLASSIFICATION, SEQ2SEQ, count_parameters
from transformer.tasks import load_task, task_shape
from transformer.tasks.registry import check_task_options
from transformer.train import TrainConfig, average_checkpoints, evaluate, pick_device, seed_everything, train

RUN_FILES = ("config.json", "checkpoint_best.pt", "checkpoint_last.pt", "checkpoint_average.pt", "history.json",
             "metrics.json", "curves.png", "split.json")


def run_files(run_dir: Path) -> list[Path]:
    """The files of a run that are in `run_dir` (the kept epochs' weights included)."""
    run_dir = Path(run_dir)
    return [run_dir / name for name in RUN_FILES if (run_dir / name).exists()] + sorted(run_dir.glob("checkpoint_epoch*.pt"))


def holds_a_run(run_dir: Path) -> bool:
    """True if `run_dir` holds any file a run writes."""
    return bool(run_files(run_dir))


def prepare_run_dir(run_dir: Path, force: bool) -> None:
    """Refuse a folder that holds a run, unless `force`, which removes that run's files first."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"run folder {run_dir}: expected a folder, got a file")
    if holds_a_run(run_dir):
        if not force:
            raise ValueError(f"{run_dir} already holds a run: continue it with `transformer train --resume {run_dir}`, "
                             "or start over in it with --force (or choose another --run-dir)")
        for path in run_files(run_dir):
            path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)


def check_positions(spec: dict, data) -> None:
    """Refuse a model whose positions cannot cover the task's longest sequence (before training)."""
    config = config_of(spec)
    max_len = getattr(config, "max_len", None)
    if max_len is None:
        return
    needed = data.longest() + (1 if spec["shape"] in (SEQ2SEQ, CLASSIFICATION) else 0)  # EOS / BOS, or [CLS]
    if spec["shape"] == CLASSIFICATION and getattr(config, "pooling", None) != "first":
        needed -= 1
    if max_len < needed:
        raise ValueError(f"max_len={max_len} is too short for {data.name}: its longest sequence needs {needed} "
                         f"positions (set max_len >= {needed})")


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
    force: bool = False,
    progress: bool = True,
    log=print,
    data=None,
    test: bool = True,
) -> dict:
    """Train one model on one task into `run_dir`; evaluate the best checkpoint on the test split(s).

    `test=False` leaves the test splits unread (choosing a recipe on validation only).

    With `resume`, every setting comes from `run_dir/config.json` (only `train_overrides` of
    `epochs` may extend the run) and training continues from `checkpoint_last.pt`. Returns the
    run's summary (also written to `metrics.json`), or `{"interrupted": True, ...}` after Ctrl-C.
    """
    run_dir = Path(run_dir)
    if resume:
        meta, data = _resume_settings(run_dir, train_overrides or {}, data)
        spec, train_config = meta["model"], TrainConfig(**{**meta["train"], "betas": tuple(meta["train"]["betas"])})
        task, model_name, max_tokens = meta["task"], spec["name"], meta["max_tokens"]
    else:
        if task not in RECIPES:
            raise ValueError(f"unknown task {task!r}: expected one of {', '.join(RECIPES)}")
        check_model(model_name, task_shape(task), f"task {task!r}")
        recipe = RECIPES[task]
        task_options = {**recipe.task_options, **(task_options or {})}
        check_task_options(task, task_options)
        train_config = recipe_train_config(recipe, train_overrides or {}, parse_model_name(model_name, task_shape(task))[0])
        max_tokens = recipe.max_tokens if max_tokens is None else max_tokens
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise ValueError(f"batch tokens: expected a positive integer, got {max_tokens!r}")
        prepare_run_dir(run_dir, force)
        data = data if data is not None else load_task(task, **task_options)
        spec = model_spec(model_name, data, recipe, model_overrides, match_parameters)
        check_positions(spec, data)
        meta = {"task": task, "shape": data.shape, "task_options": task_options, "model": spec,
                "train": dataclasses.asdict(train_config), "max_tokens": max_tokens, "codecs": data.codecs()}
    seed_everything(train_config.seed)  # the initial weights too come from the run's seed
    model = build_model(spec)
    if spec["family"] == "bag_of_words" and not resume:  # document frequencies from the training split
        model.fit_idf([ids for ids, _ in data.train])
    meta["parameters"] = count_parameters(model)
    if not resume:
        write_json(run_dir / "config.json", meta)
        if "split_rows" in data.options:
            write_json(run_dir / "split.json", data.options["split_rows"])
    log(f"{model_name} on {task} ({data.shape}): {meta['parameters']:,} parameters, {len(data.train):,} training "
        f"{'tokens' if data.shape == 'language_model' else 'examples'}, run folder {run_dir}")

    valid_batches = data.batches("valid", max_tokens)
    seed = train_config.seed

    def train_batches(epoch: int):
        return data.batches("train", max_tokens, shuffle=True, seed=seed + epoch)

    def report(epoch: int, record: dict) -> None:
        main = next(k for k in ("valid_accuracy", "valid_token_accuracy", "valid_bits_per_token") if k in record)
        rate = next(k for k in record if k.endswith("_per_second"))
        log(f"  epoch {epoch:>2}: train loss {record['train_loss']:.3f}, valid loss {record['valid_loss']:.3f}, "
            f"{main.replace('_', ' ')} {record[main]:.3f}, {record[rate]:,.0f} {rate.split('_')[0]}/s "
            f"({record['seconds']:.0f} s)")

    started = time.perf_counter()
    history = train(model, train_batches, valid_batches, train_config, run_dir=run_dir, resume=resume,
                    meta=meta, progress=progress, on_epoch=report, log=log)
    seconds = time.perf_counter() - started
    if history.interrupted:
        log(f"interrupted: the run is saved; continue it with `transformer train --resume {run_dir}`")
        return {"interrupted": True, "run_dir": str(run_dir), "task": task, "model": model_name}
    _plot_curves(run_dir, model_name, task, history.epochs)
    summary = {"task": task, "shape": data.shape, "model": model_name, "parameters": meta["parameters"],
               "train_seconds": sum(r["seconds"] for r in history.epochs), "wall_seconds": seconds,
               "best_epoch": history.best_epoch, "history": history.epochs, "bf16": history.epochs[-1]["bf16"],
               "time_limited": history.time_limited}
    model.load_state_dict(load_checkpoint(run_dir / "checkpoint_best.pt")["model"])
    summary["checkpoint"] = f"best (epoch {history.best_epoch}, lowest validation loss)"
    kept = sorted(run_dir.glob("checkpoint_epoch*.pt"), key=lambda p: int(p.stem.removeprefix("checkpoint_epoch")))
    if train_config.average_last > 0 and kept:
        summary["valid_best"] = evaluate(model, valid_batches)
        model.load_state_dict(average_checkpoints(kept))
        save_checkpoint(run_dir / "checkpoint_average.pt", model, meta=meta)
        summary["valid_average"] = evaluate(model, valid_batches)
        epochs = [int(p.stem.removeprefix("checkpoint_epoch")) for p in kept]
        summary["checkpoint"] = f"average of epochs {epochs[0]}-{epochs[-1]} (TrainConfig.average_last)"
        log(f"the final model averages the weights of epochs {epochs[0]}-{epochs[-1]}: validation loss "
            f"{summary['valid_average']['loss']:.3f} (best single epoch: {summary['valid_best']['loss']:.3f})")
    recipe = RECIPES.get(task, Recipe())
    for split in evaluated_splits(data) if test else ():
        summary[split] = evaluate_split(model, data, split, recipe.decode_extra, log=log)
    write_json(run_dir / "metrics.json", summary)
    return summary


def _resume_settings(run_dir: Path, overrides: dict, data) -> tuple[dict, object]:
    """The saved run's description, with `epochs` extended if asked, and its data."""
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"--resume: expected {config_path} from an earlier run, found none")
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
        meta["task"], meta["model"]["name"], meta["train"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{config_path}: not a run description written by `transformer train`") from None
    refused = sorted(set(overrides) - {"epochs", "device"})
    if refused:
        raise ValueError(f"--resume continues a run with its own settings; only --epochs and --device may change, "
                         f"got {', '.join(refused)}")
    if "epochs" in overrides:
        done = len(json.loads((run_dir / "history.json").read_text())["epochs"]) if (run_dir / "history.json").exists() else 0
        if overrides["epochs"] < done:
            raise ValueError(f"--resume --epochs {overrides['epochs']}: the run has already trained {done} epochs")
    meta["train"] = {**meta["train"], **overrides}
    meta.setdefault("shape", meta["model"].get("shape", SEQ2SEQ))
    meta["model"].setdefault("shape", meta["shape"])
    data = data if data is not None else load_task(meta["task"], **meta["task_options"])
    if overrides:
        write_json(config_path, meta)
    return meta, data


def load_run(run_dir: Path, checkpoint: str | None = None, device: str = "auto") -> tuple:
    """The trained model of a run folder (on the best device, in eval mode) and its meta data.

    The model is the run's final one: the average of its last epochs if it averaged them
    (`checkpoint_average.pt`), else its best epoch (`checkpoint_best.pt`), unless `checkpoint` names another.

    The meta data gains the codecs rebuilt from their descriptions ("source_codec" and, for
    seq2seq, "target_codec"; "labels", "tags", "chars" for the other shapes).
    """
    from transformer.tasks import Labels, TextCodec, Vocabulary

    if checkpoint is None:
        checkpoint = "checkpoint_average.pt" if (Path(run_dir) / "checkpoint_average.pt").exists() else "checkpoint_best.pt"
    path = Path(run_dir) / checkpoint
    if not path.exists():
        raise FileNotFoundError(f"expected a checkpoint at {path}: is {run_dir} a finished run folder?")
    payload = load_checkpoint(path)
    meta = payload["meta"]
    if "model" not in meta or "name" not in meta.get("model", {}):
        raise ValueError(f"{path}: no model description inside; it was not written by `transformer train`")
    model = build_model(meta["model"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(f"{path}: the weights do not fit the model its config describes ({first[-1].strip()})") from None
    codecs = meta.get("codecs") or {"source": meta["source"], "target": meta["target"]}  # older run folders
    meta["shape"] = meta.get("shape", meta["model"].get("shape", SEQ2SEQ))
    meta["source_codec"] = TextCodec.from_dict(codecs["source"])
    if "target" in codecs:
        meta["target_codec"] = TextCodec.from_dict(codecs["target"])
    for name in ("labels", "tags"):
        if name in codecs:
            meta[name] = Labels.from_dict(codecs[name])
    if "chars" in codecs:
        meta["chars"] = Vocabulary.from_dict(codecs["chars"])
    return model.to(pick_device(device)).eval(), meta


def _plot_curves(run_dir: Path, name: str, task: str, records: list[dict]) -> None:
    from transformer.plotting.save import save_figure_to
    from transformer.plotting.training import plot_learning_curves

    metric = next(m for m in ("valid_accuracy", "valid_token_accuracy", "valid_bits_per_token") if m in records[0])
    # Fixed margins and a lower resolution: drawn after every run, so it is kept cheap (chapter
    # figures are laid out tight).
    figure = plot_learning_curves({name: records}, ("train_loss", "valid_loss", metric), title=f"{task}: learning curves",
                                  tight=False)
    save_figure_to(figure, Path(run_dir) / "curves.png", dpi=80, tight=False)
