"""The linear-chain CRF: a tagger's output layer that scores whole tag sequences.

Chapter: walkthrough/13_tagging.md. Papers: Lafferty et al. 2001 (conditional random fields,
§3: the linear chain and its normaliser); as the output layer of a BiLSTM, Huang et al. 2015
(the BI-LSTM-CRF, §2) and Lample et al. 2016 (§2.2, CRF tagging models: s(X, y), p(y | X)).

An encoder gives each position t of a sentence x (length n) a score for each tag, the
emissions P[t, j]. An independent softmax per position can pick I-PER after B-LOC, or two
determiners in a row; a CRF adds a score for each pair of neighbouring tags and normalises over
whole sequences y = (y_1, ..., y_n) instead (Lample et al. §2.2):

    s(x, y) = start[y_1] + Σ_{t=1..n} P[t, y_t] + Σ_{t=2..n} A[y_{t-1}, y_t] + end[y_n]

    p(y | x) = exp s(x, y) / Z(x),    Z(x) = Σ_{y'} exp s(x, y')    (tags^n sequences)

The sum over every sequence factorises along the chain: the forward algorithm (in log space)

    α_1(j) = start[j] + P[1, j]
    α_t(j) = P[t, j] + log Σ_i exp(α_{t-1}(i) + A[i, j])
    log Z  = log Σ_j exp(α_n(j) + end[j])

costs n · tags² instead of tags^n. Replacing log-sum-exp by max gives Viterbi decoding: δ_t(j),
the best score of a path ending in tag j at t, with the back-pointer ψ_t(j), the previous tag
of that path; following ψ back from argmax_j δ_n(j) + end[j] gives the best sequence. Training
minimises the negative log-likelihood, -log p(y | x) = log Z(x) - s(x, y) (Lample et al.
§2.2), which is >= 0 because exp s(x, y) is one of the terms of Z(x).

Notation map: `emissions` are the papers' P (Lample) or the unary potentials; `transitions[i,
j]` is A_{i,j}, the score of tag j right after tag i; `start` and `end` are Lample's transitions
from y_0 = START and into y_{n+1} = END, kept as vectors of their own; `log_partition` is log Z
(the forward algorithm); `viterbi_lattice` gives δ and ψ, `viterbi_decode` the path.

Padding: a boolean `mask` (batch, seq), True at real tokens, right padding, every sentence at
least one real token. At a padded position the recursions carry α and δ over unchanged (and a
tag points back to itself), so a sentence's results never depend on its padding or batch-mates.

Deviations: none in the model. `nll` divides the summed -log p(y | x) by the number of real
tokens (the papers sum per sentence), so it reads on the scale of a per-token cross-entropy;
with zero transitions, start and end it *is* that cross-entropy. The scores start at zero, so
an untrained CRF is the independent softmax it refines.
"""

import torch
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.checks import expect_shape


def _check_crf_inputs(
    emissions: Tensor, mask: Tensor, transitions: Tensor, start: Tensor, end: Tensor | None = None
) -> None:
    """One clear line for a wrong shape, an empty sentence or left padding."""
    expect_shape("emissions", emissions, "batch seq tags")
    batch, seq, n_tags = emissions.shape
    expect_shape("mask", mask, "batch seq", batch=batch, seq=seq)
    expect_shape("transitions", transitions, "tags tags", tags=n_tags)
    for name, vector in (("start", start), ("end", end)):
        if vector is not None:
            expect_shape(name, vector, "tags", tags=n_tags)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected a boolean mask (True = real token), got dtype {mask.dtype}")
    if seq == 0:
        raise ValueError("emissions: expected at least one position (seq >= 1), got seq = 0")
    if not mask[:, 0].all():
        empty = (~mask[:, 0]).nonzero().flatten().tolist()
        raise ValueError(f"mask: expected every sentence to have a real token at position 0, got empty rows {empty}")
    left_padded = (mask[:, 1:] & ~mask[:, :-1]).any(dim=1)
    if left_padded.any():
        rows = left_padded.nonzero().flatten().tolist()
        raise ValueError(f"mask: expected right padding (no real token after a padded one), got rows {rows}")


