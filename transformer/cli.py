"""Command line: `transformer train | evaluate | translate | classify | tag | generate | compare | demo | exercises`
(also `python -m transformer`).

Exit status: 0 when the command did what it was asked; 2 when it could not, because of something
the user can change (an unknown task or model, a bad setting, a missing, malformed or foreign
file, a run folder that already holds a run, a diverging run), with one line on stderr saying
what was expected and what came; 130 when Ctrl-C interrupted training, after the run was saved
(the line printed says how to resume). A traceback means a bug in the package; `--debug` shows
the traceback of any failure.
"""

import argparse
import json
import sys
from pathlib import Path

from transformer.experiments.recipes import RECIPES, model_names
from transformer.tasks.registry import TASK_SHAPES

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
# The flags `train` maps to TrainConfig fields; with --resume only --epochs and --device may be given.
TRAIN_FLAGS = {"epochs": "epochs", "lr": "peak_lr", "warmup": "warmup_steps", "label_smoothing": "label_smoothing",
               "seed": "seed", "device": "device", "schedule": "schedule"}


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

    overrides = _key_values(args.train_set, "--train-set")
    overrides.update({field: getattr(args, flag) for flag, field in TRAIN_FLAGS.items() if getattr(args, flag) is not None})
    if args.no_bf16:
        overrides["bf16"] = False
    if args.resume:
        given = [f"--{flag.replace('_', '-')}" for flag in ("task", "model", "run_dir", "lr", "warmup", "schedule",
                                                          "label_smoothing", "batch_tokens", "seed", "no_bf16")
                 if getattr(args, flag) not in (None, False)]
        given += [name for name, value in (("--set", args.set), ("--train-set", args.train_set),
                                           ("--task-option", args.task_option), ("--force", args.force)) if value]
        if given:
            raise ValueError(f"--resume continues a run with its own settings; only --epochs and --device may be "
                             f"given with it, got {', '.join(given)}")
        summary = train_run("", "", Path(args.resume), train_overrides=overrides, resume=True,
                            progress=not args.no_progress)
    else:
        task, model = args.task or "copy", args.model or "transformer"
        run_dir = Path(args.run_dir or f"runs/{task}-{model}")
        summary = train_run(task, model, run_dir, task_options=_key_values(args.task_option, "--task-option"),
                            model_overrides=_key_values(args.set, "--set"), train_overrides=overrides,
                            max_tokens=args.batch_tokens, progress=not args.no_progress, force=args.force)
    if summary.get("interrupted"):
        return EXIT_INTERRUPTED
    _print_scores(summary)
    return 0


def _print_scores(summary: dict, splits: tuple[str, ...] = ("test", "test_long")) -> None:
    for split in splits:
        if split not in summary:
            continue
        scores = summary[split]
        if "exact_match" in scores:
            line = f"{split}: exact match {scores['exact_match']:.3f}, token accuracy {scores['token_accuracy']:.3f}"
            if "bleu" in scores:
                line += f", BLEU {scores['bleu']:.2f}, chrF {scores['chrf']:.2f}\n  {scores['bleu_signature']}"
        elif "accuracy" in scores:
            line = f"{split}: accuracy {scores['accuracy']:.3f}, macro F1 {scores['macro_f1']:.3f}"
        elif "seen_accuracy" in scores:
            line = (f"{split}: token accuracy {scores['token_accuracy']:.3f} (seen words {scores['seen_accuracy']:.3f}, "
                    f"unseen {scores['unseen_accuracy']:.3f} over {scores['unseen_tokens']} tokens)")
        else:
            line = (f"{split}: loss {scores['loss']:.3f} nats/token, {scores['bits_per_token']:.3f} bits/token, "
                    f"perplexity {scores['perplexity']:.2f}")
        print(line)


def cmd_evaluate(args) -> int:
    from transformer.experiments import evaluate_split, load_run
    from transformer.experiments.recipes import Recipe
    from transformer.tasks import load_task

    model, meta = load_run(Path(args.run))
    data = load_task(meta["task"], **meta["task_options"])
    if args.split not in data.splits:
        raise ValueError(f"unknown split {args.split!r}: expected one of {', '.join(data.splits)}")
    if args.beam != 1 and meta["shape"] != "seq2seq":
        raise ValueError(f"--beam: beam search decodes sequences; {args.run} holds a {meta['shape']} model")
    scores = evaluate_split(model, data, args.split, RECIPES.get(meta["task"], Recipe()).decode_extra, args.beam,
                            log=lambda line: print(line, file=sys.stderr))
    _print_scores({args.split: scores}, splits=(args.split,))
    if args.json:
        Path(args.json).write_text(json.dumps(scores, indent=2))
    return 0


def _texts(args) -> list[str]:
    return args.text or [line for line in sys.stdin.read().splitlines()]


def cmd_translate(args) -> int:
    from transformer.experiments.evaluate import translate_texts

    texts = _texts(args)
    if args.attention:
        outputs, maps = translate_texts(Path(args.run), texts, args.beam, return_attention=True)
        _save_alignments(maps, Path(args.attention))
    else:
        outputs = translate_texts(Path(args.run), texts, args.beam)
    for line in outputs:
        print(line)
    return 0


def _save_alignments(maps, path: Path) -> None:
    from transformer.plotting.core import plot_attention_weights
    from transformer.plotting.save import save_figure_to

    source_tokens, target_tokens, weights = maps[0]
    if weights is None:
        raise ValueError("--attention: this model reports no attention weights (a recurrent model without attention)")
    fig = plot_attention_weights(weights, target_tokens[: weights.shape[0]], source_tokens[: weights.shape[1]],
                                 title="Source attention while translating")
    save_figure_to(fig, path)
    print(f"attention map saved to {path}", file=sys.stderr)


