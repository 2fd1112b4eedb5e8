"""What a model is trained to minimise and scored by, for each task shape.

Chapter: walkthrough/09_training.md (and 12-14 for the other shapes). The training loop is one
loop for every shape; the objective of the model's shape (`OBJECTIVES[model.shape]`) says how a
batch becomes a loss, and what validation measures:

| shape | training loss | validation |
|---|---|---|
| seq2seq | label-smoothed token cross-entropy, padding ignored | loss, perplexity, token accuracy (teacher forced) |
| language_model | the same, over the targets of each window | loss (nats/token), bits/token, perplexity, token accuracy |
| tagging | the model's own: token cross-entropy, or a CRF's negative log-likelihood per token | loss, token accuracy over real tokens |
| classification | class cross-entropy, label-smoothed | loss, accuracy, macro F1 |

A loss comes with the number of items it averages over (target tokens, words, sentences), so
the loop can report an epoch's mean exactly and validation can weigh batches by their size.
Validation loss is never smoothed, so it is the model's real cross-entropy (or NLL).

Word dropout (Iyyer et al. 2015, §5.2; `TrainConfig.word_dropout`): in training, each real input
token of a classifier or a tagger becomes UNK with probability p, so the model learns to read a
sentence with words it does not know, as it will meet them in the test set (a tagger still sees
the dropped word's characters).
"""

from dataclasses import dataclass

import torch
from torch import Tensor

from transformer.interface import CLASSIFICATION, LANGUAGE_MODEL, SEQ2SEQ, TAGGING
from transformer.losses import label_smoothed_cross_entropy
from transformer.metrics import bits_per_token, classification_report, perplexity
from transformer.tasks.vocab import UNK


def drop_words(ids: Tensor, p: float, pad_id: int) -> Tensor:
    """`ids` with each word replaced by UNK with probability p.

    Only words are dropped: padding and the special tokens below UNK (BOS, which a classifier may
    pool as its [CLS], and EOS) stay as they are.
    """
    if p <= 0:
        return ids
    dropped = (torch.rand(ids.shape, device=ids.device) < p) & (ids > UNK) & (ids != pad_id)
    return ids.masked_fill(dropped, UNK)


@dataclass(frozen=True)
class Seq2SeqObjective:
    """Teacher forcing: predict `tgt_out[t]` from the source and `tgt_in[..t]`."""

    name = SEQ2SEQ
    main_metric = "token_accuracy"

    def loss(self, model, batch, smoothing: float, word_dropout: float = 0.0) -> tuple[Tensor, int]:
        logits = model(batch.src, batch.tgt_in)
        n = int((batch.tgt_out != model.tgt_pad_id).sum())
        return label_smoothed_cross_entropy(logits, batch.tgt_out, smoothing, model.tgt_pad_id), n

    def counts(self, model, batch) -> dict:
        logits = model(batch.src, batch.tgt_in).float()
        return _token_counts(logits, batch.tgt_out, batch.tgt_out != model.tgt_pad_id)

    def summarise(self, sums: dict) -> dict:
        loss = sums["loss_sum"] / max(sums["items"], 1)
        return {"loss": loss, "perplexity": perplexity(loss), "token_accuracy": sums["correct"] / max(sums["items"], 1)}


@dataclass(frozen=True)
class LanguageModelObjective:
    """Predict each window's next tokens; PAD targets (the end of the text) never count."""

    name = LANGUAGE_MODEL
    main_metric = "bits_per_token"

    def loss(self, model, batch, smoothing: float, word_dropout: float = 0.0) -> tuple[Tensor, int]:
        logits = model(batch.ids)
        n = int((batch.targets != model.pad_id).sum())
        return label_smoothed_cross_entropy(logits, batch.targets, smoothing, model.pad_id), n

    def counts(self, model, batch) -> dict:
        logits = model(batch.ids).float()
        return _token_counts(logits, batch.targets, batch.targets != model.pad_id)

    def summarise(self, sums: dict) -> dict:
        loss = sums["loss_sum"] / max(sums["items"], 1)
        return {"loss": loss, "bits_per_token": bits_per_token(loss), "perplexity": perplexity(loss),
                "token_accuracy": sums["correct"] / max(sums["items"], 1)}


