"""Train on Multi30k German -> English and score test2016 with sacreBLEU.

    python benchmarks/multi30k.py --model transformer --out runs/bench-multi30k-transformer
    python benchmarks/multi30k.py --model lstm-bahdanau --out runs/bench-multi30k-lstm
    python benchmarks/multi30k.py --model gru --match-transformer --beam 1 --out runs/bench-multi30k-gru

Prints the training time, throughput, greedy and beam BLEU/chrF on the validation set and on
test2016 (cased, 13a, detokenized output against the raw references), and the peak memory of the
process. Recipes are chosen on the validation scores only; test2016 is reported, never tuned on.
With `--train-set average_last=K`, `--score-averages 1,3,5` also scores (validation only) the
average of the last 1, 3, 5 epochs' weights, to choose how many to average.
`--save-data FILE` / `--data FILE` write / read the encoded task (a pickle of this project's own
TaskData), so a machine without `datasets` (a rented GPU) can run the same training.
"""

import argparse
import json
import pickle
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from transformer.cli import _key_values
from transformer.experiments import RECIPES, build_model, evaluate_split, model_spec, train_run
from transformer.model import count_parameters
from transformer.tasks import load_task


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu}, {torch.get_num_threads()} threads{gpu}; torch {torch.__version__}, Python {platform.python_version()}"


def _scores(scores: dict) -> dict:
    return {k: scores[k] for k in ("bleu", "chrf", "decode_seconds")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--out", default="runs/bench-multi30k")
    parser.add_argument("--path", help="folder with train/val/test2016.{de,en} (default: ../shared/data/multi30k)")
    parser.add_argument("--data", help="read the encoded task from this pickle instead of loading it")
    parser.add_argument("--save-data", help="write the encoded task to this pickle and stop")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-tokens", type=int)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--max-train", type=int, help="use only the first N training pairs (a smoke test)")
    parser.add_argument("--force", action="store_true", help="start over in --out if it holds a run")
    parser.add_argument("--match-transformer", action="store_true",
                        help="size a recurrent model to the recipe Transformer's parameter count, as `compare` does")
    parser.add_argument("--score-averages", help="comma-separated k: score the average of the last k epochs on validation")
    parser.add_argument("--task-option", action="append", metavar="KEY=VALUE", help="task option, e.g. shared_vocab=true")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="model config field")
    parser.add_argument("--train-set", action="append", metavar="KEY=VALUE", help="training config field")
    args = parser.parse_args()

    if args.data:
        data = pickle.loads(Path(args.data).read_bytes())
    else:
        # the recipe's task options (BPE pieces, one vocabulary), then what the command line changes
        options = {**RECIPES["multi30k"].task_options, **_key_values(args.task_option, "--task-option")}
        data = load_task("multi30k", **({"path": args.path} if args.path else {}), **options)
    if args.save_data:
        Path(args.save_data).write_bytes(pickle.dumps(data))
        print(f"saved {data!r} to {args.save_data}")
        return 0

    if args.max_train:
        data.splits["train"] = data.splits["train"][: args.max_train]
    print(machine())
    train_overrides = _key_values(args.train_set, "--train-set")
    if args.epochs:
        train_overrides["epochs"] = args.epochs
    match = None
    if args.match_transformer and args.model != "transformer":
        match = count_parameters(build_model(model_spec("transformer", data, RECIPES["multi30k"])))
    started = time.perf_counter()
    summary = train_run("multi30k", args.model, Path(args.out), model_overrides=_key_values(args.set, "--set"),
                        train_overrides=train_overrides, max_tokens=args.batch_tokens, data=data, progress=False,
                        match_parameters=match, task_options=None if args.data else options, force=args.force)
    wall = time.perf_counter() - started
    results = {"machine": machine(), "model": args.model, "parameters": summary["parameters"],
               "train_seconds": summary["train_seconds"], "wall_seconds": wall,
               "epochs": len(summary["history"]), "best_epoch": summary["best_epoch"],
               "tokens_per_second": sum(r["tokens_per_second"] for r in summary["history"]) / len(summary["history"]),
               "bf16": summary["bf16"], "checkpoint": summary["checkpoint"],
               "greedy": {k: summary["test"][k] for k in ("bleu", "chrf", "bleu_signature", "decode_seconds")}}
    from transformer.experiments.runs import load_run

    extra = RECIPES["multi30k"].decode_extra
    model, _ = load_run(Path(args.out))
    results["valid_greedy"] = _scores(evaluate_split(model, data, "valid", extra))
    if args.beam > 1:
        results["valid_beam"] = _scores(evaluate_split(model, data, "valid", extra, beam_size=args.beam))
        beam = evaluate_split(model, data, "test", extra, beam_size=args.beam)
        results[f"beam{args.beam}"] = {k: beam[k] for k in ("bleu", "chrf", "decode_seconds")}
    if args.score_averages:
        from transformer.train import average_checkpoints

        kept = sorted(Path(args.out).glob("checkpoint_epoch*.pt"), key=lambda p: int(p.stem.removeprefix("checkpoint_epoch")))
        results["valid_by_average"] = {}
        for k in [int(v) for v in args.score_averages.split(",")]:
            if k > len(kept):
                continue
            model.load_state_dict(average_checkpoints(kept[-k:]))
            scores = {"greedy": _scores(evaluate_split(model, data, "valid", extra))}
            if args.beam > 1:
                scores["beam"] = _scores(evaluate_split(model, data, "valid", extra, beam_size=args.beam))
            results["valid_by_average"][k] = scores
            print(f"average of the last {k} epochs: validation {scores}", flush=True)
    results["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if torch.cuda.is_available():
        results["peak_cuda_gib"] = torch.cuda.max_memory_allocated() / 2**30
    (Path(args.out) / "benchmark.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
