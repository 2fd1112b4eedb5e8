"""Command line: `transformer train | evaluate | translate | compare | demo` (also `python -m transformer`).

Every command that fails on bad input (unknown task or model, a missing or malformed file, a
checkpoint that does not fit, empty input) prints one line, `error: ...`, and exits with status 2.
"""

import argparse
import json
import sys
from pathlib import Path

from transformer.experiments.recipes import MODEL_NAMES, RECIPES


def _key_values(items: list[str] | None, what: str) -> dict:
    """`["d_model=128", "norm_first=true"]` -> {"d_model": 128, "norm_first": True}."""
    values = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what}: expected KEY=VALUE, got {item!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def cmd_train(args) -> int:
    from transformer.experiments.runs import train_run

    if args.resume:
        summary = train_run("", "", Path(args.resume), resume=True, progress=not args.no_progress)
    else:
        overrides = _key_values(args.train_set, "--train-set")
        for key, value in (("epochs", args.epochs), ("peak_lr", args.lr), ("warmup_steps", args.warmup),
                           ("label_smoothing", args.label_smoothing), ("seed", args.seed), ("device", args.device),
                           ("schedule", args.schedule)):
            if value is not None:
                overrides[key] = value
        run_dir = Path(args.run_dir or f"runs/{args.task}-{args.model}")
        summary = train_run(args.task, args.model, run_dir, task_options=_key_values(args.task_option, "--task-option"),
                            model_overrides=_key_values(args.set, "--set"), train_overrides=overrides,
                            max_tokens=args.batch_tokens, progress=not args.no_progress)
    if not summary.get("interrupted"):
        _print_scores(summary)
    return 0


def _print_scores(summary: dict, splits: tuple[str, ...] = ("test", "test_long")) -> None:
    for split in splits:
        if split in summary:
            scores = summary[split]
            line = f"{split}: exact match {scores['exact_match']:.3f}, token accuracy {scores['token_accuracy']:.3f}"
            if "bleu" in scores:
                line += f", BLEU {scores['bleu']:.2f}, chrF {scores['chrf']:.2f}\n  {scores['bleu_signature']}"
            print(line)


def cmd_evaluate(args) -> int:
    from transformer.experiments.recipes import RECIPES as recipes
    from transformer.experiments import evaluate_split, load_run
    from transformer.tasks import load_task

    model, meta = load_run(Path(args.run))
    data = load_task(meta["task"], **meta["task_options"])
    if args.split not in data.splits:
        raise ValueError(f"unknown split {args.split!r}: expected one of {', '.join(data.splits)}")
    scores = evaluate_split(model, data, args.split, recipes[meta["task"]].decode_extra, args.beam)
    _print_scores({args.split: scores}, splits=(args.split,))
    if args.json:
        Path(args.json).write_text(json.dumps(scores, indent=2))
    return 0


def cmd_translate(args) -> int:
    from transformer.experiments.evaluate import translate_texts

    texts = args.text or [line for line in sys.stdin.read().splitlines()]
    if args.attention:
        outputs, maps = translate_texts(Path(args.run), texts, args.beam, return_attention=True)
        _save_alignments(maps, Path(args.attention))
    else:
        outputs = translate_texts(Path(args.run), texts, args.beam)
    for line in outputs:
        print(line)
    return 0


def _save_alignments(maps, path: Path) -> None:
    from transformer.plotting.save import save_figure_to
    from transformer.plotting.core import plot_attention_weights

    source_tokens, target_tokens, weights = maps[0]
    if weights is None:
        raise ValueError("--attention: this model reports no attention weights (a recurrent model without attention)")
    fig = plot_attention_weights(weights, target_tokens[: weights.shape[0]], source_tokens[: weights.shape[1]],
                                 title="Source attention while translating")
    save_figure_to(fig, path)
    print(f"attention map saved to {path}", file=sys.stderr)


def cmd_compare(args) -> int:
    from transformer.experiments.compare import compare

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    compare(args.task, models, Path(args.out or f"runs/compare-{args.task}"), epochs=args.epochs,
            task_options=_key_values(args.task_option, "--task-option"), progress=not args.no_progress)
    return 0


def cmd_demo(args) -> int:
    from transformer.experiments.compare import demo

    demo(Path(args.out), progress=not args.no_progress, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transformer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one model on one task into a run folder")
    p.add_argument("--task", choices=sorted(RECIPES), default="copy")
    p.add_argument("--model", choices=MODEL_NAMES, default="transformer")
    p.add_argument("--run-dir", help="where to write the run (default runs/TASK-MODEL)")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its folder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--warmup", type=int, help="warm-up steps")
    p.add_argument("--schedule", choices=["warmup", "constant"])
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--batch-tokens", type=int, help="padded tokens per batch")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="model config field, e.g. d_model=128")
    p.add_argument("--train-set", action="append", metavar="KEY=VALUE", help="training config field")
    p.add_argument("--task-option", action="append", metavar="KEY=VALUE", help="task option, e.g. path=data/pairs.tsv")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="score a trained run on a split")
    p.add_argument("run")
    p.add_argument("--split", default="test")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--json", help="also write the scores to this file")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("translate", help="translate text with a trained run (lines on stdin if no text)")
    p.add_argument("run")
    p.add_argument("text", nargs="*")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--attention", metavar="PNG", help="save the first sentence's attention map")
    p.set_defaults(handler=cmd_translate)

    p = sub.add_parser("compare", help="train several model families on one task at matched size")
    p.add_argument("--task", choices=sorted(RECIPES), default="copy")
    p.add_argument("--models", default="transformer,lstm-bahdanau,lstm")
    p.add_argument("--epochs", type=int)
    p.add_argument("--out")
    p.add_argument("--task-option", action="append", metavar="KEY=VALUE")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_compare)

    from transformer.course import exercises

    p = sub.add_parser("exercises", help="a learner's workspace: new, status, restore, list")
    exercises.add_arguments(p)

    p = sub.add_parser("demo", help="the main job: Transformer vs LSTM with attention on copy and number words")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="a few steps only (for the tests)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, KeyError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