@dataclass(frozen=True)
class TaggingObjective:
    """One tag per real word; the tagger's own loss (softmax or CRF) and its own decoding."""

    name = TAGGING
    main_metric = "token_accuracy"

    def loss(self, model, batch, smoothing: float, word_dropout: float = 0.0) -> tuple[Tensor, int]:
        mask = batch.ids != model.pad_id
        scores = model(drop_words(batch.ids, word_dropout, model.pad_id), batch.chars)
        return model.loss(scores, batch.tags, mask, smoothing), int(mask.sum())

    def counts(self, model, batch) -> dict:
        mask = batch.ids != model.pad_id
        scores = model(batch.ids, batch.chars).float()
        n = int(mask.sum())
        predicted = model.predict(scores, mask)
        return {"loss_sum": model.loss(scores, batch.tags, mask, 0.0).item() * n, "items": n,
                "correct": int(((predicted == batch.tags) & mask).sum())}

    def summarise(self, sums: dict) -> dict:
        return {"loss": sums["loss_sum"] / max(sums["items"], 1), "token_accuracy": sums["correct"] / max(sums["items"], 1)}


@dataclass(frozen=True)
class ClassificationObjective:
    """One class per sentence: cross-entropy over the classes."""

    name = CLASSIFICATION
    main_metric = "accuracy"

    def loss(self, model, batch, smoothing: float, word_dropout: float = 0.0) -> tuple[Tensor, int]:
        logits = model(drop_words(batch.ids, word_dropout, model.pad_id))
        return label_smoothed_cross_entropy(logits[:, None], batch.labels[:, None], smoothing), batch.size

    def counts(self, model, batch) -> dict:
        logits = model(batch.ids).float()
        loss = label_smoothed_cross_entropy(logits[:, None], batch.labels[:, None], 0.0)
        return {"loss_sum": loss.item() * batch.size, "items": batch.size,
                "predicted": logits.argmax(dim=-1).tolist(), "actual": batch.labels.tolist(),
                "n_classes": logits.shape[-1]}

    def summarise(self, sums: dict) -> dict:
        report = classification_report(sums["predicted"], sums["actual"], sums["n_classes"])
        return {"loss": sums["loss_sum"] / max(sums["items"], 1), "accuracy": report["accuracy"],
                "macro_f1": report["macro_f1"]}


def _token_counts(logits: Tensor, targets: Tensor, real: Tensor) -> dict:
    n = int(real.sum())
    loss = label_smoothed_cross_entropy(logits, targets, 0.0, mask=real)
    return {"loss_sum": loss.item() * n, "items": n, "correct": int(((logits.argmax(-1) == targets) & real).sum())}


OBJECTIVES = {
    SEQ2SEQ: Seq2SeqObjective(),
    LANGUAGE_MODEL: LanguageModelObjective(),
    TAGGING: TaggingObjective(),
    CLASSIFICATION: ClassificationObjective(),
}


def objective_for(model) -> object:
    """The objective of the model's shape (see the table above)."""
    shape = getattr(model, "shape", None)
    if shape not in OBJECTIVES:
        raise ValueError(f"train: expected a model of one of the shapes {', '.join(OBJECTIVES)} "
                         f"(a subclass of an interface in transformer.interface), got {type(model).__name__}")
    return OBJECTIVES[shape]


@torch.no_grad()
def evaluate(model, batches, device: torch.device | None = None, stop=None) -> dict | None:
    """The objective's validation metrics over `batches` (no smoothing, dropout off).

    `stop()` is asked between batches (the training loop passes "was Ctrl-C pressed?"); when it
    says yes, evaluation gives up and returns None.
    """
    objective = objective_for(model)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict = {}
    for batch in batches:
        if stop is not None and stop():
            model.train(was_training)
            return None
        for key, value in objective.counts(model, batch.to(device)).items():
            if isinstance(value, list):
                sums.setdefault(key, []).extend(value)
            elif key == "n_classes":
                sums[key] = value
            else:
                sums[key] = sums.get(key, 0) + value
    model.train(was_training)
    if not sums:
        raise ValueError("evaluate: expected at least one batch, got none")
    return objective.summarise(sums)
