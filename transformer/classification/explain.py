"""Explaining one prediction: which words made a classifier choose its class.

Chapter: walkthrough/12_sentence_classification.md. Both methods treat the model as a black
box: they only run it on altered copies of the sentence, so they explain any `SequenceClassifier`.

Occlusion (leave one word out). With p(c | s) the probability of the predicted class c,

    importance_i = p(c | s) - p(c | s without word i)

A positive importance: the word pushed the model towards c; negative: away from it.

LIME-style local surrogate (Ribeiro et al. 2016, §3.3-3.4, "Why should I trust you?").
Sample binary masks z in {0, 1}^n over the n words (z_i = 0: word i dropped), as LIME's text
explainer does: the first sample keeps every word, each other one drops k words, k uniform in
1..n, chosen uniformly. Weigh each sample by its closeness to the sentence,

    pi(z) = exp(-D(z)^2 / sigma^2)                                            (exponential kernel)

with D the cosine distance between z and the all-ones mask, 1 - sqrt(|z| / n) (LIME's default,
`distance="cosine"`), or the fraction of words dropped, 1 - |z| / n (`distance="removed"`).
Then fit a weighted ridge regression g(z) = beta_0 + sum_i beta_i z_i to the model's
probabilities p(c | s masked by z), minimising sum_z pi(z) (p - g(z))^2 + alpha ||beta||^2
(the intercept not penalised); beta_i is word i's importance.

Notation map: pi -> `weights`, sigma -> `kernel_width` (LIME: 25 on distances times 100, i.e.
0.25), alpha -> `alpha` (LIME: `Ridge(alpha=1)`). Deviation: LIME uses sqrt(pi) as the sample
weight; we use pi itself, the kernel as §3.3 writes it. LIME's features are distinct words
(`bow=True`: a mask drops every occurrence) and it may keep only the top K of them; ours are
positions, and every position is kept in the fit. Dropping a word removes it (the rest
shift left), it is not replaced by padding; a sentence with every word dropped is one unknown
word, UNK (the recurrent and Transformer classifiers refuse a sentence with no token at all).

`project_2d` (PCA to two dimensions, for plotting sentence vectors) lives here too: it shows
what a model's sentence vectors separate.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from transformer.interface import SequenceClassifier
from transformer.tasks.vocab import UNK

DISTANCES = ("cosine", "removed")


@dataclass(frozen=True)
class Explanation:
    """One sentence's explanation: `importance[i]` belongs to the word `ids[i]`."""

    ids: Tensor  # the sentence's real token ids, (seq,)
    predicted: int  # the class explained (the model's choice, unless asked for another)
    probability: float  # p(predicted | the whole sentence)
    importance: Tensor  # one number per word, (seq,)
    method: str  # "occlusion" or "lime"


def sentence_ids(model: SequenceClassifier, ids: Tensor) -> Int[Tensor, " seq"]:
    """One sentence's ids on the CPU, trailing padding removed; one clear line for anything else."""
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"explain: expected one sentence's token ids, a 1-d integer tensor (seq,), got {shape}"
                         + (f" of {ids.dtype}" if isinstance(ids, Tensor) else ""))
    real = ids != model.pad_id
    length = int(real.nonzero().max()) + 1 if real.any() else 0
    if length == 0:
        raise ValueError(f"explain: expected a sentence with at least one word, got only padding ({ids.tolist()})")
    if not real[:length].all():
        raise ValueError(f"explain: expected right padding only, got the pad id {model.pad_id} inside {ids.tolist()}")
    return ids[:length].cpu()


def keep_words(ids: Int[Tensor, " seq"], keep: Bool[Tensor, "samples seq"], pad_id: int) -> Int[Tensor, "samples seq"]:
    """Row r: the words of `ids` where keep[r] is True, in order, then padding; UNK if it keeps none."""
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # kept positions first, in order
    positions = torch.arange(ids.shape[0], device=ids.device)
    rows = ids[order].masked_fill(positions >= keep.sum(dim=1, keepdim=True), pad_id)
    rows[~keep.any(dim=1), 0] = UNK
    return rows


