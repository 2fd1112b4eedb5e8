"""Spec for `transformer.classification.explain`: occlusion and the LIME-style surrogate recover
what a linear model really weighs, deterministically; PCA to 2-D is the SVD's projection.

Chapter: walkthrough/12_sentence_classification.md. Run with `pytest -m classification`.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from strategies import seeds
from threadpoolctl import threadpool_limits

from transformer.classification import (
    BagOfWordsClassifier,
    TextCNN,
    class_probabilities,
    keep_words,
    kernel_weights,
    lime,
    occlusion,
    project_2d,
    sample_masks,
    weighted_ridge,
)

from transformer.encoder_only import EncoderOnlyConfig, build_transformer_classifier
from transformer.tasks.vocab import PAD, UNK

pytestmark = pytest.mark.classification

F64 = torch.float64
VOCAB = 12


def assert_close(actual, expected, what: str, **tolerances) -> None:
    """`torch.testing.assert_close`, with the property that broke in front of its diagnostic."""
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


def linear_model(ids: torch.Tensor, log_odds: torch.Tensor, bias: float) -> BagOfWordsClassifier:
    """A two-class logistic regression on word counts: word ids[i] adds log_odds[i] to class 1's logit."""
    model = BagOfWordsClassifier(VOCAB, 2, features="counts").double().eval()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.weight[1, ids] = log_odds
        model.output.bias.copy_(torch.tensor([0.0, bias], dtype=F64))
    return model


@st.composite
def linear_cases(draw, spaced: bool):
    """A sentence of distinct words, their log-odds and a bias for `linear_model`. `spaced`: the words' log-odds are
    a shuffled evenly spaced grid in [-1.5, 1.5], else any standard normal draws."""
    n = draw(st.integers(3, 8))
    generator = torch.Generator().manual_seed(draw(seeds()))
    ids = torch.randperm(VOCAB - 1, generator=generator)[:n] + 1
    if spaced:
        log_odds = torch.linspace(-1.5, 1.5, n, dtype=F64)[torch.randperm(n, generator=generator)]
    else:
        log_odds = torch.randn(n, generator=generator, dtype=F64)
    return ids, log_odds, draw(st.floats(-1.0, 1.0))


def own_weights(model: BagOfWordsClassifier, ids: torch.Tensor, predicted: int) -> torch.Tensor:
    """What the model adds to the predicted class's log-odds for each word: W[c, w] - W[other, w]."""
    weights = model.word_weights.detach()
    return weights[predicted, ids] - weights[1 - predicted, ids]


def assert_same_ranking(importance: torch.Tensor, expected: torch.Tensor, method: str) -> None:
    ours, theirs = torch.argsort(importance).tolist(), torch.argsort(expected).tolist()
    assert ours == theirs, (f"{method} ranks the words (least to most important) {ours}, the model's own weights "
                            f"rank them {theirs}; importances {importance.tolist()}, weights {expected.tolist()}")


# ---------------------------------------------------------------- occlusion


@given(case=linear_cases(spaced=False))
def test_occlusion_recovers_a_linear_models_word_ranking(case):
    """For two classes p(c) = sigmoid(s) and leaving word i out subtracts its weight d_i from s:
    the drop sigmoid(s) - sigmoid(s - d_i) grows with d_i, so it ranks words as the weights do."""
    ids, model = case[0], linear_model(*case)
    explanation = occlusion(model, ids)
    assert_same_ranking(explanation.importance, own_weights(model, ids, explanation.predicted), "occlusion")


def test_occlusion_is_the_drop_in_probability_without_each_word():
    """importance_i = p(c | sentence) - p(c | sentence without word i), by the definition."""
    torch.manual_seed(1)
    model = BagOfWordsClassifier(VOCAB, 3, features="counts").double().eval()
    ids = torch.tensor([4, 7, 7, 2])
    explanation = occlusion(model, ids, target=2)
    full = class_probabilities(model, ids[None])[0, 2]
    without = [class_probabilities(model, torch.cat([ids[:i], ids[i + 1 :]])[None])[0, 2] for i in range(4)]
    assert_close(explanation.importance, full - torch.stack(without), "occlusion is not the probability drop")
    assert (explanation.predicted, explanation.probability) == (2, pytest.approx(float(full))), "wrong target or probability"


# ---------------------------------------------------------------- the LIME surrogate


@given(case=linear_cases(spaced=True), seed=seeds())
def test_lime_recovers_a_linear_models_word_ranking(case, seed):
    """On masks z the model's probability is sigmoid(b + sum_i d_i z_i), nearly linear for small
    weights: the local linear surrogate's coefficients follow the d_i."""
    ids, model = case[0], linear_model(*case)
    explanation = lime(model, ids, seed=seed)
    assert_same_ranking(explanation.importance, own_weights(model, ids, explanation.predicted), "LIME")


@given(seed=seeds(), alpha=st.floats(0.1, 3.0), data=st.data())
def test_weighted_ridge_equals_sklearn_ridge_with_sample_weights(seed, alpha, data):
    """Centring by the weighted means and solving the normal equations is ridge regression with an
    unpenalised intercept: scikit-learn's Ridge(alpha).fit(x, y, sample_weight)."""
    samples, features = data.draw(st.integers(6, 20)), data.draw(st.integers(1, 5))
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(samples, features, generator=generator) < 0.5).double()
    y, weights = torch.rand(samples, generator=generator, dtype=F64), torch.rand(samples, generator=generator, dtype=F64) + 0.1
    beta, intercept = weighted_ridge(x, y, weights, alpha)
    with threadpool_limits(limits=1):
        theirs = Ridge(alpha=alpha, solver="cholesky").fit(x.numpy(), y.numpy(), sample_weight=weights.numpy())
    assert_close(beta, torch.from_numpy(np.atleast_1d(theirs.coef_)), f"alpha {alpha}: coefficients differ from Ridge's")
    assert_close(intercept, torch.tensor(theirs.intercept_, dtype=F64), "the intercept differs from Ridge's")


