"""Sentence classification (many-to-one): chapter 12, walkthrough/12_sentence_classification.md.

Modules:
  features  bag of words and TF-IDF from their definitions, `BagOfWordsClassifier` (logistic
            regression on them), `fit_logistic_regression` (scikit-learn's objective, L-BFGS)
  textcnn   Kim 2014's TextCNN: `conv1d` as unfold + matmul, max-over-time pooling, `TextCNN`
  explain   explaining one prediction (occlusion, a LIME-style surrogate) and `project_2d` (PCA)
"""

from transformer.classification.explain import (
    Explanation,
    class_probabilities,
    keep_words,
    kernel_weights,
    lime,
    occlusion,
    project_2d,
    sample_masks,
    sentence_ids,
    weighted_ridge,
    words_by_importance,
)
from transformer.classification.features import (
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
from transformer.classification.textcnn import (
    Conv1d,
    TextCNN,
    TextCNNConfig,
    build_textcnn,
    conv1d,
    max_over_time,
    window_mask,
)

__all__ = [
    "BagOfWordsClassifier",
    "BagOfWordsConfig",
    "Conv1d",
    "Explanation",
    "TextCNN",
    "TextCNNConfig",
    "build_bag_of_words",
    "build_textcnn",
    "class_probabilities",
    "conv1d",
    "document_frequency",
    "fit_logistic_regression",
    "keep_words",
    "kernel_weights",
    "lime",
    "max_over_time",
    "occlusion",
    "pad_documents",
    "project_2d",
    "sample_masks",
    "sentence_ids",
    "smoothed_idf",
    "term_counts",
    "tf_idf",
    "weighted_ridge",
    "window_mask",
    "words_by_importance",
]
