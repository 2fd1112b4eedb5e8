"""Gather finished `benchmarks/multi30k.py` run folders into one JSON file and print a table.

    python benchmarks/multi30k_results.py runs/m30k-* --out benchmarks/results/multi30k_h200.json \
        --note "seven processes shared one H200"

Each record is the run's `metrics.json` summary (history, test scores), its model config, and
what the benchmark measured beside it (`benchmark.json`: machine, beam-search scores, throughput, peak memory).
Chapter 11 reads these files, so its Multi30k table and curves are the runs' own numbers.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from transformer.experiments.compare import comparison_table  # noqa: E402

KEPT_FROM_BENCHMARK = ("machine", "tokens_per_second", "peak_rss_gib", "peak_cuda_gib")


def collect(run_dir: Path) -> dict:
    summary_path, benchmark_path = run_dir / "metrics.json", run_dir / "benchmark.json"
    for path in (summary_path, benchmark_path):
        if not path.exists():
            raise SystemExit(f"error: expected {path}: is {run_dir} a finished benchmarks/multi30k.py run?")
    record = json.loads(summary_path.read_text())
    benchmark = json.loads(benchmark_path.read_text())
    record["test"].pop("exact_match_by_source_length", None)
    record["config"] = json.loads((run_dir / "config.json").read_text())["model"]["config"]
    record.update({key: benchmark[key] for key in KEPT_FROM_BENCHMARK if key in benchmark})
    record.update({key: value for key, value in benchmark.items() if key.startswith("beam")})
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--date", required=True, help="when the runs were made (YYYY-MM-DD)")
    parser.add_argument("--command", required=True, help="the command each run was made with")
    parser.add_argument("--note", default="", help="anything a reader must know (shared card, cut runs)")
    args = parser.parse_args()
    records = [collect(run) for run in args.runs]
    order = ("transformer", "rnn", "lstm", "gru", "rnn-bahdanau", "lstm-bahdanau", "gru-bahdanau")
    records.sort(key=lambda r: order.index(r["model"]) if r["model"] in order else len(order))
    document = {"date": args.date, "command": args.command, "note": args.note, "runs": records}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(comparison_table(records, "multi30k"))
    print(f"wrote {len(records)} runs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
