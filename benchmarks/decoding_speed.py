"""Decoding speed: batched greedy decoding with the key/value cache against without it.

The model is the `small` preset (d_model 256, 8 heads, 3 + 3 layers, d_ff 1024) with
vocabularies of 8000, randomly initialised, in eval mode. The sources are random ids (no
padding). `greedy_decode` is called with an EOS id that never occurs (-1), so every row generates
exactly T tokens. With the cache (`use_cache=True`) each step feeds one position through the
decoder; without it (`use_cache=False`) each step reruns the decoder over the whole prefix, so T
steps process T positions against T(T+1)/2 (chapter 10 of the walkthrough).

The timed calls of the two are interleaved (alternating which goes first), so a change in machine
load hits both alike; each reported time is the median over the repeats. The output is a Markdown
block for BENCHMARKS.md.

    python benchmarks/decoding_speed.py                          # batch 64, source 32, T = 8 16 32 64
    python benchmarks/decoding_speed.py --threads 1 --repeats 5
    python benchmarks/decoding_speed.py --batch 2 --lengths 4 --repeats 1   # a smoke test
"""

import argparse
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from transformer.decoding import greedy_decode
from transformer.model import TransformerConfig, build_transformer, count_parameters

VOCAB = 8000
BOS, NEVER = 1, -1  # NEVER: an EOS id no row can produce, so every row runs to max_len
FIRST_ID = 4  # ids below are the specials (pad, bos, eos, unk)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def time_decode(model, src: torch.Tensor, length: int, use_cache: bool, device: str) -> float:
    """Seconds for one batched greedy decode of exactly `length` tokens."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    ids = greedy_decode(model, src, BOS, NEVER, length, use_cache=use_cache)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if ids.shape != (src.shape[0], length):
        raise RuntimeError(f"expected {length} tokens per row, got ids of shape {tuple(ids.shape)}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="sources decoded together (default 64)")
    parser.add_argument("--src-len", type=int, default=32, help="source length in tokens (default 32)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32, 64],
                        help="output lengths T to time (default 8 16 32 64); the longest is the headline")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per length and mode (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = TransformerConfig.small(VOCAB, VOCAB)
    if min(args.batch, args.src_len, args.repeats, *args.lengths) < 1:
        parser.error("expected --batch, --src-len, --repeats and every --lengths value to be >= 1")
    if max(args.src_len, max(args.lengths)) > config.max_len:
        parser.error(f"expected --src-len and --lengths at most {config.max_len} (the model's max_len), "
                     f"got {args.src_len} and {max(args.lengths)}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model = build_transformer(config).to(args.device).eval()
    generator = torch.Generator().manual_seed(args.seed)
    src = torch.randint(FIRST_ID, VOCAB, (args.batch, args.src_len), generator=generator).to(args.device)
    lengths = sorted(set(args.lengths))

    for use_cache in (True, False):  # untimed warm-up: first calls allocate and load kernels
        time_decode(model, src, lengths[0], use_cache, args.device)
    times = {(length, cache): [] for length in lengths for cache in (True, False)}
    for repeat in range(args.repeats):
        for length in lengths:
            order = (True, False) if (repeat + length) % 2 == 0 else (False, True)
            for use_cache in order:
                times[length, use_cache].append(time_decode(model, src, length, use_cache, args.device))
    median = {key: statistics.median(values) for key, values in times.items()}

    device = args.device
    if args.device.startswith("cuda"):
        device += f" ({torch.cuda.get_device_name()})"
    print(f"### Decoding speed: key/value cache, {datetime.date.today().isoformat()}")
    print()
    print(f"- machine: {cpu_model()}, {torch.get_num_threads()} torch threads, device {device}")
    print(f"- torch {torch.__version__}, Python {platform.python_version()}")
    print(f"- model: `small` preset, d_model {config.d_model}, {config.n_heads} heads, "
          f"{config.n_encoder_layers}+{config.n_decoder_layers} layers, d_ff {config.d_ff}, vocab {VOCAB}/{VOCAB}, "
          f"{count_parameters(model):,} parameters, random weights, eval mode")
    print(f"- data: batch {args.batch}, source length {args.src_len}, greedy_decode to exactly T tokens "
          f"(EOS id {NEVER} never occurs); median of {args.repeats} interleaved repeats")
    print()
    print("| T (tokens generated) | positions processed, cached / uncached | cached s | uncached s "
          "| cached tokens/s | uncached tokens/s | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for length in lengths:
        cached, uncached = median[length, True], median[length, False]
        generated = args.batch * length
        print(f"| {length} | {length} / {length * (length + 1) // 2} | {cached:.3f} | {uncached:.3f} | "
              f"{generated / cached:,.0f} | {generated / uncached:,.0f} | {uncached / cached:.2f}x |")
    headline = lengths[-1]
    cached, uncached = median[headline, True], median[headline, False]
    print()
    print(f"At T = {headline}: cached {cached:.3f} s ({args.batch * headline / cached:,.0f} tokens/s), "
          f"uncached {uncached:.3f} s ({args.batch * headline / uncached:,.0f} tokens/s); "
          f"the cache is {uncached / cached:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
