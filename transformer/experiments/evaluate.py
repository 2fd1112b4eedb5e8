"""Evaluation: score a trained model on a split of its task, whatever the task's shape.

| shape | what `evaluate_split` reports |
|---|---|
| seq2seq | decodes every source (greedy or beam): exact match, token accuracy, BLEU and chrF for translation, exact match by source length |
| classification | accuracy, precision / recall / F1 per class and their macro mean, the confusion matrix |
| tagging | token accuracy over real words, on words seen and unseen in training, per-tag precision / recall / F1, the confusion between tags |
| language_model | cross-entropy in nats per token, bits per token (per character), perplexity, next-token accuracy |

Every shape also reports the teacher-forced validation metrics of its objective (`loss_*`).
Decoding length is capped by a model's positions (`max_len`); the cap is said once, by `log`.
"""

import functools
import time
from pathlib import Path

import torch

from transformer.decoding import greedy_decode, strip_special, translate_ids
from transformer.interface import CLASSIFICATION, LANGUAGE_MODEL, SEQ2SEQ, TAGGING
from transformer.metrics import bleu, chrf, classification_report, exact_match, exact_match_by_length, token_accuracy
from transformer.objectives import evaluate
from transformer.tasks import BOS, EOS, JOINER, PAD, TaskData, make_batches

TRANSLATION_TASKS = ("multi30k", "pairs")


def evaluated_splits(data) -> list[str]:
    """The held-out splits a finished run is scored on."""
    return [split for split in ("test", "test_long") if split in data.splits]


def decoding_length(model, source_length: int, decode_extra: int) -> int:
    """Longest output to decode for a source: source + decode_extra, capped by the model's positions."""
    wanted = source_length + decode_extra
    max_len = getattr(model, "max_len", None)
    return wanted if max_len is None else min(wanted, max_len)


def decode_split(model, data: TaskData, split: str, decode_extra: int, beam_size: int = 1,
                 max_tokens: int = 4096, log=None, alpha: float = 0.6) -> list[list[int]]:
    """Decoded target ids for every pair of a split, in the split's order (`alpha`: beam search's
    length penalty)."""
    device = next(model.parameters()).device
    model.eval()
    outputs: list[list[int] | None] = [None] * len(data.splits[split])
    capped = False
    for batch in make_batches(data.splits[split], max_tokens=max_tokens):
        src = batch.src.to(device)
        length = decoding_length(model, src.shape[1], decode_extra)
        if length < src.shape[1] + decode_extra and not capped and log is not None:
            log(f"decoding {split}: outputs capped at {length} tokens, the model's max_len")
        capped = capped or length < src.shape[1] + decode_extra
        ids = translate_ids(model, src, BOS, EOS, length, beam_size, alpha)
        for row, index in zip(ids, batch.indices.tolist()):
            outputs[index] = row
    return outputs


def evaluate_split(model, data, split: str, decode_extra: int = 10, beam_size: int = 1, log=None,
                   alpha: float = 0.6) -> dict:
    """Score `model` on `split` of `data` as its shape asks (the table above); `alpha` is the length
    penalty of beam search (sequence to sequence only)."""
    if split not in data.splits:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(data.splits)}")
    scorer = {SEQ2SEQ: _seq2seq_scores, CLASSIFICATION: _classification_scores, TAGGING: _tagging_scores,
              LANGUAGE_MODEL: _language_model_scores}[data.shape]
    started = time.perf_counter()
    if data.shape == SEQ2SEQ:
        scorer = functools.partial(_seq2seq_scores, alpha=alpha)
    scores = {"split": split, "size": len(data.splits[split]), **scorer(model, data, split, decode_extra, beam_size, log)}
    scores["seconds"] = time.perf_counter() - started
    return scores


def _seq2seq_scores(model, data: TaskData, split: str, decode_extra: int, beam_size: int, log,
                    alpha: float = 0.6) -> dict:
    """Exact match and token accuracy always; BLEU and chrF for translation tasks (detokenized
    output against the raw references); exact match by source length."""
    pairs = data.splits[split]
    started = time.perf_counter()
    hypotheses = decode_split(model, data, split, decode_extra, beam_size, log=log, alpha=alpha)
    references = [target for _, target in pairs]
    scores = {"beam_size": beam_size, "exact_match": exact_match(hypotheses, references),
              "token_accuracy": token_accuracy(hypotheses, references), "decode_seconds": time.perf_counter() - started}
    scores.update({f"loss_{k}": v for k, v in evaluate(model, make_batches(pairs, max_tokens=4096)).items()})
    if data.name in TRANSLATION_TASKS:
        texts = [data.decode_target(ids) for ids in hypotheses]
        scores.update(bleu(texts, data.references[split]))
        scores.update(chrf(texts, data.references[split]))
    scores["exact_match_by_source_length"], scores["items_by_source_length"] = exact_match_by_length(
        [len(source) for source, _ in pairs], hypotheses, references)
    return scores


