"""Experiments: build any model family for any task, train it into a run folder, evaluate it.

This is the glue the CLI (`transformer train/evaluate/translate/compare/demo`) and chapter 11
use. A run folder holds everything needed to use the model later:

    config.json       task, task options, model family and config, training recipe
    checkpoint_best.pt / checkpoint_last.pt   weights (+ optimizer and loop state in _last, for --resume)
    history.json      one record per epoch      metrics.json   test scores after training
    curves.png        learning curves

Model names: `transformer`, or a recurrent cell with optional attention: `rnn`, `lstm`, `gru`,
`lstm-bahdanau`, `gru-luong`, ... (cell `-` attention).
"""

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from transformer.decoding import translate_ids
from transformer.metrics import bleu, chrf, exact_match, token_accuracy
from transformer.model import TransformerConfig, build_transformer, count_parameters
from transformer.rnn.seq2seq import RecurrentConfig, build_recurrent, match_hidden_size
from transformer.seq2seq import Seq2Seq
from transformer.tasks import BOS, EOS, JOINER, TaskData, load_task, make_batches
from transformer.train import TrainConfig, evaluate, load_checkpoint, pick_device, seed_everything, train

CELLS = ("rnn", "lstm", "gru")
RNN_ATTENTION = ("bahdanau", "luong")
MODEL_NAMES = ("transformer",) + CELLS + tuple(f"{c}-{a}" for c in CELLS for a in RNN_ATTENTION)
TRANSLATION_TASKS = ("multi30k", "pairs")


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
    return build_recurrent(RecurrentConfig(**spec["config"]))


