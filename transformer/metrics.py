"""Scores: for decoded output, for classes and tags, and for language models.

* Sequence output: exact match and token accuracy (copy, number words), sacreBLEU and chrF on
  detokenized text against the raw references (translation).
* Classes (a sentence's class, or a token's tag): accuracy, precision, recall and F1 per class
  and their macro average, the confusion matrix (`classification_report`).
* Language models: perplexity and bits per token from the mean cross-entropy in nats.

BLEU is computed by sacreBLEU (Post 2018), never re-implemented: cased, 13a tokenization,
on detokenized hypotheses against the untouched reference lines, and its signature is kept
with the score so the number can be compared with others'.
"""

import math
from collections.abc import Sequence


def exact_match(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Fraction of outputs identical to their reference (token lists or strings)."""
    _same_length(hypotheses, references)
    return sum(list(h) == list(r) for h, r in zip(hypotheses, references)) / max(len(references), 1)


def token_accuracy(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """Fraction of reference positions where the output has the same token.

    Positions are compared one to one; an output that is too short misses the rest, one that is
    too long gains nothing.
    """
    _same_length(hypotheses, references)
    correct = sum(sum(a == b for a, b in zip(h, r)) for h, r in zip(hypotheses, references))
    return correct / max(sum(len(r) for r in references), 1)


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus sacreBLEU (cased, 13a) with its signature."""
    import sacrebleu

    _same_length(hypotheses, references)
    metric = sacrebleu.metrics.BLEU()
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return {"bleu": score.score, "bleu_signature": str(metric.get_signature())}


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus chrF (character n-gram F-score) with its signature."""
    import sacrebleu

    _same_length(hypotheses, references)
    metric = sacrebleu.metrics.CHRF()
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return {"chrf": score.score, "chrf_signature": str(metric.get_signature())}


def exact_match_by_length(lengths: Sequence[int], hypotheses: Sequence[Sequence], references: Sequence[Sequence]
                          ) -> tuple[dict[int, float], dict[int, int]]:
    """Exact match among the items of each length (the source's, say), and how many items each length has.

    A length with few items gives a coarse fraction (one item: 0 or 1), so the counts go with it.
    """
    _same_length(hypotheses, references)
    _same_length(lengths, references)
    by_length: dict[int, list[bool]] = {}
    for n, h, r in zip(lengths, hypotheses, references):
        by_length.setdefault(int(n), []).append(list(h) == list(r))
    return ({n: sum(v) / len(v) for n, v in sorted(by_length.items())},
            {n: len(v) for n, v in sorted(by_length.items())})


def perplexity(mean_loss: float) -> float:
    """exp of the mean per-token cross-entropy (in nats)."""
    return math.exp(min(mean_loss, 50.0))


def bits_per_token(mean_loss: float) -> float:
    """The mean cross-entropy in bits: nats / ln 2 (bits per character for a character model)."""
    return mean_loss / math.log(2)


def confusion_matrix(predicted: Sequence[int], actual: Sequence[int], n_classes: int) -> list[list[int]]:
    """`matrix[i][j]` counts the items of class i (actual) that were predicted as class j."""
    _same_length(predicted, actual)
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for p, a in zip(predicted, actual):
        if not (0 <= p < n_classes and 0 <= a < n_classes):
            raise ValueError(f"confusion_matrix: expected classes in [0, {n_classes}), got predicted {p}, actual {a}")
        matrix[a][p] += 1
    return matrix


def classification_report(predicted: Sequence[int], actual: Sequence[int], n_classes: int) -> dict:
    """Accuracy, and precision, recall and F1 of each class with their unweighted (macro) mean.

    For class c: precision = TP / (TP + FP) (of the items predicted c, how many are c), recall =
    TP / (TP + FN) (of the items that are c, how many were found), F1 their harmonic mean. A
    ratio with nothing to count (no item predicted c, say) is 0, as scikit-learn's
    `zero_division=0`.
    """
    matrix = confusion_matrix(predicted, actual, n_classes)
    per_class = []
    for c in range(n_classes):
        true_positive = matrix[c][c]
        predicted_c = sum(matrix[a][c] for a in range(n_classes))
        actual_c = sum(matrix[c])
        precision = true_positive / predicted_c if predicted_c else 0.0
        recall = true_positive / actual_c if actual_c else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"precision": precision, "recall": recall, "f1": f1, "support": actual_c})
    correct = sum(matrix[c][c] for c in range(n_classes))
    return {
        "accuracy": correct / max(len(actual), 1),
        "macro_precision": sum(c["precision"] for c in per_class) / max(n_classes, 1),
        "macro_recall": sum(c["recall"] for c in per_class) / max(n_classes, 1),
        "macro_f1": sum(c["f1"] for c in per_class) / max(n_classes, 1),
        "per_class": per_class,
        "confusion": matrix,
    }


def _same_length(hypotheses: Sequence, references: Sequence) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"metrics: expected as many hypotheses as references, got {len(hypotheses)} and {len(references)}")
