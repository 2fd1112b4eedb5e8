"""Training throughput: our Transformer against PyTorch's `nn.Transformer`, side by side in one run.

Both models have the same shape (the `small` sizes: d_model 256, 8 heads, 3 + 3 layers, d_ff 1024,
vocabularies of 8000, dropout 0.1) and the same parameters: PyTorch's gets token embeddings
(x sqrt(d_model)), sinusoidal positions and an output projection tied to the target embedding,
exactly as ours has; ours is built with `final_norm=True` because `nn.Transformer` always ends
each stack with a LayerNorm. One training step = forward + cross-entropy + backward + Adam step,
on batches of 64 sequences of length 32 with about 10% padding (random lengths).

With `--bf16`, each model also trains a copy of itself under `torch.autocast(device,
dtype=torch.bfloat16)` (the weights and Adam stay float32), so one run measures bfloat16 against
our own float32 and against `nn.Transformer` under the same autocast.

After warm-up steps, the models' timed steps are interleaved (rotating which goes first), so a
change in machine load hits all alike. The output is a Markdown block for BENCHMARKS.md.

    python benchmarks/train_throughput.py --attention explicit --steps 30 --warmup 5
    python benchmarks/train_throughput.py --attention fused --threads 2
    python benchmarks/train_throughput.py --bf16 --steps 20 --warmup 3
"""

import argparse
import datetime
import math
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from transformer.model import TransformerConfig, build_transformer, count_parameters
from transformer.positional_encoding import sinusoidal_encoding

PAD = 0
SIZES = dict(d_model=256, n_heads=8, d_ff=1024, n_encoder_layers=3, n_decoder_layers=3, dropout=0.1)
VOCAB = 8000


