"""Spec for the metrics: exact match, token accuracy, and sacreBLEU/chrF wiring."""

import math

import pytest
import sacrebleu

from transformer.metrics import bleu, chrf, exact_match, perplexity, token_accuracy

pytestmark = pytest.mark.decoding


def test_exact_match_counts_identical_sequences():
    score = exact_match([[1, 2], [3], [4, 5]], [[1, 2], [3, 4], [4, 5]])
    assert score == pytest.approx(2 / 3), f"exact match {score}, expected 2/3: two of three outputs equal their reference"


def test_token_accuracy_compares_positions_and_penalises_short_outputs():
    score = token_accuracy([[1, 2, 9], [3]], [[1, 2, 3], [3, 4]])
    assert score == pytest.approx(3 / 5), (
        f"token accuracy {score}, expected 3/5: 3 of the 5 reference tokens are matched, the missing one counts as wrong")


def test_bleu_is_sacrebleu_on_raw_text_with_signature():
    hyps = ["A dog runs on the grass.", "Two men are talking."]
    refs = ["A dog runs across the grass.", "Two men are talking."]
    result = bleu(hyps, refs)
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert result["bleu"] == pytest.approx(expected), f"BLEU {result['bleu']}, sacreBLEU's corpus_bleu gives {expected}"
    signature = result["bleu_signature"]
    assert "tok:13a" in signature and "case:mixed" in signature, f"the signature {signature!r} lacks tok:13a or case:mixed"
    perfect = bleu(refs, refs)["bleu"]
    assert perfect == pytest.approx(100.0), f"BLEU of the references against themselves is {perfect}, expected 100"


def test_chrf_of_identical_text_is_100():
    score = chrf(["ein Hund"], ["ein Hund"])["chrf"]
    assert score == pytest.approx(100.0), f"chrF of a text against itself is {score}, expected 100"


def test_perplexity_is_exp_of_loss():
    value = perplexity(math.log(7.0))
    assert value == pytest.approx(7.0), f"perplexity of a loss of ln 7 is {value}, expected exp(ln 7) = 7"


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="as many hypotheses as references, got 1 and 2"):
        bleu(["a"], ["a", "b"])


def test_exact_match_by_length_counts_the_items_of_each_length():
    """Each length's share of exact outputs, beside how many items it rests on."""
    from transformer.metrics import exact_match_by_length

    share, counts = exact_match_by_length([2, 2, 3], [[1, 2], [1, 1], [5, 6, 7]], [[1, 2], [1, 2], [5, 6, 7]])
    assert share == {2: 0.5, 3: 1.0}, f"exact match by length {share}, expected {{2: 0.5, 3: 1.0}}"
    assert counts == {2: 2, 3: 1}, f"items by length {counts}, expected {{2: 2, 3: 1}}"
