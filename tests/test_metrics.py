"""Spec for the metrics: exact match, token accuracy, and sacreBLEU/chrF wiring."""

import math

import pytest
import sacrebleu

from transformer.metrics import bleu, chrf, exact_match, perplexity, token_accuracy

pytestmark = pytest.mark.decoding


def test_exact_match_counts_identical_sequences():
    assert exact_match([[1, 2], [3], [4, 5]], [[1, 2], [3, 4], [4, 5]]) == pytest.approx(2 / 3)


def test_token_accuracy_compares_positions_and_penalises_short_outputs():
    assert token_accuracy([[1, 2, 9], [3]], [[1, 2, 3], [3, 4]]) == pytest.approx(3 / 5)


def test_bleu_is_sacrebleu_on_raw_text_with_signature():
    hyps = ["A dog runs on the grass.", "Two men are talking."]
    refs = ["A dog runs across the grass.", "Two men are talking."]
    result = bleu(hyps, refs)
    assert result["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert "tok:13a" in result["bleu_signature"] and "case:mixed" in result["bleu_signature"]
    assert bleu(refs, refs)["bleu"] == pytest.approx(100.0)


def test_chrf_of_identical_text_is_100():
    assert chrf(["ein Hund"], ["ein Hund"])["chrf"] == pytest.approx(100.0)


def test_perplexity_is_exp_of_loss():
    assert perplexity(math.log(7.0)) == pytest.approx(7.0)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="as many hypotheses as references, got 1 and 2"):
        bleu(["a"], ["a", "b"])
