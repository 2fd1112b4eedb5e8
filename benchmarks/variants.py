"""Variants of one model's recipe, scored on the validation split only: how a recipe is chosen.

    python benchmarks/variants.py --task sst2 --model textcnn --epochs 12 \\
        --variant "base" \\
        --variant "wd: train.word_dropout=0.3" \\
        --variant "small: model.embedding_size=128 train.peak_lr=3e-3"

Each variant is the task's recipe with the changes it names (`model.FIELD=VALUE` for the model's
config, `train.FIELD=VALUE` for `TrainConfig`, `task.OPTION=VALUE` for the data, `max_tokens=N`
for the batch size), trained alone, one after the other, in this process. Printed and written to
`--out`/variants.json: the validation score of every epoch, the best epoch (by validation loss, as
training keeps it) and its score, parameters and seconds. Test splits are never read here, so
choosing the best variant cannot tune on test (BENCHMARKS.md reports test once, for the choice).
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from multi30k import machine  # noqa: E402
from shapes import value_of  # noqa: E402

from transformer.experiments.recipes import RECIPES  # noqa: E402
from transformer.experiments.runs import train_run  # noqa: E402
from transformer.objectives import OBJECTIVES  # noqa: E402
from transformer.tasks import load_task  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict]:
    """`"name: model.a=1 train.b=2"` -> ("name", {"model": {"a": 1}, "train": {"b": 2}, ...})."""
    name, _, changes = text.partition(":")
    parts = {"model": {}, "train": {}, "task": {}, "max_tokens": None}
    for change in changes.split():
        key, sep, raw = change.partition("=")
        where, _, field = key.partition(".")
        if not sep or (where not in ("model", "train", "task") and key != "max_tokens") or (where != key and not field):
            raise SystemExit(f"variant {name!r}: expected model.FIELD=VALUE, train.FIELD=VALUE, task.OPTION=VALUE "
                             f"or max_tokens=N, got {change!r}")
        if key == "max_tokens":
            parts["max_tokens"] = int(raw)
        else:
            parts[where][field] = value_of(raw)
    return name.strip(), parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=sorted(RECIPES))
    parser.add_argument("--model", required=True)
    parser.add_argument("--epochs", type=int, help="epochs of every variant (default: the recipe's)")
    parser.add_argument("--variant", action="append", required=True, help='"NAME: CHANGE CHANGE ..." (see above)')
    parser.add_argument("--out", help="folder of the runs (default runs/variants-TASK-MODEL)")
    args = parser.parse_args()
    out = Path(args.out or f"runs/variants-{args.task}-{args.model}")
    variants = [parse_variant(text) for text in args.variant]
    print(f"{datetime.date.today()}: {machine()}", flush=True)
    loaded: dict = {}
    results = []
    for name, parts in variants:
        options = {**RECIPES[args.task].task_options, **parts["task"]}
        key = json.dumps(options, sort_keys=True)
        if key not in loaded:
            loaded = {key: load_task(args.task, **options)}  # one data set in memory at a time
        data = loaded[key]
        main_metric = OBJECTIVES[data.shape].main_metric
        train = {**({"epochs": args.epochs} if args.epochs else {}), **parts["train"]}
        summary = train_run(args.task, args.model, out / name, task_options=parts["task"], model_overrides=parts["model"],
                            train_overrides=train, max_tokens=parts["max_tokens"], data=data, progress=False,
                            force=True, test=False)
        history = summary["history"]
        best = next(r for r in history if r["epoch"] == summary["best_epoch"])
        scores = [round(r[f"valid_{main_metric}"], 4) for r in history]
        results.append({"variant": name, "changes": parts, "parameters": summary["parameters"],
                        "seconds": round(summary["train_seconds"], 1), "best_epoch": summary["best_epoch"],
                        f"valid_{main_metric}": best[f"valid_{main_metric}"], "valid_loss": best["valid_loss"],
                        "by_epoch": scores})
        print(f"{name:<16} {summary['parameters']:>10,} params {summary['train_seconds']:>6.0f} s  best epoch "
              f"{summary['best_epoch']:>2}: valid {main_metric} {best[f'valid_{main_metric}']:.4f} "
              f"(loss {best['valid_loss']:.4f}); by epoch {scores}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    record = {"date": str(datetime.date.today()), "machine": machine(), "task": args.task, "model": args.model,
              "command": " ".join(sys.argv), "results": results}
    (out / "variants.json").write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