@torch.no_grad()
def predict_classes(model, data, split: str, max_tokens: int = 4096) -> list[int]:
    """The predicted class of every example of a split, in the split's order."""
    device = next(model.parameters()).device
    model.eval()
    predicted = [0] * len(data.splits[split])
    for batch in data.batches(split, max_tokens):
        for index, label in zip(batch.indices.tolist(), model(batch.ids.to(device)).argmax(dim=-1).tolist()):
            predicted[index] = label
    return predicted


def _classification_scores(model, data, split: str, decode_extra: int, beam_size: int, log) -> dict:
    predicted = predict_classes(model, data, split)
    actual = [label for _, label in data.splits[split]]
    report = classification_report(predicted, actual, len(data.labels))
    report["per_class"] = {name: values for name, values in zip(data.labels.names, report["per_class"])}
    report["classes"] = data.labels.names
    report.update({f"loss_{k}": v for k, v in evaluate(model, data.batches(split, 4096)).items()})
    return report


@torch.no_grad()
def predict_tags(model, data, split: str, max_tokens: int = 4096) -> list[list[int]]:
    """The predicted tags of every sentence of a split, in the split's order."""
    device = next(model.parameters()).device
    model.eval()
    predicted: list[list[int]] = [[] for _ in data.splits[split]]
    for batch in data.batches(split, max_tokens):
        batch = batch.to(device)
        mask = batch.ids != model.pad_id
        tags = model.predict(model(batch.ids, batch.chars), mask)
        for index, row, n in zip(batch.indices.tolist(), tags.tolist(), mask.sum(dim=1).tolist()):
            predicted[index] = row[:n]
    return predicted


def _tagging_scores(model, data, split: str, decode_extra: int, beam_size: int, log) -> dict:
    """Token accuracy over the real words only (padding never counts), split into words seen in
    training and words never seen there, and per-tag scores with the confusion between tags."""
    predicted = predict_tags(model, data, split)
    known = data.training_words()
    flat_predicted, flat_actual, seen, unseen = [], [], [0, 0], [0, 0]
    for words, (_, tags, _), guess in zip(data.words[split], data.splits[split], predicted):
        for word, tag, p in zip(words, tags, guess):
            flat_predicted.append(p)
            flat_actual.append(tag)
            bucket = seen if word in known else unseen
            bucket[0] += p == tag
            bucket[1] += 1
    report = classification_report(flat_predicted, flat_actual, len(data.tags))
    scores = {"token_accuracy": report["accuracy"], "tokens": len(flat_actual),
              "seen_accuracy": seen[0] / max(seen[1], 1), "seen_tokens": seen[1],
              "unseen_accuracy": unseen[0] / max(unseen[1], 1), "unseen_tokens": unseen[1],
              "sentence_exact_match": exact_match(predicted, [tags for _, tags, _ in data.splits[split]]),
              "macro_f1": report["macro_f1"],
              "per_tag": {name: values for name, values in zip(data.tags.names, report["per_class"])},
              "tags": data.tags.names, "confusion": report["confusion"]}
    scores.update({f"loss_{k}": v for k, v in evaluate(model, data.batches(split, 4096)).items()})
    return scores


def _language_model_scores(model, data, split: str, decode_extra: int, beam_size: int, log) -> dict:
    """The cross-entropy of the split's text under the model, window by window (real tokens only)."""
    metrics = evaluate(model, data.batches(split, 8 * data.context))
    return {"tokens": len(data.splits[split]), **metrics}


def translate_texts(run_dir: Path, texts: list[str], beam_size: int = 1, return_attention: bool = False):
    """Translate raw source lines with a trained run; optionally also return attention maps.

    With `return_attention`, each map comes as (source tokens + "<eos>", produced tokens for display
    + "<eos>" if the output ended, weights of shape (produced, source)).
    """
    from transformer.experiments.recipes import RECIPES, Recipe
    from transformer.experiments.runs import load_run

    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise ValueError("translate: expected non-empty source text, got an empty line")
    model, meta = load_run(run_dir)
    if meta["shape"] != SEQ2SEQ:
        raise ValueError(f"translate: {run_dir} holds a {meta['shape']} model; translate takes a seq2seq run")
    source, target = meta["source_codec"], meta["target_codec"]
    extra = RECIPES.get(meta["task"], Recipe()).decode_extra
    device = next(model.parameters()).device
    outputs, attentions = [], []
    for text in texts:
        src = torch.tensor([source.encode(text) + [EOS]], device=device)
        length = decoding_length(model, src.shape[1], extra)
        if return_attention:
            ids, attention = greedy_decode(model, src, BOS, EOS, length, return_attention=True)
            tokens = strip_special(ids[0].tolist(), EOS, PAD)
            produced = [token.replace(JOINER, "") for token in target.vocab.decode(tokens)]  # "￭-￭" shown as "-"
            produced += ["<eos>"] if EOS in ids[0].tolist() else []  # no EOS: cut at the length limit
            attentions.append((source.tokenizer.tokenize(text) + ["<eos>"], produced,
                               None if attention is None else attention[0, : len(produced)].cpu()))
        else:
            tokens = translate_ids(model, src, BOS, EOS, length, beam_size)[0]
        outputs.append(target.decode(tokens))
    return (outputs, attentions) if return_attention else outputs
