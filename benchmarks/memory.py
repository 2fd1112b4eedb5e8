"""Where the Multi30k recipe's memory goes: the resident set of this process, sampled every 20 ms,
its peak reported per phase (loading the task, training, decoding greedy and with beam search).

    python benchmarks/memory.py --seconds 90                    # the recipe, bfloat16 autocast where it pays
    python benchmarks/memory.py --seconds 90 --no-bf16          # the same in float32
    python benchmarks/memory.py --seconds 90 --task-option tokenizer=bpe --set share_embeddings=true

Training runs the recipe for `--seconds` of its first epoch (`TrainConfig.time_limit`) and then
validates, as a full run does after each epoch; peaks are those of the whole process so far,
which is what a learner's machine must hold (`ru_maxrss` gives the same at the end).
"""

import argparse
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
        self.current = "start"
        self.running = True

    def phase(self, name: str) -> None:
        self.current = name
        self.peaks[name] = resident_gib()

    def run(self) -> None:
        while self.running:
            rss = resident_gib()
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss)
            time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="training time (of the first epoch)")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--task-option", action="append", metavar="KEY=VALUE")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="model config field")
    parser.add_argument("--out", help="write the peaks to this JSON file")
    args = parser.parse_args()

    sampler = Sampler()
    sampler.start()
    sampler.phase("load")
    options = _key_values(args.task_option, "--task-option")
    data = load_task("multi30k", **options)
    extra = RECIPES["multi30k"].decode_extra
    with tempfile.TemporaryDirectory() as folder:
        sampler.phase("train")
        train_run("multi30k", "transformer", Path(folder), task_options=options, data=data, progress=False,
                  model_overrides=_key_values(args.set, "--set"), log=lambda *lines: None, test=False,
                  train_overrides={"epochs": 1, "time_limit": args.seconds, "bf16": not args.no_bf16})
        model, _ = load_run(Path(folder), device="cpu")
        sampler.phase("greedy")
        evaluate_split(model, data, "valid", extra)
        sampler.phase(f"beam{args.beam}")
        evaluate_split(model, data, "valid", extra, beam_size=args.beam)
    time.sleep(0.05)
    sampler.running = False
    result = {"machine": machine(), "bf16": not args.no_bf16, "task_options": options, "set": args.set or [],
              "seconds": args.seconds, "peak_gib_by_phase": {k: round(v, 3) for k, v in sampler.peaks.items()},
              "ru_maxrss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
