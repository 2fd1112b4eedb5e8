"""Every model family on a task of the other shapes, each trained with the task's recipe inside a
time budget on this machine: test scores beside parameters, training time and throughput.

    python benchmarks/shapes.py --task sst2 --models tfidf,textcnn,bilstm,transformer --minutes 5
    python benchmarks/shapes.py --task tweets --models bow,tfidf,textcnn,bilstm,transformer --minutes 5
    python benchmarks/shapes.py --task ud-pos --models baseline,bilstm,bilstm-char,bilstm-char-crf,transformer-char --minutes 10
    python benchmarks/shapes.py --task shakespeare --models transformer,lstm --minutes 3 --match
    python benchmarks/shapes.py --task sst2 --models textcnn --minutes 5 --no-bf16      # the float32 rate beside it

Each model trains alone in this process, one after the other, with `TrainConfig.time_limit` set to
the budget (the epoch in hand stops when it runs out, and is validated) and the recipe's epochs as
the upper bound; the final model is the best epoch by validation loss (or the average the recipe
asks for). The results go to `--out`/results.json and a Markdown table for BENCHMARKS.md; the
`baseline` of ud-pos is the most-frequent-tag tagger, which needs no training. With `--match`,
each recurrent model is sized (its hidden size) to the parameters of the Transformer trained
before it, as `transformer compare` does. Recipes are chosen
on the validation split; test is reported, never tuned on.
"""

import argparse
import datetime
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from multi30k import machine  # noqa: E402

from transformer.experiments.recipes import RECIPES, parse_model_name  # noqa: E402
from transformer.experiments.runs import train_run  # noqa: E402
from transformer.tasks import load_task  # noqa: E402

MAIN_SCORE = {"classification": ("accuracy", "test accuracy"), "tagging": ("token_accuracy", "test accuracy"),
              "language_model": ("loss", "validation loss (nats/token)")}


def most_frequent_tag(data) -> dict:
    """The baseline a tagger must beat, scored as the taggers are (seen and unseen words apart)."""
    from transformer.tagging.baseline import MostFrequentTagBaseline

    started = time.perf_counter()
    tagger = MostFrequentTagBaseline()
    tagger.fit(data.words["train"], [[data.tags.name(t) for t in tags] for _, tags, _ in data.train])
    known = data.training_words()
    seen, unseen = [0, 0], [0, 0]
    guesses = tagger.predict(data.words["test"])
    for words, (_, tags, _), sentence_guesses in zip(data.words["test"], data.splits["test"], guesses):
        for word, tag, guess in zip(words, tags, sentence_guesses):
            bucket = seen if word in known else unseen
            bucket[0] += data.tags.name(tag) == guess
            bucket[1] += 1
    total = (seen[0] + unseen[0]) / max(seen[1] + unseen[1], 1)
    return {"model": "baseline (most frequent tag)", "parameters": 0, "train_seconds": time.perf_counter() - started,
            "best_epoch": 0, "epochs": 0, "bf16": False, "rate": None,
            "test": {"token_accuracy": total, "seen_accuracy": seen[0] / max(seen[1], 1),
                     "unseen_accuracy": unseen[0] / max(unseen[1], 1), "unseen_tokens": unseen[1]}}


def value_of(raw: str):
    """A command-line value as JSON where it parses (numbers, true/false, lists), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def table(task: str, shape: str, results: list[dict]) -> str:
    key, title = MAIN_SCORE[shape]
    header = ["model", "parameters", "epochs", "train time", "rate", "bf16", title]
    if shape == "classification":
        header.append("macro F1")
    if shape == "tagging":
        header += ["seen words", "unseen words"]
    if shape == "language_model":
        header += ["bits/token", "perplexity"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        test = r["test"]
        rate = "-" if r["rate"] is None else f"{r['rate']:,.0f} {r['rate_unit']}/s"
        cells = [r["model"], f"{r['parameters']:,}", str(r["epochs"]), f"{r['train_seconds']:.0f} s", rate,
                 "yes" if r["bf16"] else "no", f"{test[key]:.3f}"]
        if shape == "classification":
            cells.append(f"{test['macro_f1']:.3f}")
        if shape == "tagging":
            cells += [f"{test['seen_accuracy']:.3f}", f"{test['unseen_accuracy']:.3f}"]
        if shape == "language_model":
            cells += [f"{test['bits_per_token']:.3f}", f"{test['perplexity']:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=sorted(RECIPES))
    parser.add_argument("--models", required=True, help="comma-separated model names (and `baseline` for ud-pos)")
    parser.add_argument("--minutes", type=float, required=True, help="the training budget of each model")
    parser.add_argument("--no-bf16", action="store_true", help="train in float32 (to time both)")
    parser.add_argument("--out", help="folder of the runs (default runs/bench-TASK)")
    parser.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="a config field for one model, e.g. textcnn:n_filters=150")
    parser.add_argument("--train-set", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="a training setting for one model, e.g. bilstm:epochs=20")
    parser.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a task option over the recipe's, e.g. context=256")
    parser.add_argument("--match", action="store_true",
                        help="size each recurrent model to the Transformer listed before it")
    args = parser.parse_args()
    names = args.models.split(",")
    if args.match and "transformer" not in names:
        parser.error("--match sizes the recurrent models to a Transformer: list `transformer` first")
    out = Path(args.out or f"runs/bench-{args.task}{'-fp32' if args.no_bf16 else ''}")
    options = dict(RECIPES[args.task].task_options)
    for item in args.task_option:
        key, _, raw = item.partition("=")
        options[key] = value_of(raw)
    data = load_task(args.task, **options)
    print(f"{datetime.date.today()}: {machine()}\n{data!r}", flush=True)
    results, transformer_parameters = [], None
    for name in names:
        if name == "baseline":
            results.append(most_frequent_tag(data))
            continue
        train = {"time_limit": 60 * args.minutes, **({"bf16": False} if args.no_bf16 else {})}
        model = {}
        for target, values in ((model, args.set), (train, args.train_set)):
            for item in values:
                who, _, setting = item.partition(":")
                if who == name:
                    key, _, raw = setting.partition("=")
                    target[key] = value_of(raw)
        started = time.perf_counter()
        family = parse_model_name(name, data.shape)[0]
        match = transformer_parameters if args.match and family == "recurrent" else None
        summary = train_run(args.task, name, out / name, train_overrides=train, model_overrides=model, data=data,
                            task_options=options,
                            match_parameters=match, progress=False, force=True)
        if name == "transformer":
            transformer_parameters = summary["parameters"]
        history = summary["history"]
        rate_key = next(k for k in history[-1] if k.endswith("_per_second"))
        results.append({"model": name, "parameters": summary["parameters"], "train_seconds": summary["train_seconds"],
                        "wall_seconds": time.perf_counter() - started, "epochs": len(history),
                        "best_epoch": summary["best_epoch"], "bf16": summary["bf16"],
                        "rate": sum(r[rate_key] * r["seconds"] for r in history) / summary["train_seconds"],
                        "rate_unit": rate_key.split("_")[0], "checkpoint": summary["checkpoint"],
                        "test": summary["test"], "history": history, "overrides": {"model": model, "train": train}})
        print(table(args.task, data.shape, results[-1:]).splitlines()[-1], flush=True)
    record = {"date": str(datetime.date.today()), "machine": machine(), "task": args.task, "minutes": args.minutes,
              "task_options": options, "command": " ".join(sys.argv), "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
              "results": results}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(record, indent=2))
    print("\n" + table(args.task, data.shape, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
