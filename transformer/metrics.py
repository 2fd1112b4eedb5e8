"""Scores for decoded output: exact match and token accuracy (copy, number words), sacreBLEU
and chrF on detokenized text against the raw references (translation), and perplexity.

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


def perplexity(mean_loss: float) -> float:
    """exp of the mean per-token cross-entropy (in nats)."""
    return math.exp(min(mean_loss, 50.0))


def _same_length(hypotheses: Sequence, references: Sequence) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"metrics: expected as many hypotheses as references, got {len(hypotheses)} and {len(references)}")