def _check_tags(tags: Tensor, mask: Tensor, n_tags: int) -> Tensor:
    """The tags with padding positions set to 0 (any value may sit there); real tags in range."""
    expect_shape("tags", tags, "batch seq", batch=mask.shape[0], seq=mask.shape[1])
    real = tags[mask]
    if real.numel() and (int(real.min()) < 0 or int(real.max()) >= n_tags):
        raise ValueError(f"tags: expected tags in [0, {n_tags}) at real tokens, got values in "
                         f"[{int(real.min())}, {int(real.max())}]")
    return tags.long().masked_fill(~mask, 0)


# exercise(tagging): s(x, y) of the module docstring (Lample et al. 2016, §2.2): each sentence's
#   score of the tag sequence `tags`, start + emissions + transitions + end over its real positions
#   only (tags at padding ignored); bad inputs refused in one line.
#   hint: check the inputs with this module's two helpers first (the second also sets the tags at
#     padding to 0); gather each position's emission of its tag, look up the transition of each
#     neighbouring pair (tags[:, :-1], tags[:, 1:]), zero what falls on padding before summing;
#     the end score belongs to each sentence's last real tag, not to the last column.
#   hint: check with _check_crf_inputs(...) and tags = _check_tags(tags, mask, n_tags);
#     s(x, y) = start[y_1] + sum of emissions[t, y_t] over real positions + sum of transitions[y_{t-1},
#     y_t] for real t >= 2 + end[y_n] at each sentence's last real position n = mask.sum(1) - 1.
def sequence_score(
    emissions: Float[Tensor, "batch seq tags"],
    tags: Int[Tensor, "batch seq"],
    mask: Bool[Tensor, "batch seq"],
    transitions: Float[Tensor, "tags tags"],
    start: Float[Tensor, " tags"],
    end: Float[Tensor, " tags"],
) -> Float[Tensor, " batch"]:
    """s(x, y): the unnormalised log-score of the tag sequence `tags` for each sentence.

    `tags[b, t]` is the tag of token t; at padding (`mask` False) its value is ignored.
    """
    _check_crf_inputs(emissions, mask, transitions, start, end)
    tags = _check_tags(tags, mask, emissions.shape[-1])
    rows = torch.arange(emissions.shape[0], device=emissions.device)
    emitted = emissions.gather(-1, rearrange(tags, "batch seq -> batch seq 1"))
    emitted = rearrange(emitted, "batch seq 1 -> batch seq").masked_fill(~mask, 0.0)
    moved = transitions[tags[:, :-1], tags[:, 1:]].masked_fill(~mask[:, 1:], 0.0)  # A[y_{t-1}, y_t]
    last_tags = tags[rows, mask.sum(dim=1) - 1]
    return start[tags[:, 0]] + emitted.sum(dim=1) + moved.sum(dim=1) + end[last_tags]


# exercise(tagging): log Z(x), the log of the sum of exp s(x, y) over every tag sequence of each
#   sentence's real length, by the forward algorithm of the module docstring (in log space, n *
#   tags^2 work); bad inputs refused in one line.
#   hint: one loop over positions, all tags at once: alpha (batch, tags) plus transitions (tags,
#     tags) broadcasts to (batch, from_tag, to_tag), and a logsumexp over from_tag is one step; at
#     padding alpha must carry over unchanged, so log Z never sees the padding; end comes last.
#   hint: check with _check_crf_inputs(...); the forward algorithm in log space:
#     alpha = start + emissions[:, 0]; for each t >= 1, new(j) = emissions[:, t, j] +
#     logsumexp_i(alpha(i) + transitions[i, j]), kept only where mask[:, t] (torch.where; padding
#     carries alpha over); return logsumexp_j(alpha + end).
def log_partition(
    emissions: Float[Tensor, "batch seq tags"],
    mask: Bool[Tensor, "batch seq"],
    transitions: Float[Tensor, "tags tags"],
    start: Float[Tensor, " tags"],
    end: Float[Tensor, " tags"],
) -> Float[Tensor, " batch"]:
    """log Z(x) = log Σ_y exp s(x, y) over every tag sequence of each sentence's real length."""
    _check_crf_inputs(emissions, mask, transitions, start, end)
    alpha = start + emissions[:, 0]  # α_1(j)
    for t in range(1, emissions.shape[1]):
        # α_t(j) = P[t, j] + log Σ_i exp(α_{t-1}(i) + A[i, j])
        paths = rearrange(alpha, "batch from_tag -> batch from_tag 1") + transitions
        new_alpha = torch.logsumexp(paths, dim=1) + emissions[:, t]
        alpha = torch.where(mask[:, t, None], new_alpha, alpha)
    return torch.logsumexp(alpha + end, dim=-1)


