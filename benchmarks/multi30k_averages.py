"""Score, on the Multi30k validation set, the average of the last k epochs' weights of a run, after
any number of epochs: which epoch budget and which k to put in the recipe.

    python benchmarks/multi30k.py --epochs 30 --train-set average_last=30 --out runs/m30k
    python benchmarks/multi30k_averages.py runs/m30k --epochs 20,25,30 --average 1,3,5,8 --beam 4

The run must keep its epochs' weights (`--train-set average_last=N`, N at least the largest
epoch budget scored). Only the validation set is decoded: test2016 is never used to choose.
Prints one line per (epochs, k) and writes `averages.json` into the run folder.

Once a budget and k are chosen (on validation), `--report E:K --out FILE` scores that one average
on validation and on test2016 (greedy and beam) and writes it with the first E epochs' training
time and history, the record BENCHMARKS.md cites:

    python benchmarks/multi30k_averages.py runs/m30k --report 19:5 --out benchmarks/results/multi30k_cpu_bf16.json
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

from transformer.experiments.evaluate import evaluate_split
from transformer.experiments.recipes import RECIPES
from transformer.experiments.runs import load_run
from transformer.tasks import load_task
from transformer.train import average_checkpoints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--epochs", help="comma-separated epoch budgets, e.g. 20,25,30")
    parser.add_argument("--report", metavar="E:K", help="score the average of epochs E-K+1..E on validation and test")
    parser.add_argument("--out", help="with --report: the JSON file to write")
    parser.add_argument("--average", default="1,3,5", help="comma-separated k: the last k epochs averaged")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--alpha", default="0.6", help="comma-separated length penalties of beam search (--report: one)")
    args = parser.parse_args()
    if not args.epochs and not args.report:
        parser.error("expected --epochs (to choose) or --report E:K (to score the choice)")
    run = Path(args.run)
    model, meta = load_run(run, "checkpoint_best.pt", device="cpu")
    data = load_task("multi30k", **meta["task_options"])
    extra = RECIPES["multi30k"].decode_extra
    if args.report:
        return report(run, model, meta, data, extra, args)
    scores = []
    for epochs in (int(e) for e in args.epochs.split(",")):
        for k in (int(v) for v in args.average.split(",")):
            paths = [run / f"checkpoint_epoch{e}.pt" for e in range(epochs - k + 1, epochs + 1)]
            missing = [p.name for p in paths if not p.exists()]
            if missing:
                print(f"epochs {epochs}, last {k}: missing {', '.join(missing)}; skipped", file=sys.stderr)
                continue
            model.load_state_dict(average_checkpoints(paths))
            with torch.no_grad():
                greedy = evaluate_split(model, data, "valid", extra)
                beams = {alpha: evaluate_split(model, data, "valid", extra, beam_size=args.beam, alpha=float(alpha))
                         for alpha in args.alpha.split(",")}
            record = {"epochs": epochs, "average_last": k, "valid_loss": greedy["loss_loss"],
                      "greedy_bleu": greedy["bleu"],
                      **{f"beam{args.beam}_bleu" + ("" if alpha == "0.6" else f"_alpha{alpha}"): beam["bleu"]
                         for alpha, beam in beams.items()}}
            scores.append(record)
            print(json.dumps(record), flush=True)
    (run / "averages.json").write_text(json.dumps(scores, indent=2))
    return 0


def report(run: Path, model, meta: dict, data, extra: int, args) -> int:
    """Score one chosen average on validation and test2016; write it with its training time."""
    sys.path.insert(0, str(Path(__file__).parent))
    from multi30k import machine

    epochs, k = (int(v) for v in args.report.split(":"))
    model.load_state_dict(average_checkpoints([run / f"checkpoint_epoch{e}.pt" for e in range(epochs - k + 1, epochs + 1)]))
    history = json.loads((run / "history.json").read_text())["epochs"][:epochs]
    scores = {}
    with torch.no_grad():
        for split in ("valid", "test"):
            for name, beam in (("greedy", 1), (f"beam{args.beam}", args.beam)):
                result = evaluate_split(model, data, split, extra, beam_size=beam, alpha=float(args.alpha))
                scores[f"{split}_{name}"] = {key: result[key] for key in ("bleu", "chrf", "decode_seconds")}
                print(f"{split} {name}: BLEU {result['bleu']:.2f}", flush=True)
    record = {"date": str(datetime.date.today()), "machine": machine(), "run": str(run), "epochs": epochs,
              "average_last": k, "alpha": float(args.alpha), "task_options": meta["task_options"], "model": meta["model"],
              "train": meta["train"], "max_tokens": meta["max_tokens"],
              "train_seconds": sum(r["seconds"] for r in history), "history": history, "scores": scores,
              "command": " ".join(sys.argv)}
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2))
    print(json.dumps({k: v for k, v in record.items() if k not in ("history", "model", "train")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
