"""Bag of words and TF-IDF: a sentence as a vector of word counts, and a linear classifier on it.

Chapter: walkthrough/12_sentence_classification.md. The practitioner's first model for text
classification: forget word order, count the words, weigh each count by how rare the word is
across the training documents, and fit a (multinomial) logistic regression on the result.

    tf(t, d)  = number of times term t occurs in document d                       (term counts)
    df(t)     = number of training documents that contain t                    (document frequency)
    idf(t)    = ln((1 + n) / (1 + df(t))) + 1                                 (smoothed idf, n documents)
    x(d)      = tf(., d) * idf / || tf(., d) * idf ||_2                            (a TF-IDF row)
    p(c | d)  = softmax(W x(d) + b)_c                                    (logistic regression)

These are scikit-learn's defaults exactly (`CountVectorizer`, then `TfidfVectorizer` with
`smooth_idf=True, sublinear_tf=False, norm="l2"`), so the spec proves our rows equal theirs.
Smoothing acts as if one extra document held every term once: no idf is infinite, a term of
the vocabulary that no training document holds gets the largest idf, ln(1 + n) + 1, and a term
in every document the smallest, 1 (it still counts, unlike the unsmoothed ln(n / df)). A row
with no counted term stays all zero (scikit-learn's `normalize` leaves it so).

Notation map: tf -> `term_counts`, df -> `document_frequency`, n -> `n_documents`,
W, b -> `BagOfWordsClassifier.output` (one `nn.Linear(vocab, classes)`).
Terms are token ids: column t of a row counts id t. Padding (id 0) never counts, nor any id in
`ignore_ids`; their columns stay zero. `fit_logistic_regression` minimises scikit-learn's
objective, C * sum_i CE_i + ||W||^2 / 2 (the bias not penalised), by full-batch L-BFGS.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from transformer.checks import expect_ids, expect_shape
from transformer.configs import check_fields, from_dict
from transformer.interface import SequenceClassifier

FEATURES = ("counts", "tfidf")


# exercise(classification): the term counts tf(t, d) of the module docstring: counts[b, t] = how many
#   times id t occurs in row b of ids, ids in `ignore` (padding) never counted; a (batch, vocab_size)
#   tensor of `dtype`, with one clear line for ids of the wrong shape or out of range.
#   hint: check ids first (a (batch, seq) tensor of ids below vocab_size); then start from a table
#     of zeros and add 1 at (b, ids[b, i]) for every counted position, all at once with one scatter
#     along the vocab axis (no Python loop); torch.isin tells which positions hold an ignored id.
#   hint: check ids with expect_shape and expect_ids (named "term_counts: ids"), then scatter_add_ a
#     1 into column ids[b, i] of row b for every position whose id is not in `ignore` (torch.isin),
#     so a (batch, vocab) zeros tensor of `dtype` becomes the term counts.
def term_counts(
    ids: Int[Tensor, "batch seq"], vocab_size: int, ignore: Sequence[int] = (0,), dtype: torch.dtype | None = None
) -> Float[Tensor, "batch vocab"]:
    """`counts[b, t]`: how many times id t occurs in document b, ids in `ignore` (padding) left out."""
    expect_shape("term_counts: ids", ids, "batch seq")
    expect_ids("term_counts: ids", ids, vocab_size)
    counted = ~torch.isin(ids, torch.tensor(list(ignore), dtype=ids.dtype, device=ids.device))
    counts = torch.zeros(ids.shape[0], vocab_size, dtype=dtype, device=ids.device)
    return counts.scatter_add_(1, ids, counted.to(counts.dtype))


def document_frequency(counts: Float[Tensor, "documents vocab"]) -> Float[Tensor, " vocab"]:
    """`df[t]`: how many documents hold term t at least once (however often they repeat it)."""
    return (counts > 0).sum(dim=0).to(counts.dtype)


# exercise(classification): scikit-learn's smoothed inverse document frequency, the idf(t) line of
#   the module docstring, for every term at once (n_documents is a number or a 0-d tensor).
#   hint: smoothing counts one extra document that holds every term once, so 1 is added to both n
#     and df before their ratio; take its natural log and add 1, so that a term in every document
#     gets exactly 1 and no term gets an infinite idf.
#   hint: scikit-learn's smoothed idf: ln((1 + n) / (1 + df)) + 1, elementwise (n_documents is a
#     number or a 0-d tensor; return a tensor of df's dtype).
def smoothed_idf(document_frequency: Float[Tensor, " vocab"], n_documents: int | Tensor) -> Float[Tensor, " vocab"]:
    """Inverse document frequency: large for rare terms, exactly 1 for a term in every document."""
    return torch.log((1 + n_documents) / (1 + document_frequency)) + 1


# exercise(classification): the TF-IDF rows x(d) of the module docstring: each count weighed by its
#   term's idf, then each row scaled to unit l2 length; a row with no counted term stays all zero.
#   hint: idf has one entry per term, so it multiplies every row by broadcasting; the norm is taken
#     over the vocab axis (keep that axis to divide by it); an all-zero row has norm 0, and 0 / 0
#     is NaN: keep the divisor away from 0.
#   hint: weigh each count by its term's idf (broadcast over the rows), then divide each row by its
#     l2 norm; a row whose norm is 0 stays all zero (divide by norm.clamp_min(tiny) or use
#     torch.where).
def tf_idf(counts: Float[Tensor, "batch vocab"], idf: Float[Tensor, " vocab"]) -> Float[Tensor, "batch vocab"]:
    """TF-IDF rows: counts times idf, scaled to unit length (all-zero rows stay zero)."""
    weighted = counts * idf
    norm = torch.linalg.vector_norm(weighted, dim=-1, keepdim=True)
    return weighted / norm.clamp_min(torch.finfo(weighted.dtype).tiny)


def pad_documents(documents: Sequence[Sequence[int]], pad_id: int = 0) -> Int[Tensor, "batch seq"]:
    """Lists of ids as one right-padded (batch, longest) tensor (an empty document: all padding)."""
    longest = max((len(document) for document in documents), default=0)
    padded = torch.full((len(documents), max(longest, 1)), pad_id, dtype=torch.long)
    for row, document in enumerate(documents):
        padded[row, : len(document)] = torch.as_tensor(list(document), dtype=torch.long)
    return padded


class BagOfWordsClassifier(SequenceClassifier):
    """Word counts (or TF-IDF) -> one linear layer -> class logits: logistic regression on words.

    `features="tfidf"` needs `fit_idf(training documents)` first; the document frequencies and
    the number of documents it counted are buffers, so `state_dict` (a checkpoint) keeps them.
    """

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        features: str = "tfidf",
        pad_id: int = 0,
        ignore_ids: Sequence[int] | None = None,
    ):
        super().__init__()
        if features not in FEATURES:
            raise ValueError(f"BagOfWordsClassifier: expected features in {FEATURES}, got {features!r}")
        self.vocab_size, self.n_classes, self.features, self.pad_id = vocab_size, n_classes, features, pad_id
        self.ignore_ids = tuple(ignore_ids) if ignore_ids is not None else (pad_id,)
        self.output = nn.Linear(vocab_size, n_classes)
        self.register_buffer("document_frequency", torch.zeros(vocab_size))
        self.register_buffer("n_documents", torch.zeros((), dtype=torch.long))

    @property
    def idf(self) -> Float[Tensor, " vocab"]:
        """The smoothed idf of every id, from the documents `fit_idf` counted."""
        return smoothed_idf(self.document_frequency, self.n_documents)

    @property
    def word_weights(self) -> Float[Tensor, "classes vocab"]:
        """`word_weights[c, t]`: how much one unit of feature t adds to class c's logit."""
        return self.output.weight

    @torch.no_grad()
    def fit_idf(self, documents: Sequence[Sequence[int]], chunk_size: int = 512) -> None:
        """Count, over the training documents (lists of ids), how many documents hold each id."""
        if len(documents) == 0:
            raise ValueError("BagOfWordsClassifier.fit_idf: expected at least one training document, got none")
        frequency = torch.zeros_like(self.document_frequency)
        for start in range(0, len(documents), chunk_size):
            ids = pad_documents(documents[start : start + chunk_size], self.pad_id).to(frequency.device)
            frequency += document_frequency(term_counts(ids, self.vocab_size, self.ignore_ids, frequency.dtype))
        self.document_frequency.copy_(frequency)
        self.n_documents.fill_(len(documents))

    def sentence_vector(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch vocab"]:
        """The sentence's feature row: its term counts, or its TF-IDF row."""
        counts = term_counts(ids, self.vocab_size, self.ignore_ids, self.output.weight.dtype)
        if self.features == "counts":
            return counts
        if int(self.n_documents) == 0:
            raise ValueError("BagOfWordsClassifier: features='tfidf' needs fit_idf(training documents) first, "
                             "got a model with no document counted")
        return tf_idf(counts, self.idf)

    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch classes"]:
        return self.output(self.sentence_vector(ids))


def fit_logistic_regression(
    linear: nn.Linear,
    features: Float[Tensor, "batch features"],
    labels: Int[Tensor, " batch"],
    c: float = 1.0,
    max_iter: int = 200,
) -> float:
    """Fit `linear` as scikit-learn's `LogisticRegression(C=c)` would (multinomial, lbfgs).

    The objective C * sum_i CE_i + ||W||^2 / 2 divided by C n: the mean cross-entropy plus
    ||W||^2 / (2 C n), the bias not penalised. Convex, so full-batch L-BFGS finds the same
    minimum scikit-learn's solver does. Returns the final objective.
    """
    expect_shape("fit_logistic_regression: features", features, "batch features", features=linear.in_features)
    expect_shape("fit_logistic_regression: labels", labels, "batch", batch=features.shape[0])
    if c <= 0:
        raise ValueError(f"fit_logistic_regression: expected C > 0, got {c}")
    penalty = 1.0 / (2 * c * features.shape[0])
    optimiser = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                                  tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def objective() -> Tensor:
        optimiser.zero_grad()
        loss = F.cross_entropy(linear(features), labels) + penalty * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(objective)
    with torch.no_grad():
        return float(F.cross_entropy(linear(features), labels) + penalty * linear.weight.pow(2).sum())


@dataclass(frozen=True)
class BagOfWordsConfig:
    """Every number the bag-of-words factory needs."""

    vocab_size: int
    n_classes: int
    features: str = "tfidf"  # counts | tfidf
    pad_id: int = 0
    ignore_ids: tuple[int, ...] | None = None  # ids that never count; None: (pad_id,)

    def __post_init__(self):
        name = type(self).__name__
        check_fields(self)
        for field in ("vocab_size", "n_classes"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}.{field}: expected a positive integer, got {value!r}")
        if self.n_classes < 2:
            raise ValueError(f"{name}.n_classes: expected at least 2 classes, got {self.n_classes}")
        if self.features not in FEATURES:
            raise ValueError(f"{name}.features: expected one of {list(FEATURES)}, got {self.features!r}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"{name}.pad_id: expected an id in [0, {self.vocab_size}), got {self.pad_id}")
        if self.ignore_ids is not None:
            object.__setattr__(self, "ignore_ids", tuple(int(i) for i in self.ignore_ids))  # JSON gives a list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "BagOfWordsConfig":
        return from_dict(cls, values)


def build_bag_of_words(config: BagOfWordsConfig) -> BagOfWordsClassifier:
    """The model factory. A TF-IDF model still needs `fit_idf(training documents)` before use."""
    return BagOfWordsClassifier(**config.to_dict())