# exercise(tagging): the Viterbi recursion of the module docstring at every position and tag:
#   delta_t(j), the best score of a path ending in tag j at t (end not added), and psi_t(j), the
#   previous tag on that path; a tag points to itself at position 0 and at padding.
#   hint: the forward algorithm with max in place of logsumexp: a max over from_tag gives the best
#     score and its argmax (the back-pointer) at once; at padding delta carries over and each tag
#     points to itself; keep every step's delta and pointers and stack them along seq.
#   hint: check with _check_crf_inputs(emissions, mask, transitions, start); delta =
#     start + emissions[:, 0] and back-pointers arange(tags) at t = 0; for t >= 1, (best, psi) =
#     max over i of delta(i) + transitions[i, j]; where mask[:, t] delta = best + emissions[:, t]
#     and pointers = psi, elsewhere delta carried over and pointers = j itself; return (deltas,
#     pointers) stacked along seq.
def viterbi_lattice(
    emissions: Float[Tensor, "batch seq tags"],
    mask: Bool[Tensor, "batch seq"],
    transitions: Float[Tensor, "tags tags"],
    start: Float[Tensor, " tags"],
) -> tuple[Float[Tensor, "batch seq tags"], Int[Tensor, "batch seq tags"]]:
    """The Viterbi recursion: δ_t(j) and ψ_t(j) at every position and tag.

    `deltas[b, t, j]` is the best score of any tag path over positions 1..t that ends in tag j
    (the end score not yet added); `pointers[b, t, j]` is the tag at t - 1 on that path. At
    position 0 (nothing before it) and at padding (the path carries over) a tag points to itself.
    """
    _check_crf_inputs(emissions, mask, transitions, start)
    n_tags = emissions.shape[-1]
    itself = torch.arange(n_tags, device=emissions.device).expand(emissions.shape[0], n_tags)
    delta = start + emissions[:, 0]  # δ_1(j)
    deltas, pointers = [delta], [itself]
    for t in range(1, emissions.shape[1]):
        # δ_t(j) = P[t, j] + max_i (δ_{t-1}(i) + A[i, j]),  ψ_t(j) = the argmax i
        paths = rearrange(delta, "batch from_tag -> batch from_tag 1") + transitions
        best, best_from = paths.max(dim=1)
        real = mask[:, t, None]
        delta = torch.where(real, best + emissions[:, t], delta)
        deltas.append(delta)
        pointers.append(torch.where(real, best_from, itself))
    return torch.stack(deltas, dim=1), torch.stack(pointers, dim=1)


