"""Recipes: which model a name means, how big it is for a task, and how that task trains.

Model names: `transformer`, or a recurrent cell with optional attention: `rnn`, `lstm`, `gru`,
`lstm-bahdanau`, `gru-luong`, ... (cell `-` attention). `model_spec` turns a name, a task and
its recipe into the JSON description a run folder stores; `build_model` builds it. To compare
families at equal size, `match_hidden_size` gives a recurrent model the hidden size whose
parameter count comes closest to the Transformer's.
"""

import dataclasses
from dataclasses import dataclass, field

import torch

from transformer.interface import Seq2Seq, count_parameters
from transformer.model import TransformerConfig, build_transformer
from transformer.rnn.cells import CELLS
from transformer.rnn.seq2seq import ATTENTION, RecurrentConfig, build_recurrent
from transformer.tasks import TaskData
from transformer.train import TrainConfig

RNN_ATTENTION = tuple(kind for kind in ATTENTION if kind != "none")
MODEL_NAMES = ("transformer", *CELLS) + tuple(f"{c}-{a}" for c in CELLS for a in RNN_ATTENTION)



@dataclass(frozen=True)
class Recipe:
    """Per-task defaults: data options, model sizes, training settings, decoding length."""

    task_options: dict = field(default_factory=dict)
    transformer_preset: str = "tiny"
    transformer: dict = field(default_factory=dict)
    recurrent: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    max_tokens: int = 4096
    decode_extra: int = 10  # max output length = longest source + decode_extra


RECIPES = {
    "copy": Recipe(
        transformer=dict(dropout=0.0),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1),
        train=dict(epochs=8, peak_lr=2e-3, warmup_steps=400, label_smoothing=0.0),
        max_tokens=512,
        decode_extra=4,
    ),
    "reverse": Recipe(
        transformer=dict(dropout=0.0),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1),
        train=dict(epochs=8, peak_lr=2e-3, warmup_steps=400, label_smoothing=0.0),
        max_tokens=512,
        decode_extra=4,
    ),
    "numbers": Recipe(  # BENCHMARKS.md: small batches (more updates) took the Transformer past 99% exact match
        transformer=dict(dropout=0.1),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1, bidirectional_encoder=True),
        train=dict(epochs=20, peak_lr=3e-3, warmup_steps=300, label_smoothing=0.1),
        max_tokens=1536,
        decode_extra=12,
    ),
    "multi30k": Recipe(  # BENCHMARKS.md: 38.29 BLEU with beam 4 after 36.5 min on the 2-core CPU
        transformer_preset="small",
        transformer=dict(dropout=0.1, d_ff=512),
        recurrent=dict(embedding_size=256, hidden_size=512, n_layers=1, bidirectional_encoder=True, dropout=0.2),
        train=dict(epochs=15, peak_lr=1e-3, warmup_steps=1000, label_smoothing=0.1),
        max_tokens=4096,
        decode_extra=20,
    ),
    "pairs": Recipe(
        transformer_preset="small",
        recurrent=dict(embedding_size=256, hidden_size=512, n_layers=1, bidirectional_encoder=True, dropout=0.2),
        train=dict(epochs=15, peak_lr=1e-3, warmup_steps=1000, label_smoothing=0.1),
        max_tokens=4096,
        decode_extra=20,
    ),
}


def parse_model_name(name: str) -> tuple[str, str]:
    """`"lstm-bahdanau"` -> ("lstm", "bahdanau"); `"gru"` -> ("gru", "none")."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODEL_NAMES)}")
    cell, _, attention = name.partition("-")
    return cell, attention or "none"


def model_spec(name: str, data: TaskData, recipe: Recipe, overrides: dict | None = None,
               match_parameters: int | None = None) -> dict:
    """The JSON description a model is built from: family and config fields."""
    overrides = overrides or {}
    vocab = dict(src_vocab_size=len(data.src_vocab), tgt_vocab_size=len(data.tgt_vocab))
    if name == "transformer":
        preset = getattr(TransformerConfig, recipe.transformer_preset)
        config = preset(**vocab, **{**recipe.transformer, **overrides})
        return {"name": name, "family": "transformer", "config": config.to_dict()}
    cell, attention = parse_model_name(name)
    config = RecurrentConfig(**vocab, cell=cell, attention=attention, **{**recipe.recurrent, **overrides})
    if match_parameters:
        config = match_hidden_size(config, match_parameters)
    return {"name": name, "family": "recurrent", "config": config.to_dict()}


def build_model(spec: dict) -> Seq2Seq:
    if spec["family"] == "transformer":
        return build_transformer(TransformerConfig.from_dict(spec["config"]))
    return build_recurrent(RecurrentConfig.from_dict(spec["config"]))


def recipe_train_config(recipe: Recipe, overrides: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown training settings {unknown}: expected some of {sorted(known)}")
    return TrainConfig(**{**recipe.train, **overrides})


def count_recurrent_parameters(config: RecurrentConfig) -> int:
    """Trainable parameters of `build_recurrent(config)`, without allocating them."""
    with torch.device("meta"):
        return count_parameters(build_recurrent(config))


def match_hidden_size(config: RecurrentConfig, target_parameters: int) -> RecurrentConfig:
    """`config` with the hidden size whose parameter count comes closest to `target_parameters`.

    Everything else (embedding size, layers, attention) stays as configured, so two model
    families can be compared at (nearly) equal size. The count grows with hidden_size, so a
    bisection finds the two neighbours around the target; the closer one wins.
    """
    step = 2 if config.bidirectional_encoder else 1

    def count(units: int) -> int:
        return count_recurrent_parameters(dataclasses.replace(config, hidden_size=step * units))

    if count(1) >= target_parameters:
        return dataclasses.replace(config, hidden_size=step)
    low, high = 1, 2
    while count(high) < target_parameters:
        low, high = high, 2 * high
    while high - low > 1:  # invariant: count(low) < target <= count(high)
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target_parameters else (low, middle)
    best = min((low, high), key=lambda units: abs(count(units) - target_parameters))
    return dataclasses.replace(config, hidden_size=step * best)
