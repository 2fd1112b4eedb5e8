"""Spec for `transformer.classification.features`: term counts, smoothed idf, TF-IDF rows, and
logistic regression on them, proven equal to scikit-learn's vectorizers and classifier.

Chapter: walkthrough/12_sentence_classification.md. Run with `pytest -m classification`.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from strategies import seeds
from threadpoolctl import threadpool_limits

from transformer.classification import (
    BagOfWordsClassifier,
    BagOfWordsConfig,
    build_bag_of_words,
    document_frequency,
    fit_logistic_regression,
    pad_documents,
    smoothed_idf,
    term_counts,
    tf_idf,
)

pytestmark = pytest.mark.classification

F64 = torch.float64
PAD = 0


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """scikit-learn's BLAS on one thread: on a small shared machine, threads only wait for each other."""
    with threadpool_limits(limits=1):
        yield


def assert_close(actual, expected, what: str, **tolerances) -> None:
    """`torch.testing.assert_close`, with the property that broke in front of its diagnostic."""
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


@st.composite
def corpora(draw, min_documents: int = 1, max_documents: int = 8, allow_empty: bool = True):
    """(vocab_size, documents): lists of ids in [1, vocab) (0 is padding), some repeated."""
    vocab_size = draw(st.integers(3, 14))
    words = st.integers(1, vocab_size - 1)
    documents = draw(st.lists(st.lists(words, min_size=0 if allow_empty else 1, max_size=9),
                              min_size=min_documents, max_size=max_documents))
    return vocab_size, documents


def as_tokens(documents):
    """Our ids as the strings scikit-learn sees: id t is the token "w<t>", column t of its vocabulary."""
    return [[f"w{i}" for i in document] for document in documents]


def sklearn_vocabulary(vocab_size: int) -> dict[str, int]:
    return {f"w{i}": i for i in range(vocab_size)}


def sklearn_tfidf(vocab_size: int, train, test=None) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's TF-IDF rows of `test` (default: `train`), idf fitted on `train`; and its idf."""
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, vocabulary=sklearn_vocabulary(vocab_size),
                                 dtype=np.float64)
    vectorizer.fit(as_tokens(train))
    rows = vectorizer.transform(as_tokens(train if test is None else test)).toarray()
    return torch.from_numpy(rows), torch.from_numpy(vectorizer.idf_)


def our_tfidf(vocab_size: int, train, test=None) -> tuple[torch.Tensor, torch.Tensor]:
    idf = smoothed_idf(document_frequency(term_counts(pad_documents(train), vocab_size, dtype=F64)), len(train))
    return tf_idf(term_counts(pad_documents(train if test is None else test), vocab_size, dtype=F64), idf), idf


# ---------------------------------------------------------------- the features


@given(corpus=corpora())
def test_term_counts_equal_count_vectorizer(corpus):
    """Column t counts the occurrences of id t: scikit-learn's bag of words, padding never counted."""
    vocab_size, documents = corpus
    expected = CountVectorizer(analyzer=lambda tokens: tokens, vocabulary=sklearn_vocabulary(vocab_size))
    expected = torch.from_numpy(expected.fit_transform(as_tokens(documents)).toarray()).to(F64)
    actual = term_counts(pad_documents(documents), vocab_size, dtype=F64)
    assert_close(actual, expected, "term counts differ from CountVectorizer's")
    assert (actual[:, PAD] == 0).all(), f"the padding column counts {actual[:, PAD].tolist()}, expected all 0"


@given(train=corpora(), data=st.data())
def test_tfidf_rows_and_idf_equal_tfidf_vectorizer(train, data):
    """Smoothed idf ln((1+n)/(1+df)) + 1, counts times idf, l2-normalised rows: TfidfVectorizer's defaults,
    the idf fitted on the training documents only."""
    vocab_size, documents = train
    test = data.draw(st.lists(st.lists(st.integers(1, vocab_size - 1), max_size=9), min_size=1, max_size=5))
    expected_rows, expected_idf = sklearn_tfidf(vocab_size, documents, test)
    rows, idf = our_tfidf(vocab_size, documents, test)
    assert_close(idf, expected_idf, "the idf differs from TfidfVectorizer's idf_")
    assert_close(rows, expected_rows, "TF-IDF rows differ from TfidfVectorizer's")


@given(corpus=corpora())
def test_tfidf_rows_are_unit_norm_and_empty_documents_stay_zero(corpus):
    """Each row is divided by its l2 norm; a document with no counted word has nothing to scale."""
    vocab_size, documents = corpus
    rows, _ = our_tfidf(vocab_size, documents)
    norms = torch.linalg.vector_norm(rows, dim=-1)
    expected = torch.tensor([1.0 if document else 0.0 for document in documents], dtype=F64)
    assert_close(norms, expected, "TF-IDF row norms are not 1 (0 for an empty document)")