def cmd_classify(args) -> int:
    from transformer.experiments.use import classify_texts

    texts = _texts(args)
    for text, (label, probability, *explained) in zip(texts, classify_texts(Path(args.run), texts, args.explain)):
        print(f"{label}\t{probability:.3f}\t{text}")
        if explained:  # words by importance for the predicted class, most important first
            ranked = sorted(explained[0], key=lambda pair: -abs(pair[1]))
            print("  " + ", ".join(f"{token} {value:+.3f}" for token, value in ranked))
    return 0


def cmd_tag(args) -> int:
    from transformer.experiments.use import tag_texts

    for pairs in tag_texts(Path(args.run), _texts(args)):
        print(" ".join(f"{word}/{tag}" for word, tag in pairs))
    return 0


def cmd_generate(args) -> int:
    from transformer.experiments.use import generate_text

    def stream(piece: str) -> None:
        print(piece, end="", flush=True)

    generate_text(Path(args.run), args.prompt, args.tokens, temperature=args.temperature, top_k=args.top_k,
                  top_p=args.top_p, seed=args.seed, on_text=stream)
    print()
    return 0


def cmd_compare(args) -> int:
    from transformer.experiments.compare import compare

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    summaries = compare(args.task, models, Path(args.out or f"runs/compare-{args.task}"), epochs=args.epochs,
                        task_options=_key_values(args.task_option, "--task-option"), progress=not args.no_progress,
                        resume=args.resume, force=args.force)
    if summaries and summaries[-1].get("interrupted"):
        print(f"compare interrupted during {summaries[-1]['model']}; continue with the same command and --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def cmd_demo(args) -> int:
    from transformer.experiments.compare import demo

    results = demo(Path(args.out), progress=not args.no_progress, quick=args.quick, resume=args.resume, force=args.force)
    if any(runs and runs[-1].get("interrupted") for runs in results.values()):
        print("demo interrupted; continue with `transformer demo --resume`", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _task_help() -> str:
    by_shape: dict[str, list[str]] = {}
    for task, shape in TASK_SHAPES.items():
        by_shape.setdefault(shape, []).append(task)
    lines = [f"  {shape}: tasks {', '.join(tasks)}; models {', '.join(model_names(shape))}" for shape, tasks in by_shape.items()]
    return "tasks and the models each takes, by the task's shape:\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transformer", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of any failure")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one model on one task into a run folder", epilog=_task_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(RECIPES), help="the task (default copy); its shape decides the models")
    p.add_argument("--model", help="the model (default transformer); see below for each shape's")
    p.add_argument("--run-dir", help="where to write the run (default runs/TASK-MODEL)")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its folder (with --epochs: train longer)")
    p.add_argument("--force", action="store_true", help="start over in a run folder that already holds a run")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--warmup", type=int, help="warm-up steps")
    p.add_argument("--schedule", choices=["warmup", "cosine", "constant"])
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--batch-tokens", type=int, help="padded tokens per batch")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best available)")
    p.add_argument("--no-bf16", action="store_true", help="train in float32 even where bfloat16 autocast would run")
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

    p = sub.add_parser("translate", help="translate text with a trained seq2seq run (lines on stdin if no text)")
    p.add_argument("run")
    p.add_argument("text", nargs="*")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--attention", metavar="PNG", help="save the first sentence's attention map")
    p.set_defaults(handler=cmd_translate)

    p = sub.add_parser("classify", help="classify text with a trained classification run (lines on stdin if no text)")
    p.add_argument("run")
    p.add_argument("text", nargs="*")
    p.add_argument("--explain", nargs="?", const="occlusion", choices=["occlusion", "lime"],
                   help="also print each word's importance for the class (leave-one-out, or a LIME surrogate)")
    p.set_defaults(handler=cmd_classify)

    p = sub.add_parser("tag", help="tag each word with a trained tagging run (lines on stdin if no text)")
    p.add_argument("run")
    p.add_argument("text", nargs="*")
    p.set_defaults(handler=cmd_tag)

    p = sub.add_parser("generate", help="continue a prompt with a trained language-model run (streams the text)")
    p.add_argument("run")
    p.add_argument("--prompt", default="", help="the text to continue (default: the start of a line)")
    p.add_argument("--tokens", type=int, default=300, help="how many tokens to generate")
    p.add_argument("--temperature", type=float, default=1.0, help="0: greedy; below 1 sharper, above 1 flatter")
    p.add_argument("--top-k", type=int, help="sample only from the k most likely tokens")
    p.add_argument("--top-p", type=float, help="sample only from the smallest set of tokens whose mass reaches p")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same text")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("compare", help="train several model families on one task at matched size",
                       epilog=_task_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=sorted(RECIPES), default="copy")
    p.add_argument("--models", default="transformer,lstm-bahdanau,lstm")
    p.add_argument("--epochs", type=int)
    p.add_argument("--out")
    p.add_argument("--task-option", action="append", metavar="KEY=VALUE")
    p.add_argument("--resume", action="store_true", help="reuse finished runs in --out and continue an interrupted one")
    p.add_argument("--force", action="store_true", help="start over in an --out that already holds runs")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_compare)

    from transformer.course import workspaces

    p = sub.add_parser("exercises", help="a learner's workspace: new, status, hint, restore, list")
    workspaces.add_arguments(p)

    p = sub.add_parser("demo", help="the main job: the Transformer beside a recurrent model on a task of every shape")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="a few steps only (for the tests)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted demo")
    p.add_argument("--force", action="store_true", help="start over in an --out that already holds the demo")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, OSError) as error:
        if args.debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