# exercise(tagging): Viterbi decoding (module docstring): each sentence's best tag sequence,
#   argmax_y s(x, y), and its score s(x, y*); tags at padding are 0, ties to the lower tag index.
#   hint: viterbi_lattice gives delta and psi; delta carries over padding, so its last column holds
#     each sentence's delta_n: add end and take the best last tag; then walk back to position 0,
#     each tag read from the back-pointers of the tag after it.
#   hint: check with _check_crf_inputs(...); (deltas, pointers) from viterbi_lattice;
#     (score, last) = max_j of deltas[:, -1] + end; walk back from the last position: tag[t - 1] =
#     pointers[b, t, tag[t]]; return the tags with padding set to 0, and the score.
def viterbi_decode(
    emissions: Float[Tensor, "batch seq tags"],
    mask: Bool[Tensor, "batch seq"],
    transitions: Float[Tensor, "tags tags"],
    start: Float[Tensor, " tags"],
    end: Float[Tensor, " tags"],
) -> tuple[Int[Tensor, "batch seq"], Float[Tensor, " batch"]]:
    """The best tag sequence of each sentence, argmax_y s(x, y), and its score s(x, y*).

    Tags at padding positions are 0. Ties go to the lower tag index (`torch.max` keeps the first).
    """
    _check_crf_inputs(emissions, mask, transitions, start, end)
    deltas, pointers = viterbi_lattice(emissions, mask, transitions, start)
    rows = torch.arange(emissions.shape[0], device=emissions.device)
    # δ carries over padding, so the last column holds δ_n at each sentence's true length n.
    best_score, tag = (deltas[:, -1] + end).max(dim=-1)
    path = [tag]
    for t in range(emissions.shape[1] - 1, 0, -1):
        tag = pointers[rows, t, tag]  # y_{t-1} = ψ_t(y_t)
        path.append(tag)
    path.reverse()
    return torch.stack(path, dim=1).masked_fill(~mask, 0), best_score


def crf_nll(
    emissions: Float[Tensor, "batch seq tags"],
    tags: Int[Tensor, "batch seq"],
    mask: Bool[Tensor, "batch seq"],
    transitions: Float[Tensor, "tags tags"],
    start: Float[Tensor, " tags"],
    end: Float[Tensor, " tags"],
) -> Float[Tensor, ""]:
    """Σ_sentences (log Z(x) - s(x, y)) / (number of real tokens): -log p(y | x) per token."""
    log_z = log_partition(emissions, mask, transitions, start, end)
    score = sequence_score(emissions, tags, mask, transitions, start, end)
    return (log_z - score).sum() / mask.sum()


class LinearChainCRF(nn.Module):
    """The CRF's parameters: `transitions[i, j]` (tag i then tag j), `start[j]` and `end[j]`.

    It reads the emissions an encoder gives each position; `forward` is the training loss.
    """

    def __init__(self, n_tags: int):
        super().__init__()
        if n_tags < 1:
            raise ValueError(f"LinearChainCRF: expected n_tags >= 1, got {n_tags}")
        self.n_tags = n_tags
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))

    def score(
        self, emissions: Float[Tensor, "batch seq tags"], tags: Int[Tensor, "batch seq"], mask: Bool[Tensor, "batch seq"]
    ) -> Float[Tensor, " batch"]:
        """s(x, y) of each sentence's `tags`."""
        return sequence_score(emissions, tags, mask, self.transitions, self.start, self.end)

    def log_partition(
        self, emissions: Float[Tensor, "batch seq tags"], mask: Bool[Tensor, "batch seq"]
    ) -> Float[Tensor, " batch"]:
        """log Z(x) of each sentence, by the forward algorithm."""
        return log_partition(emissions, mask, self.transitions, self.start, self.end)

    def nll(
        self, emissions: Float[Tensor, "batch seq tags"], tags: Int[Tensor, "batch seq"], mask: Bool[Tensor, "batch seq"]
    ) -> Float[Tensor, ""]:
        """The negative log-likelihood of the gold `tags`, per real token."""
        return crf_nll(emissions, tags, mask, self.transitions, self.start, self.end)

    def decode(
        self, emissions: Float[Tensor, "batch seq tags"], mask: Bool[Tensor, "batch seq"]
    ) -> tuple[Int[Tensor, "batch seq"], Float[Tensor, " batch"]]:
        """The Viterbi tags of each sentence (0 at padding) and their scores."""
        return viterbi_decode(emissions, mask, self.transitions, self.start, self.end)

    def forward(
        self, emissions: Float[Tensor, "batch seq tags"], tags: Int[Tensor, "batch seq"], mask: Bool[Tensor, "batch seq"]
    ) -> Float[Tensor, ""]:
        """The training loss, `nll`."""
        return self.nll(emissions, tags, mask)

    def extra_repr(self) -> str:
        return f"n_tags={self.n_tags}"