def test_lime_samples_and_kernel():
    """Sample 0 is the sentence itself (weight 1); every other drops 1..n words; fewer words, less weight."""
    masks = sample_masks(5, 300, torch.Generator().manual_seed(0))
    dropped = (~masks).sum(dim=1)
    assert dropped[0] == 0 and dropped[1:].min() >= 1, f"dropped counts {dropped[:5].tolist()}...: row 0 must keep all"
    assert set(dropped[1:].tolist()) == {1, 2, 3, 4, 5}, f"k ~ U{{1..5}} should give every count, got {set(dropped.tolist())}"
    for distance in ("cosine", "removed"):
        weights = kernel_weights(torch.tensor([[True] * 4, [True] * 3 + [False], [True] + [False] * 3]), 0.25, distance)
        assert weights[0] == 1 and weights[0] > weights[1] > weights[2], f"{distance}: kernel weights {weights.tolist()}"


# ---------------------------------------------------------------- determinism and input


def test_explanations_are_deterministic_for_a_fixed_seed_even_in_training_mode():
    """Samples come from a generator seeded by `seed`, and the model runs in eval mode (no
    dropout), so the same call gives the same numbers; the model's mode is given back."""
    torch.manual_seed(0)
    model = TextCNN(VOCAB, 3, embedding_size=5, filter_widths=(2, 3), n_filters=4, dropout=0.5).double().train()
    ids = torch.tensor([3, 5, 8, 2, 9])
    first, again = lime(model, ids, n_samples=64, seed=7), lime(model, ids, n_samples=64, seed=7)
    assert torch.equal(first.importance, again.importance), "LIME with one seed gave two explanations"
    other = lime(model, ids, n_samples=64, seed=8)
    assert not torch.equal(first.importance, other.importance), "LIME ignores its seed"
    assert torch.equal(occlusion(model, ids).importance, occlusion(model, ids).importance), "occlusion varies"
    assert model.training, "explaining left the model in eval mode"


def test_a_sentence_with_every_word_dropped_is_one_unknown_word():
    """The recurrent and Transformer classifiers refuse a row of padding, so an all-dropped sample
    (LIME draws them, occlusion makes one from a one-word sentence) is [UNK] and both methods run."""
    rows = keep_words(torch.tensor([5, 6, 7]), torch.tensor([[True, False, True], [False, False, False]]), PAD)
    assert rows.tolist() == [[5, 7, PAD], [UNK, PAD, PAD]], f"expected the kept words, then [UNK], got {rows.tolist()}"
    torch.manual_seed(0)
    model = build_transformer_classifier(EncoderOnlyConfig(vocab_size=VOCAB, n_outputs=2, d_model=8, n_heads=2, n_layers=1,
                                                         d_ff=16, max_len=8))
    assert occlusion(model, torch.tensor([5])).importance.shape == (1,), "occlusion of a one-word sentence failed"
    assert lime(model, torch.tensor([5, 6]), n_samples=50).importance.shape == (2,), "lime with empty samples failed"


def test_bad_input_gets_one_clear_line(runtime_checks):
    model = BagOfWordsClassifier(VOCAB, 2, features="counts")
    with pytest.raises(ValueError, match=r"explain: expected one sentence's token ids, a 1-d integer tensor \(seq,\), got \(1, 3\)"):
        occlusion(model, torch.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match=r"explain: expected a sentence with at least one word, got only padding \(\[0, 0\]\)"):
        lime(model, torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"explain: expected right padding only, got the pad id 0 inside \[4, 0, 5\]"):
        occlusion(model, torch.tensor([4, 0, 5]))
    with pytest.raises(ValueError, match=r"explain: expected a target class in \[0, 2\), got 2"):
        occlusion(model, torch.tensor([4, 5]), target=2)
    with pytest.raises(ValueError, match=r"lime: expected distance in \('cosine', 'removed'\), got 'euclid'"):
        lime(model, torch.tensor([4, 5]), distance="euclid")
    trailing = occlusion(model, torch.tensor([4, 5, 0, 0]))
    assert trailing.ids.tolist() == [4, 5], f"trailing padding should be dropped, got ids {trailing.ids.tolist()}"


# ---------------------------------------------------------------- sentence vectors in 2-D


@given(n=st.integers(3, 12), features=st.integers(3, 10), seed=seeds())
def test_project_2d_is_the_svd_projection_of_the_centred_vectors(n, features, seed):
    """PCA: centre, then take coordinates on the two leading right singular vectors (each up to sign)."""
    vectors = torch.randn(n, features, generator=torch.Generator().manual_seed(seed), dtype=F64)
    centred = vectors - vectors.mean(dim=0)
    _, _, v_transposed = torch.linalg.svd(centred, full_matrices=False)
    expected = centred @ v_transposed[:2].T
    points = project_2d(vectors)
    for k in range(2):
        sign = torch.sign((points[:, k] * expected[:, k]).sum())
        assert_close(points[:, k], sign * expected[:, k], f"component {k} is not the SVD's (up to sign)")


def test_project_2d_leaves_the_callers_random_state_alone_and_refuses_one_vector():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    project_2d(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(torch.rand(3), expected), "project_2d changed the global random state"
    with pytest.raises(ValueError, match=r"project_2d: expected \(n >= 2, features >= 2\) vectors, got \(1, 4\)"):
        project_2d(torch.zeros(1, 4))
