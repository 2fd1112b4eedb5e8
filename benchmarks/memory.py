"""Where the Multi30k recipe's memory goes: the resident set of this process, sampled every 20 ms,
its peak reported per phase (loading the task, training, decoding greedy and with beam search).

    python benchmarks/memory.py --seconds 90                    # the recipe, bfloat16 autocast where it pays
    python benchmarks/memory.py --seconds 90 --no-bf16          # the same in float32
    python benchmarks/memory.py --seconds 90 --task-option tokenizer=bpe --set share_embeddings=true
    python benchmarks/memory.py --epochs 6 --max-train 6000           # does it grow from epoch to epoch?

Training runs the recipe for `--seconds` (`TrainConfig.time_limit`; 0: no limit) of at most
`--epochs` epochs, validating after each as a full run does; with `--max-train N` the epochs are
those of the first N training pairs, so several of them show whether memory grows from one to
the next. Peaks are those of the whole process so far, which is what a learner's machine must
hold (`ru_maxrss` gives the same at the end); `timeline` is the resident set every 10 seconds.
"""

import argparse
import ctypes
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from multi30k import machine  # noqa: E402

from transformer.cli import _key_values  # noqa: E402
from transformer.experiments import RECIPES, evaluate_split, train_run  # noqa: E402
from transformer.experiments.runs import load_run  # noqa: E402
from transformer.tasks import load_task  # noqa: E402

PAGE = resource.getpagesize()


def resident_gib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**30


class Sampler(threading.Thread):
    """The resident set every 20 ms; `phase(name)` starts a new phase, `peaks` holds each one's maximum."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks: dict[str, float] = {}
        self.timeline: list[tuple[float, float]] = []  # (seconds since start, GiB) every 10 s
        self.current = "start"
        self.running = True

    def phase(self, name: str) -> None:
        self.current = name
        self.peaks[name] = resident_gib()

    def run(self) -> None:
        started = time.perf_counter()
        while self.running:
            rss = resident_gib()
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss)
            if time.perf_counter() - started >= 10 * len(self.timeline):
                self.timeline.append((round(time.perf_counter() - started), round(rss, 3)))
            time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="training time (0: no limit)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-train", type=int, help="train on the first N pairs only")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--task-option", action="append", metavar="KEY=VALUE")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="model config field")
    parser.add_argument("--mmap-threshold", type=int, help="glibc: allocations from this many bytes up get their own mapping")
    parser.add_argument("--trim-seconds", type=float, help="glibc: hand freed memory back (malloc_trim) this often")
    parser.add_argument("--out", help="write the peaks to this JSON file")
    args = parser.parse_args()

    libc = ctypes.CDLL("libc.so.6")
    if args.mmap_threshold:
        libc.mallopt(-3, args.mmap_threshold)  # M_MMAP_THRESHOLD (fixed: no more dynamic growth)
    if args.trim_seconds:
        def trim():
            while True:
                time.sleep(args.trim_seconds)
                libc.malloc_trim(0)
        threading.Thread(target=trim, daemon=True).start()
    sampler = Sampler()
    sampler.start()
    sampler.phase("load")
    options = _key_values(args.task_option, "--task-option")
    data = load_task("multi30k", **options)
    if args.max_train:
        data.splits["train"] = data.splits["train"][: args.max_train]
    extra = RECIPES["multi30k"].decode_extra
    with tempfile.TemporaryDirectory() as folder:
        sampler.phase("train")
        summary = train_run("multi30k", "transformer", Path(folder), task_options=options, data=data, progress=False,
                  model_overrides=_key_values(args.set, "--set"), log=lambda *lines: None, test=False,
                  train_overrides={"epochs": args.epochs, "time_limit": args.seconds, "bf16": not args.no_bf16})
        model, _ = load_run(Path(folder), device="cpu")
        sampler.phase("greedy")
        evaluate_split(model, data, "valid", extra)
        sampler.phase(f"beam{args.beam}")
        evaluate_split(model, data, "valid", extra, beam_size=args.beam)
    time.sleep(0.05)
    sampler.running = False
    result = {"machine": machine(), "bf16": not args.no_bf16, "task_options": options, "set": args.set or [],
              "seconds": args.seconds, "epochs": args.epochs, "max_train": args.max_train,
              "mmap_threshold": args.mmap_threshold, "trim_seconds": args.trim_seconds,
              "peak_gib_by_phase": {k: round(v, 3) for k, v in sampler.peaks.items()},
              "ru_maxrss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
              "tokens_per_second": [round(r["tokens_per_second"]) for r in summary["history"]],
              "timeline": sampler.timeline}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
