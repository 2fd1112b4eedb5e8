"""Accuracy targets on the embedded tasks: train each model with the task's full recipe.

    python benchmarks/tasks.py --task copy --models transformer
    python benchmarks/tasks.py --task numbers --models transformer,lstm-bahdanau,gru-luong,lstm

Recurrent models are sized to the Transformer's parameter count (when it is in the list).
Prints the machine and a Markdown table (exact match on the held-out test set, training time),
ready for BENCHMARKS.md; the run folders stay under --out.
"""

import argparse
import datetime
import sys
from pathlib import Path

from transformer.experiments.compare import compare

sys.path.insert(0, str(Path(__file__).parent))
from multi30k import machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="copy")
    parser.add_argument("--models", default="transformer")
    parser.add_argument("--out", default=None)
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    print(f"{datetime.date.today()}: {machine()}")
    compare(args.task, args.models.split(","), Path(args.out or f"runs/bench-{args.task}"), epochs=args.epochs,
            progress=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