@given(corpus=corpora(allow_empty=False), shared=st.integers(1, 13))
def test_a_term_in_every_document_gets_the_minimum_idf_of_one(corpus, shared):
    """df = n gives ln((1+n)/(1+n)) + 1 = 1, and no term can have a smaller idf."""
    vocab_size, documents = corpus
    shared = 1 + shared % (vocab_size - 1)
    documents = [document + [shared] for document in documents]
    _, idf = our_tfidf(vocab_size, documents)
    assert float(idf[shared]) == pytest.approx(1.0, abs=1e-12), f"idf of a term in every document is {float(idf[shared])}"
    assert float(idf.min()) >= 1.0 - 1e-12, f"an idf below the minimum 1: {float(idf.min())}"


def test_a_term_no_training_document_holds_gets_the_largest_idf():
    """Smoothing counts one imaginary document holding every term: df = 0 gives ln(1 + n) + 1, not infinity."""
    idf = smoothed_idf(torch.tensor([0.0, 1.0, 3.0], dtype=F64), 3)
    expected = torch.tensor([np.log(4) + 1, np.log(2) + 1, 1.0], dtype=F64)
    assert_close(idf, expected, "smoothed idf of df = 0, 1, 3 in 3 documents")


def test_tf_idf_weighs_counts_by_idf_then_scales_each_row_to_unit_length():
    """Counts (2, 1, 0) with idf (1, 2, 3) weigh to (2, 2, 0), of length sqrt(8); an empty row stays zero."""
    counts = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64)
    rows = tf_idf(counts, torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    expected = torch.tensor([[2 / 8**0.5, 2 / 8**0.5, 0.0], [0.0, 0.0, 0.0]], dtype=F64)
    assert_close(rows, expected, "tf_idf of counts (2, 1, 0) and (0, 0, 0) with idf (1, 2, 3)")


def test_ignored_ids_never_count():
    """Ids in `ignore` (padding, and e.g. BOS/EOS) leave their columns at zero and add to no row."""
    ids = torch.tensor([[1, 4, 4, 2, 0], [3, 1, 0, 0, 0]])
    counts = term_counts(ids, 5, ignore=(0, 1, 2), dtype=F64)
    expected = torch.tensor([[0, 0, 0, 0, 2], [0, 0, 0, 1, 0]], dtype=F64)
    assert_close(counts, expected, "ignored ids 0, 1, 2 were counted")


# ---------------------------------------------------------------- the classifier


def fitted_model(features: str, vocab_size: int, documents, seed: int = 0) -> BagOfWordsClassifier:
    torch.manual_seed(seed)
    model = BagOfWordsClassifier(vocab_size, 3, features=features).double().eval()
    model.fit_idf(documents)
    return model


@pytest.mark.parametrize("features", ["counts", "tfidf"])
@given(corpus=corpora(allow_empty=False), seed=seeds(), data=st.data())
def test_permuting_the_words_of_a_document_changes_nothing(features, corpus, seed, data):
    """A bag of words forgets order: any permutation of a sentence has the same features and logits."""
    vocab_size, documents = corpus
    model = fitted_model(features, vocab_size, documents, seed % 1000)
    document = documents[0]
    order = data.draw(st.permutations(range(len(document))))
    original, permuted = pad_documents([document]), pad_documents([[document[i] for i in order]])
    assert_close(model.sentence_vector(permuted), model.sentence_vector(original),
                 f"reordering the words by {order} changed the features")
    assert_close(model(permuted), model(original), f"reordering the words by {order} changed the logits")


@pytest.mark.parametrize("features", ["counts", "tfidf"])
@given(corpus=corpora(allow_empty=False), extra=st.integers(1, 5))
def test_padding_and_batch_mates_change_nothing(features, corpus, extra):
    """Padding is not counted, and each row's features are its own: a sentence alone, or padded
    further inside a batch, gets the same logits."""
    vocab_size, documents = corpus
    model = fitted_model(features, vocab_size, documents)
    batch = pad_documents(documents)
    padded = torch.cat([batch, torch.zeros(len(documents), extra, dtype=torch.long)], dim=1)
    alone = torch.cat([model(pad_documents([document])) for document in documents])
    assert_close(model(padded), model(batch), f"{extra} more padding columns changed the logits")
    assert_close(model(batch), alone, "a sentence's logits depend on its batch-mates")


def test_fitted_idf_is_kept_by_a_checkpoint():
    """The document frequencies are buffers: a state_dict carries them into a fresh model."""
    documents = [[1, 2, 2], [2, 3], [4]]
    model = fitted_model("tfidf", 6, documents)
    fresh = BagOfWordsClassifier(6, 3, features="tfidf").double()
    fresh.load_state_dict(model.state_dict())
    assert_close(fresh.idf, model.idf, "the restored model's idf differs")
    assert_close(fresh(pad_documents(documents)), model(pad_documents(documents)), "restored logits differ")


def test_an_unfitted_tfidf_model_and_bad_settings_are_refused_in_one_line():
    with pytest.raises(ValueError, match=r"features='tfidf' needs fit_idf\(training documents\) first"):
        BagOfWordsClassifier(6, 2)(torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match=r"expected features in \('counts', 'tfidf'\), got 'tf-idf'"):
        BagOfWordsClassifier(6, 2, features="tf-idf")
    with pytest.raises(ValueError, match=r"BagOfWordsConfig.n_classes: expected at least 2 classes, got 1"):
        BagOfWordsConfig(6, 1)
    with pytest.raises(ValueError, match=r"fit_idf: expected at least one training document, got none"):
        BagOfWordsClassifier(6, 2).fit_idf([])


def test_wrong_ids_get_one_clear_line(runtime_checks):
    """What a user sees (no test-time shape checker): the expected and the actual ids."""
    with pytest.raises(ValueError, match=r"term_counts: ids: expected token ids in \[0, 5\), got values in \[0, 7\]"):
        term_counts(torch.tensor([[7, 0]]), 5)
    with pytest.raises(TypeError, match=r"term_counts: ids: expected integer token ids \(torch.long\), got dtype torch.float32"):
        term_counts(torch.tensor([[1.0, 2.0]]), 5)
    with pytest.raises(ValueError, match=r"term_counts: ids: expected shape \(batch, seq\), got \(3,\)"):
        term_counts(torch.tensor([1, 2, 3]), 5)


def test_config_round_trips_and_builds_the_model():
    config = BagOfWordsConfig(vocab_size=9, n_classes=4, features="counts", ignore_ids=(0, 1))
    assert config.ignore_ids == (0, 1), f"ignore_ids from a JSON list should become a tuple, got {config.ignore_ids!r}"
    assert BagOfWordsConfig.from_dict(config.to_dict()) == config, "to_dict / from_dict does not round-trip"
    model = build_bag_of_words(config)
    built = (model.vocab_size, model.n_classes, model.features, model.ignore_ids)
    assert built == (9, 4, "counts", (0, 1)), (
        f"the model built from the config has (vocab_size, n_classes, features, ignore_ids) {built}, "
        "expected (9, 4, 'counts', (0, 1))")
    assert tuple(model.word_weights.shape) == (4, 9), f"word weights {tuple(model.word_weights.shape)}, expected (4, 9)"


# ---------------------------------------------------------------- trained against scikit-learn


def signal_corpus(n_documents: int, seed: int, vocab_size: int = 60, n_classes: int = 3):
    """Documents whose words carry class signal: each word comes from its class's own 8 words
    with probability 0.3, else from the whole vocabulary."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, n_classes, (n_documents,), generator=generator)
    documents = []
    for label in labels.tolist():
        length = int(torch.randint(4, 12, (), generator=generator))
        own = 1 + 8 * label + torch.randint(0, 8, (length,), generator=generator)
        anywhere = torch.randint(1, vocab_size, (length,), generator=generator)
        documents.append(torch.where(torch.rand(length, generator=generator) < 0.3, own, anywhere).tolist())
    return documents, labels


@pytest.mark.parametrize("features", ["counts", "tfidf"])
def test_trained_classifier_is_within_one_point_of_sklearn_logistic_regression(features):
    """Both minimise the same convex objective, mean cross-entropy + ||W||^2 / (2 C n), on the
    same features, so they reach the same classifier: test accuracies within 1 point."""
    vocab_size, c = 60, 1.0
    train, train_labels = signal_corpus(300, seed=1)
    test, test_labels = signal_corpus(300, seed=2)
    model = fitted_model(features, vocab_size, train)
    train_x, test_x = model.sentence_vector(pad_documents(train)), model.sentence_vector(pad_documents(test))
    fit_logistic_regression(model.output, train_x, train_labels, c=c)
    with torch.no_grad():
        ours = float((model(pad_documents(test)).argmax(dim=-1) == test_labels).double().mean())
    sklearn = LogisticRegression(C=c, max_iter=1000, tol=1e-8).fit(train_x.numpy(), train_labels.numpy())
    theirs = float((torch.from_numpy(sklearn.predict(test_x.numpy())) == test_labels).double().mean())
    assert theirs > 0.6, f"scikit-learn reaches only {theirs:.3f}: the corpus carries too little signal to compare"
    assert abs(ours - theirs) <= 0.01, f"test accuracy {ours:.3f} (ours) vs {theirs:.3f} (LogisticRegression)"
    with torch.no_grad():
        probabilities = model(pad_documents(test)).softmax(dim=-1)
    assert_close(probabilities, torch.from_numpy(sklearn.predict_proba(test_x.numpy())),
                 "predicted probabilities differ from LogisticRegression's", atol=1e-4, rtol=0)
