"""Evaluation: decode a split and score it; translate new text with a trained run."""

import time
from pathlib import Path

import torch

from transformer.decoding import translate_ids
from transformer.interface import Seq2Seq
from transformer.metrics import bleu, chrf, exact_match, token_accuracy
from transformer.tasks import BOS, EOS, JOINER, TaskData, make_batches
from transformer.train import evaluate

TRANSLATION_TASKS = ("multi30k", "pairs")


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


def translate_texts(run_dir: Path, texts: list[str], beam_size: int = 1, return_attention: bool = False):
    """Translate raw source lines with a trained run; optionally also return attention maps.

    With `return_attention`, each map comes as (source tokens + "<eos>", produced tokens for display
    + "<eos>" if the output ended, weights of shape (produced, source)).
    """
    from transformer.decoding import greedy_decode, strip_special

    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise ValueError("translate: expected non-empty source text, got an empty line")
    from transformer.experiments.recipes import RECIPES, Recipe
    from transformer.experiments.runs import load_run

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


