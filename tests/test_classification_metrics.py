"""Spec for the class metrics of `transformer.metrics`: accuracy, per-class precision, recall
and F1, their macro means and the confusion matrix, proven equal to `sklearn.metrics`.

Chapter: walkthrough/12_sentence_classification.md. Run with `pytest -m classification`.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as sk

from transformer.metrics import classification_report, confusion_matrix

pytestmark = pytest.mark.classification


@st.composite
def predictions(draw):
    """(predicted, actual, n_classes): labels in [0, n_classes), some classes possibly never
    predicted or never present, so precision's and recall's 0/0 cases are reached."""
    n_classes = draw(st.integers(2, 5))
    n = draw(st.integers(1, 30))
    labels = st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)
    return draw(labels), draw(labels), n_classes


@given(case=predictions())
def test_confusion_matrix_equals_sklearn(case):
    """matrix[actual][predicted] counts items, as sklearn's confusion_matrix(y_true, y_pred)."""
    predicted, actual, n_classes = case
    ours = confusion_matrix(predicted, actual, n_classes)
    theirs = sk.confusion_matrix(actual, predicted, labels=list(range(n_classes))).tolist()
    assert ours == theirs, f"confusion matrix {ours}, sklearn {theirs}"


@given(case=predictions())
def test_accuracy_and_per_class_scores_equal_sklearn_with_zero_division_0(case):
    """Precision TP/(TP+FP), recall TP/(TP+FN), F1 their harmonic mean, each 0 when it divides by 0."""
    predicted, actual, n_classes = case
    report = classification_report(predicted, actual, n_classes)
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(actual, predicted)), "accuracy differs from sklearn's"
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        actual, predicted, labels=list(range(n_classes)), zero_division=0)
    for c, scores in enumerate(report["per_class"]):
        theirs = {"precision": precision[c], "recall": recall[c], "f1": f1[c], "support": support[c]}
        for name, value in theirs.items():
            assert scores[name] == pytest.approx(float(value)), f"class {c} {name}: ours {scores[name]}, sklearn {value}"


@given(case=predictions())
def test_macro_means_equal_sklearn(case):
    """The macro mean is the unweighted mean over the classes, absent classes included (as 0)."""
    predicted, actual, n_classes = case
    report = classification_report(predicted, actual, n_classes)
    labels = list(range(n_classes))
    for name, function in (("macro_precision", sk.precision_score), ("macro_recall", sk.recall_score),
                           ("macro_f1", sk.f1_score)):
        theirs = function(actual, predicted, labels=labels, average="macro", zero_division=0)
        assert report[name] == pytest.approx(theirs), f"{name}: ours {report[name]}, sklearn {theirs}"


def test_a_label_outside_the_classes_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"confusion_matrix: expected classes in \[0, 2\), got predicted 2, actual 0"):
        confusion_matrix([2], [0], 2)