def _train_config(recipe: Recipe, overrides: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown training settings {unknown}: expected some of {sorted(known)}")
    return TrainConfig(**{**recipe.train, **overrides})


def train_run(
    task: str,
    model_name: str,
    run_dir: Path,
    *,
    task_options: dict | None = None,
    model_overrides: dict | None = None,
    train_overrides: dict | None = None,
    max_tokens: int | None = None,
    match_parameters: int | None = None,
    resume: bool = False,
    progress: bool = True,
    log=print,
    data: TaskData | None = None,
) -> dict:
    """Train one model on one task into `run_dir`; evaluate the best checkpoint on the test split.

    With `resume`, every setting comes from `run_dir/config.json` and training continues from
    `checkpoint_last.pt`. Returns the run's summary (also written to `metrics.json`).
    """
    run_dir = Path(run_dir)
    if resume:
        config_path = run_dir / "config.json"
        if not config_path.exists():
            raise FileNotFoundError(f"--resume: expected {config_path} from an earlier run, found none")
        saved = json.loads(config_path.read_text())
        task, model_name = saved["task"], saved["model"]["name"]
        task_options, max_tokens = saved["task_options"], saved["max_tokens"]
        train_config = TrainConfig(**{**saved["train"], "betas": tuple(saved["train"]["betas"])})
        data = data or load_task(task, **task_options)
        spec = saved["model"]
    else:
        if task not in RECIPES:
            raise ValueError(f"unknown task {task!r}: expected one of {', '.join(RECIPES)}")
        recipe = RECIPES[task]
        task_options = {**recipe.task_options, **(task_options or {})}
        data = data or load_task(task, **task_options)
        spec = model_spec(model_name, data, recipe, model_overrides, match_parameters)
        train_config = _train_config(recipe, train_overrides or {})
        max_tokens = max_tokens or recipe.max_tokens
    seed_everything(train_config.seed)  # the initial weights too come from the run's seed
    model = build_model(spec)
    n_parameters = count_parameters(model)
    meta = {"task": task, "task_options": task_options, "model": spec, "train": dataclasses.asdict(train_config),
            "max_tokens": max_tokens, "source": data.source.to_dict(), "target": data.target.to_dict(),
            "parameters": n_parameters}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    log(f"{model_name} on {task}: {n_parameters:,} parameters, {len(data.train):,} training pairs, run folder {run_dir}")

    valid_batches = make_batches(data.valid, max_tokens=max_tokens)
    seed = train_config.seed

    def train_batches(epoch: int):
        return make_batches(data.train, max_tokens=max_tokens, shuffle=True, seed=seed + epoch)

    def report(epoch: int, record: dict) -> None:
        log(f"  epoch {epoch:>2}: train loss {record['train_loss']:.3f}, valid loss {record['valid_loss']:.3f}, "
            f"valid token accuracy {record['valid_token_accuracy']:.3f}, {record['tokens_per_second']:,.0f} tgt tok/s")

    started = time.perf_counter()
    history = train(model, train_batches, valid_batches, train_config, run_dir=run_dir, resume=resume,
                    meta=meta, progress=progress, on_epoch=report)
    seconds = time.perf_counter() - started
    if history.interrupted:
        log(f"interrupted: checkpoint saved; continue with `transformer train --resume {run_dir}`")
        return {"interrupted": True, "run_dir": str(run_dir)}
    _plot_curves(run_dir, model_name, history.epochs)
    model.load_state_dict(load_checkpoint(run_dir / "checkpoint_best.pt")["model"])
    summary = {"task": task, "model": model_name, "parameters": n_parameters,
               "train_seconds": sum(r["seconds"] for r in history.epochs), "wall_seconds": seconds,
               "best_epoch": history.best_epoch, "history": history.epochs}
    for split in [s for s in ("test", "test_long") if s in data.splits]:
        summary[split] = evaluate_split(model, data, split, RECIPES[task].decode_extra)
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def decode_split(model: Seq2Seq, data: TaskData, split: str, decode_extra: int, beam_size: int = 1,
                 max_tokens: int = 4096) -> list[list[int]]:
    """Decoded target ids for every pair of a split, in the split's order."""
    device = next(model.parameters()).device
    model.eval()
    outputs: list[list[int] | None] = [None] * len(data.splits[split])
    for batch in make_batches(data.splits[split], max_tokens=max_tokens):
        src = batch.src.to(device)
        ids = translate_ids(model, src, BOS, EOS, src.shape[1] + decode_extra, beam_size)
        for row, index in zip(ids, batch.indices.tolist()):
            outputs[index] = row
    return outputs


def evaluate_split(model: Seq2Seq, data: TaskData, split: str, decode_extra: int, beam_size: int = 1) -> dict:
    """Decode a split and score it: exact match and token accuracy always; BLEU and chrF for
    translation tasks (detokenized output against the raw references)."""
    pairs = data.splits[split]
    started = time.perf_counter()
    hypotheses = decode_split(model, data, split, decode_extra, beam_size)
    references = [target for _, target in pairs]
    scores = {"split": split, "size": len(pairs), "beam_size": beam_size,
              "exact_match": exact_match(hypotheses, references),
              "token_accuracy": token_accuracy(hypotheses, references),
              "decode_seconds": time.perf_counter() - started}
    scores.update({f"loss_{k}": v for k, v in evaluate(model, make_batches(pairs, max_tokens=4096)).items()})
    if data.name in TRANSLATION_TASKS:
        texts = [data.decode_target(ids) for ids in hypotheses]
        scores.update(bleu(texts, data.references[split]))
        scores.update(chrf(texts, data.references[split]))
    lengths = [len(source) for source, _ in pairs]
    by_length: dict[int, list[bool]] = {}
    for n, h, r in zip(lengths, hypotheses, references):
        by_length.setdefault(n, []).append(h == r)
    scores["exact_match_by_source_length"] = {n: sum(v) / len(v) for n, v in sorted(by_length.items())}
    return scores


def load_run(run_dir: Path, checkpoint: str = "checkpoint_best.pt") -> tuple[Seq2Seq, dict]:
    """The trained model of a run folder (on the best device) and its meta data."""
    from transformer.tasks import TextCodec

    path = Path(run_dir) / checkpoint
    if not path.exists():
        raise FileNotFoundError(f"expected a checkpoint at {path}: is {run_dir} a finished run folder?")
    payload = load_checkpoint(path)
    meta = payload["meta"]
    if "model" not in meta:
        raise ValueError(f"{path}: no model description inside; it was not written by `transformer train`")
    model = build_model(meta["model"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(f"{path}: the weights do not fit the model its config describes ({first[-1].strip()})") from None
    meta["source_codec"] = TextCodec.from_dict(meta["source"])
    meta["target_codec"] = TextCodec.from_dict(meta["target"])
    return model.to(pick_device()).eval(), meta


def translate_texts(run_dir: Path, texts: list[str], beam_size: int = 1, return_attention: bool = False):
    """Translate raw source lines with a trained run; optionally also return attention maps.

    With `return_attention`, each map comes as (source tokens + "<eos>", produced tokens for display
    + "<eos>" if the output ended, weights of shape (produced, source)).
    """
    from transformer.decoding import greedy_decode, strip_special

    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise ValueError("translate: expected non-empty source text, got an empty line")
    model, meta = load_run(run_dir)
    source, target = meta["source_codec"], meta["target_codec"]
    extra = RECIPES.get(meta["task"], Recipe()).decode_extra
    device = next(model.parameters()).device
    outputs, attentions = [], []
    for text in texts:
        src = torch.tensor([source.encode(text) + [EOS]], device=device)
        if return_attention:
            ids, attention = greedy_decode(model, src, BOS, EOS, src.shape[1] + extra, return_attention=True)
            tokens = strip_special(ids[0].tolist(), EOS, model.tgt_pad_id)
            produced = [token.replace(JOINER, "") for token in target.vocab.decode(tokens)]  # "￭-￭" shown as "-"
            produced += ["<eos>"] if EOS in ids[0].tolist() else []  # no EOS: cut at the length limit
            attentions.append((source.tokenizer.tokenize(text) + ["<eos>"], produced,
                               None if attention is None else attention[0, : len(produced)].cpu()))
        else:
            tokens = translate_ids(model, src, BOS, EOS, src.shape[1] + extra, beam_size)[0]
        outputs.append(target.decode(tokens))
    return (outputs, attentions) if return_attention else outputs


def _plot_curves(run_dir: Path, name: str, records: list[dict]) -> None:
    from transformer.course import save_figure_to
    from transformer.plotting.training import plot_learning_curves

    save_figure_to(plot_learning_curves({name: records}), Path(run_dir) / "curves.png")