class TorchTransformer(nn.Module):
    """`nn.Transformer` with the embeddings, positions and tied generator our model has."""

    def __init__(self, vocab: int, d_model: int, n_heads: int, d_ff: int, n_layers: int, dropout: float, max_len: int):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.register_buffer("positions", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.transformer = nn.Transformer(
            d_model, n_heads, n_layers, n_layers, d_ff, dropout, batch_first=True
        )
        self.generator = nn.Linear(d_model, vocab)
        self.generator.weight = self.tgt_embed.weight

    def embed(self, embedding: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(embedding(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]])

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        src_pad, tgt_pad = src == PAD, tgt_in == PAD  # torch's boolean masks: True = NOT allowed
        future = torch.ones(tgt_in.shape[1], tgt_in.shape[1], dtype=torch.bool, device=src.device).triu(1)
        states = self.transformer(
            self.embed(self.src_embed, src), self.embed(self.tgt_embed, tgt_in),
            tgt_mask=future, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return self.generator(states)


def padded_batch(batch: int, length: int, vocab: int, generator: torch.Generator) -> torch.Tensor:
    """Random ids with random lengths in [0.8 length, length]: about 10% padding at the end."""
    lengths = torch.randint(int(0.8 * length), length + 1, (batch, 1), generator=generator)
    ids = torch.randint(1, vocab, (batch, length), generator=generator)
    return ids.masked_fill(torch.arange(length) >= lengths, PAD)


def make_batches(count: int, batch: int, length: int, device: str, seed: int) -> list[tuple[torch.Tensor, ...]]:
    """(src, tgt_in, tgt_out) triples, made before timing starts."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        src = padded_batch(batch, length, VOCAB, generator)
        tgt = padded_batch(batch, length + 1, VOCAB, generator)
        batches.append(tuple(t.to(device) for t in (src, tgt[:, :-1], tgt[:, 1:])))
    return batches


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch, device: str, bf16: bool = False) -> float:
    """One forward + backward + Adam step (under bfloat16 autocast if asked); returns its wall time in seconds."""
    src, tgt_in, tgt_out = batch
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
        logits = model(src, tgt_in)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD)
    loss.backward()
    optimizer.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attention", choices=["explicit", "fused"], default="explicit", help="our attention kernel")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per model first")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="also train each model under bfloat16 autocast")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    config = TransformerConfig(VOCAB, VOCAB, **SIZES, final_norm=True, attention=args.attention, max_len=max(512, args.length + 1))

    def build(kind: str) -> nn.Module:
        torch.manual_seed(args.seed)
        if kind == "ours":
            return build_transformer(config).to(args.device).train()
        return TorchTransformer(VOCAB, SIZES["d_model"], SIZES["n_heads"], SIZES["d_ff"], SIZES["n_encoder_layers"],
                                SIZES["dropout"], config.max_len).to(args.device).train()

    # name -> (model, under bfloat16 autocast?)
    runs = {"ours": (build("ours"), False), "pytorch": (build("pytorch"), False)}
    if args.bf16:
        runs.update({"ours bf16": (build("ours"), True), "pytorch bf16": (build("pytorch"), True)})
    models = {name: model for name, (model, _) in runs.items()}
    optimizers = {name: torch.optim.Adam(model.parameters(), lr=1e-4) for name, model in models.items()}

    batches = make_batches(8, args.batch, args.length, args.device, args.seed)
    target_tokens = [int((b[2] != PAD).sum()) for b in batches]
    padding = 1 - sum(int((b[1] != PAD).sum()) + int((b[0] != PAD).sum()) for b in batches) / (2 * len(batches) * args.batch * args.length)

    for step in range(args.warmup):
        for name, (model, bf16) in runs.items():
            train_step(model, optimizers[name], batches[step % len(batches)], args.device, bf16)
    times = {name: [] for name in models}
    tokens = {name: 0 for name in models}
    names = list(runs)
    for step in range(args.steps):
        order = names[step % len(names):] + names[: step % len(names)]  # rotate which goes first
        index = step % len(batches)
        for name in order:
            model, bf16 = runs[name]
            times[name].append(train_step(model, optimizers[name], batches[index], args.device, bf16))
            tokens[name] += target_tokens[index]
    # tokens per step over the median step time: robust to a step slowed by something else
    rate = {name: (tokens[name] / args.steps) / statistics.median(times[name]) for name in models}

    device = args.device
    if args.device.startswith("cuda"):
        device += f" ({torch.cuda.get_device_name()})"
    print(f"### Training throughput, {datetime.date.today().isoformat()}")
    print()
    print(f"- machine: {cpu_model()}, {torch.get_num_threads()} torch threads, device {device}")
    print(f"- torch {torch.__version__}, Python {platform.python_version()}")
    print(f"- model: d_model {SIZES['d_model']}, {SIZES['n_heads']} heads, {SIZES['n_encoder_layers']}+{SIZES['n_decoder_layers']} layers, "
          f"d_ff {SIZES['d_ff']}, vocab {VOCAB}/{VOCAB}, dropout {SIZES['dropout']}, tied target embedding")
    print(f"- data: batch {args.batch}, length {args.length}, {padding:.1%} padding; "
          f"{args.steps} timed steps per model (interleaved) after {args.warmup} warm-up; Adam")
    print()
    print("| model | attention | precision | parameters | median ms / step | target tokens / s |")
    print("|---|---|---|---:|---:|---:|")
    labels = {"ours": ("ours (build_transformer)", args.attention), "pytorch": ("PyTorch nn.Transformer", "built-in")}
    for name, (model, bf16) in runs.items():
        label, attention = labels[name.split()[0]]
        median_ms = 1000 * statistics.median(times[name])
        precision = "bfloat16 autocast" if bf16 else "float32"
        print(f"| {label} | {attention} | {precision} | {count_parameters(model):,} | {median_ms:.1f} | {rate[name]:,.0f} |")
    print()
    print(f"ratio ours / PyTorch, float32 (tokens/s): {rate['ours'] / rate['pytorch']:.2f}")
    if args.bf16:
        print(f"ratio ours / PyTorch, both under bfloat16 autocast: {rate['ours bf16'] / rate['pytorch bf16']:.2f}")
        print(f"ratio ours under bfloat16 autocast / ours in float32: {rate['ours bf16'] / rate['ours']:.2f}")
        print(f"ratio PyTorch under bfloat16 autocast / PyTorch in float32: {rate['pytorch bf16'] / rate['pytorch']:.2f}")


if __name__ == "__main__":
    main()