@torch.no_grad()
def class_probabilities(
    model: SequenceClassifier, ids: Int[Tensor, "batch seq"], batch_size: int = 256
) -> Float[Tensor, "batch classes"]:
    """The model's p(class | sentence) for each row, in eval mode (no dropout), in chunks, on the CPU."""
    was_training = model.training
    device = next(model.parameters()).device
    ids = ids.to(device)
    model.eval()
    try:
        return torch.cat([model(ids[start : start + batch_size]).softmax(dim=-1).cpu()
                          for start in range(0, ids.shape[0], batch_size)])
    finally:
        model.train(was_training)


def _target(model: SequenceClassifier, ids: Tensor, target: int | None) -> tuple[int, float]:
    probabilities = class_probabilities(model, ids[None, :])[0]
    if target is None:
        target = int(probabilities.argmax())
    elif not 0 <= target < probabilities.shape[0]:
        raise ValueError(f"explain: expected a target class in [0, {probabilities.shape[0]}), got {target}")
    return target, float(probabilities[target])


# exercise(classification): occlusion, the module docstring's importance_i = p(c | s) - p(c | s
#   without word i) for every word i, c the target class (the model's choice unless one is given);
#   return an Explanation of method "occlusion".
#   hint: clean the sentence and find (target, its probability) with this module's helpers first;
#     the n sentences with one word left out are one batch: a keep mask that is True everywhere but
#     at one word per row (an identity matrix, negated), and one call for their probabilities.
#   hint: ids = sentence_ids(model, ids) and (target, probability) = _target(...)
#     first; then one row per word with that word left out (keep_words with a mask whose diagonal is
#     False), the target class's probability of each row (class_probabilities), and importance = the
#     probability with every word minus the probability without word i; return an Explanation.
def occlusion(model: SequenceClassifier, ids: Int[Tensor, " seq"], target: int | None = None) -> Explanation:
    """Leave each word out in turn; its importance is how much the class's probability drops."""
    ids = sentence_ids(model, ids)
    target, probability = _target(model, ids, target)
    n = ids.shape[0]
    without_one = keep_words(ids, ~torch.eye(n, dtype=torch.bool), model.pad_id)
    dropped = class_probabilities(model, without_one)[:, target]
    return Explanation(ids, target, probability, probability - dropped, "occlusion")


def sample_masks(n_words: int, n_samples: int, generator: torch.Generator) -> Bool[Tensor, "samples seq"]:
    """LIME's text samples: row 0 keeps every word; each other row drops k ~ U{1..n} random words."""
    n_dropped = torch.randint(1, n_words + 1, (n_samples, 1), generator=generator)
    n_dropped[0] = 0
    ranks = torch.rand(n_samples, n_words, generator=generator).argsort(dim=1).argsort(dim=1)
    return ranks >= n_dropped


def kernel_weights(keep: Bool[Tensor, "samples seq"], kernel_width: float, distance: str) -> Float[Tensor, " samples"]:
    """pi(z) = exp(-D(z)^2 / sigma^2): 1 for the whole sentence, smaller the more words are gone."""
    kept_fraction = keep.double().mean(dim=1)
    gap = 1 - kept_fraction.sqrt() if distance == "cosine" else 1 - kept_fraction
    return torch.exp(-gap.pow(2) / kernel_width**2)


# exercise(classification): the weighted ridge regression of LIME's fit (module docstring): beta and
#   beta_0 minimising sum_s w_s (y_s - beta_0 - x_s . beta)^2 + alpha ||beta||^2, the intercept
#   beta_0 not penalised; return (beta, beta_0).
#   hint: an unpenalised intercept can be taken out first: centred by their weighted means, x and y
#     need none; setting the gradient of the objective in beta to zero then gives one linear system
#     (solve it, do not invert); the intercept makes the fit pass through the weighted means.
#   hint: weighted ridge with an unpenalised intercept: centre x and y by their
#     weighted means, solve (xc^T W xc + alpha I) beta = xc^T W yc (torch.linalg.solve), then
#     intercept = mean_y - mean_x . beta; return (beta, intercept).
def weighted_ridge(
    x: Float[Tensor, "samples features"], y: Float[Tensor, " samples"], weights: Float[Tensor, " samples"], alpha: float
) -> tuple[Float[Tensor, " features"], Float[Tensor, ""]]:
    """The beta, beta_0 minimising sum_s w_s (y_s - beta_0 - x_s . beta)^2 + alpha ||beta||^2."""
    w = weights / weights.sum()
    mean_x, mean_y = w @ x, w @ y
    centred_x, centred_y = x - mean_x, y - mean_y
    gram = centred_x.T @ (weights[:, None] * centred_x) + alpha * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    beta = torch.linalg.solve(gram, centred_x.T @ (weights * centred_y))
    return beta, mean_y - mean_x @ beta


def lime(
    model: SequenceClassifier,
    ids: Int[Tensor, " seq"],
    target: int | None = None,
    n_samples: int = 500,
    seed: int = 0,
    kernel_width: float = 0.25,
    distance: str = "cosine",
    alpha: float = 1.0,
) -> Explanation:
    """Fit a weighted linear model of the class's probability on which words are kept.

    The same `seed` gives the same samples, hence the same explanation.
    """
    if distance not in DISTANCES:
        raise ValueError(f"lime: expected distance in {DISTANCES}, got {distance!r}")
    if n_samples < 2 or kernel_width <= 0 or alpha < 0:
        raise ValueError(f"lime: expected n_samples >= 2, kernel_width > 0, alpha >= 0, "
                         f"got {n_samples}, {kernel_width}, {alpha}")
    ids = sentence_ids(model, ids)
    target, probability = _target(model, ids, target)
    keep = sample_masks(ids.shape[0], n_samples, torch.Generator().manual_seed(seed))
    probabilities = class_probabilities(model, keep_words(ids, keep, model.pad_id))[:, target].double()
    beta, _ = weighted_ridge(keep.double(), probabilities, kernel_weights(keep, kernel_width, distance), alpha)
    return Explanation(ids, target, probability, beta, "lime")


def project_2d(vectors: Float[Tensor, "n features"]) -> Float[Tensor, "n 2"]:
    """Each vector's coordinates on the first two principal components of the (centred) set, on the CPU.

    `torch.pca_lowrank` with q = min(n, features, 12) and 4 power iterations: exact when
    min(n, features) <= 12, a close randomized approximation beyond. Its random draws use a
    fixed seed on a forked generator (the caller's random state is untouched), and each
    component's sign is fixed (its largest-magnitude coordinate positive), so a plot repeats.
    """
    if not isinstance(vectors, Tensor) or vectors.dim() != 2 or vectors.shape[0] < 2 or vectors.shape[1] < 2:
        shape = tuple(vectors.shape) if isinstance(vectors, Tensor) else type(vectors).__name__
        raise ValueError(f"project_2d: expected (n >= 2, features >= 2) vectors, got {shape}")
    vectors = vectors.detach().cpu()  # CPU: for a plot, and so the forked generator is the one used
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, _, components = torch.pca_lowrank(vectors, q=min(*vectors.shape, 12), center=True, niter=4)
    components = components[:, :2]
    largest = components.abs().argmax(dim=0)
    components = components * components[largest, torch.arange(2)].sign()
    return (vectors - vectors.mean(dim=0)) @ components


def words_by_importance(explanation: Explanation) -> list[int]:
    """Positions of the sentence's words, most important first."""
    return torch.argsort(explanation.importance, descending=True).tolist()

