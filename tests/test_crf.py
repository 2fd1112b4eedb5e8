"""Spec for the linear-chain CRF (chapter 13): the forward algorithm and Viterbi against brute force
over every tag sequence, the NLL against cross-entropy, padding that never leaks, gradcheck."""

import itertools
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import lengths, seeds

from transformer.tagging.crf import (
    LinearChainCRF,
    crf_nll,
    log_partition,
    sequence_score,
    viterbi_decode,
    viterbi_lattice,
)

pytestmark = pytest.mark.tagging


@dataclass
class Problem:
    """A padded batch of emissions with CRF parameters, float64, and random gold tags."""

    emissions: torch.Tensor  # (batch, seq, tags)
    mask: torch.Tensor  # (batch, seq)
    transitions: torch.Tensor  # (tags, tags)
    start: torch.Tensor
    end: torch.Tensor
    tags: torch.Tensor  # (batch, seq), 0 at padding

    @property
    def params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.transitions, self.start, self.end

    @property
    def lengths(self) -> list[int]:
        return self.mask.sum(dim=1).tolist()


@st.composite
def problems(draw, max_len: int = 4, max_tags: int = 4, max_batch: int = 3) -> Problem:
    """Small enough to enumerate all tags^length sequences; garbage emissions at padding."""
    batch = draw(st.integers(1, max_batch))
    seq = draw(st.integers(1, max_len))
    n_tags = draw(st.integers(1, max_tags))
    true_lengths = draw(lengths(batch, seq))
    generator = torch.Generator().manual_seed(draw(seeds()))
    mask = torch.arange(seq)[None, :] < true_lengths[:, None]

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    emissions = torch.where(mask[..., None], randn(batch, seq, n_tags), 100 * randn(batch, seq, n_tags))
    tags = torch.randint(0, n_tags, (batch, seq), generator=generator).masked_fill(~mask, 0)
    return Problem(emissions, mask, randn(n_tags, n_tags), randn(n_tags), randn(n_tags), tags)


def all_sequences(length: int, n_tags: int) -> torch.Tensor:
    """Every tag sequence of this length, (n_tags ** length, length)."""
    return torch.tensor(list(itertools.product(range(n_tags), repeat=length)), dtype=torch.long)


def brute_force_scores(emissions, transitions, start, end, sequences) -> torch.Tensor:
    """s(x, y) of each row of `sequences`, straight from the definition, for one unpadded sentence."""
    length = sequences.shape[1]
    score = start[sequences[:, 0]] + end[sequences[:, -1]]
    score = score + emissions[torch.arange(length), sequences].sum(dim=1)
    return score + transitions[sequences[:, :-1], sequences[:, 1:]].sum(dim=1)


def enumerate_sentence(problem: Problem, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(every tag sequence of sentence b's real length, its brute-force score)."""
    n = problem.lengths[b]
    sequences = all_sequences(n, problem.emissions.shape[-1])
    return sequences, brute_force_scores(problem.emissions[b, :n], *problem.params, sequences)


@given(problem=problems())
def test_sequence_score_is_the_sum_of_start_emissions_transitions_and_end(problem):
    """s(x, y) = start[y_1] + Σ P[t, y_t] + Σ A[y_{t-1}, y_t] + end[y_n], over real positions only."""
    actual = sequence_score(problem.emissions, problem.tags, problem.mask, *problem.params)
    for b, n in enumerate(problem.lengths):
        tags = problem.tags[b : b + 1, :n]
        expected = brute_force_scores(problem.emissions[b, :n], *problem.params, tags)[0]
        torch.testing.assert_close(actual[b], expected, msg=lambda m, b=b: f"sentence {b}: s(x, y) is off the definition. {m}")


@given(problem=problems())
def test_log_partition_equals_log_sum_exp_over_every_tag_sequence(problem):
    """The forward algorithm sums exp s(x, y) over all tags^n sequences in n * tags^2 steps."""
    log_z = log_partition(problem.emissions, problem.mask, *problem.params)
    for b in range(len(problem.lengths)):
        _, scores = enumerate_sentence(problem, b)
        expected = torch.logsumexp(scores, dim=0)
        torch.testing.assert_close(
            log_z[b], expected,
            msg=lambda m, b=b: f"sentence {b}: log Z differs from brute force by {float(log_z[b] - expected):.3g}. {m}")


@given(problem=problems())
def test_viterbi_returns_the_best_enumerated_sequence_and_its_score(problem):
    """Max-product on the chain finds argmax_y s(x, y) without trying every y."""
    path, best = viterbi_decode(problem.emissions, problem.mask, *problem.params)
    for b, n in enumerate(problem.lengths):
        sequences, scores = enumerate_sentence(problem, b)
        winner = int(scores.argmax())
        assert path[b, :n].tolist() == sequences[winner].tolist(), (
            f"sentence {b}: Viterbi gave {path[b, :n].tolist()} (score {float(best[b]):.4f}), brute force "
            f"{sequences[winner].tolist()} (score {float(scores[winner]):.4f})")
        torch.testing.assert_close(best[b], scores[winner], msg=lambda m, b=b: f"sentence {b}: Viterbi score. {m}")
        assert (path[b, n:] == 0).all(), f"sentence {b}: tags at padding are {path[b, n:].tolist()}, expected 0"


@given(problem=problems())
def test_viterbi_score_is_the_sequence_score_of_its_path(problem):
    """The score Viterbi reports is s(x, y*) of the path it returns, not a by-product of the recursion."""
    path, best = viterbi_decode(problem.emissions, problem.mask, *problem.params)
    rescored = sequence_score(problem.emissions, path, problem.mask, *problem.params)
    torch.testing.assert_close(best, rescored, msg=lambda m: f"Viterbi's score is not s(x, path). {m}")


@given(problem=problems())
def test_sequence_probabilities_over_all_sequences_sum_to_one(problem):
    """p(y | x) = exp(s(x, y) - log Z(x)) is a distribution over the tags^n sequences."""
    log_z = log_partition(problem.emissions, problem.mask, *problem.params)
    for b, n in enumerate(problem.lengths):
        sequences = all_sequences(n, problem.emissions.shape[-1])
        count = len(sequences)
        emissions = problem.emissions[b : b + 1, :n].expand(count, n, -1)
        scores = sequence_score(emissions, sequences, torch.ones(count, n, dtype=torch.bool), *problem.params)
        total = torch.exp(scores - log_z[b]).sum()
        torch.testing.assert_close(total, torch.ones((), dtype=torch.float64),
                                   msg=lambda m, b=b: f"sentence {b}: probabilities sum to {float(total):.6f}. {m}")


@given(problem=problems())
def test_gradient_of_log_z_is_each_tags_marginal_probability(problem):
    """d log Z / d P[t, j] = p(y_t = j | x): it sums to 1 over tags at a real position, 0 at padding."""
    emissions = problem.emissions.clone().requires_grad_(True)
    log_partition(emissions, problem.mask, *problem.params).sum().backward()
    for b, n in enumerate(problem.lengths):
        sequences, scores = enumerate_sentence(problem, b)
        probability = torch.softmax(scores, dim=0)
        marginals = torch.stack([torch.stack([probability[sequences[:, t] == j].sum()
                                              for j in range(emissions.shape[-1])]) for t in range(n)])
        torch.testing.assert_close(emissions.grad[b, :n], marginals,
                                   msg=lambda m, b=b: f"sentence {b}: gradient is not the brute-force marginal. {m}")
        assert (emissions.grad[b, n:] == 0).all(), f"sentence {b}: padding emissions got a gradient"


@given(problem=problems())
def test_nll_is_non_negative(problem):
    """log Z >= s(x, y) since exp s(x, y) is one of the terms of Z: -log p(y | x) >= 0."""
    nll = crf_nll(problem.emissions, problem.tags, problem.mask, *problem.params)
    # With one tag there is one sequence and log Z = s(x, y): 0 up to float64 rounding (~1e-16).
    assert float(nll) >= -1e-12, f"NLL = {float(nll):.6g} < 0"


@given(problem=problems(max_len=6, max_tags=5, max_batch=4))
def test_nll_with_zero_transitions_start_and_end_is_token_cross_entropy(problem):
    """Without pair scores Z factorises per position, so the CRF is an independent softmax per token."""
    zeros = torch.zeros_like(problem.start)
    nll = crf_nll(problem.emissions, problem.tags, problem.mask, torch.zeros_like(problem.transitions), zeros, zeros)
    expected = F.cross_entropy(problem.emissions[problem.mask], problem.tags[problem.mask])
    torch.testing.assert_close(nll, expected, msg=lambda m: f"NLL {float(nll):.6f} != cross-entropy {float(expected):.6f}. {m}")


@given(problem=problems(max_len=6, max_tags=5, max_batch=4))
def test_a_sentence_results_do_not_depend_on_its_padding_or_batch_mates(problem):
    """Each sentence run alone, trimmed to its real length, gives the same log Z, score and path."""
    log_z = log_partition(problem.emissions, problem.mask, *problem.params)
    score = sequence_score(problem.emissions, problem.tags, problem.mask, *problem.params)
    path, best = viterbi_decode(problem.emissions, problem.mask, *problem.params)
    for b, n in enumerate(problem.lengths):
        alone = problem.emissions[b : b + 1, :n], torch.ones(1, n, dtype=torch.bool)
        torch.testing.assert_close(log_z[b : b + 1], log_partition(*alone, *problem.params),
                                   msg=lambda m, b=b: f"sentence {b}: log Z depends on padding. {m}")
        torch.testing.assert_close(score[b : b + 1], sequence_score(alone[0], problem.tags[b : b + 1, :n], alone[1],
                                                                    *problem.params),
                                   msg=lambda m, b=b: f"sentence {b}: s(x, y) depends on padding. {m}")
        alone_path, alone_best = viterbi_decode(*alone, *problem.params)
        assert path[b, :n].tolist() == alone_path[0].tolist(), f"sentence {b}: Viterbi path depends on padding"
        torch.testing.assert_close(best[b : b + 1], alone_best, msg=lambda m, b=b: f"sentence {b}: Viterbi score. {m}")


@given(problem=problems())
def test_tags_at_padding_are_ignored(problem):
    """Whatever sits in `tags` past a sentence's end (here -100, the usual ignore index), the score is the same."""
    junk = problem.tags.masked_fill(~problem.mask, -100)
    torch.testing.assert_close(sequence_score(problem.emissions, junk, problem.mask, *problem.params),
                               sequence_score(problem.emissions, problem.tags, problem.mask, *problem.params),
                               msg=lambda m: f"tags at padding changed the score. {m}")


@given(problem=problems())
def test_viterbi_lattice_pointers_lead_along_the_decoded_path(problem):
    """Following ψ back from the decoded last tag retraces the decoded path; padding points to itself."""
    deltas, pointers = viterbi_lattice(problem.emissions, problem.mask, problem.transitions, problem.start)
    path, best = viterbi_decode(problem.emissions, problem.mask, *problem.params)
    for b, n in enumerate(problem.lengths):
        for t in range(n - 1, 0, -1):
            assert int(pointers[b, t, path[b, t]]) == int(path[b, t - 1]), f"sentence {b}: ψ_{t} leaves the path"
        assert (pointers[b, n:] == torch.arange(deltas.shape[-1])).all(), f"sentence {b}: padding moves the path"
        torch.testing.assert_close(best[b], (deltas[b, n - 1] + problem.end).max(),
                                   msg=lambda m, b=b: f"sentence {b}: best score is not max_j δ_n(j) + end[j]. {m}")


def test_forward_algorithm_passes_gradcheck():
    """Autograd through the logsumexp recursion matches finite differences for every parameter."""
    generator = torch.Generator().manual_seed(3)
    emissions = torch.randn(3, 4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    mask = torch.arange(4)[None, :] < torch.tensor([4, 2, 1])[:, None]
    transitions, start, end = (torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)
                               for shape in ((3, 3), (3,), (3,)))
    assert torch.autograd.gradcheck(lambda e, a, s, f: log_partition(e, mask, a, s, f), (emissions, transitions, start, end)), (
        "the forward algorithm's gradient differs from finite differences")


def test_module_holds_zero_scores_and_calls_the_functions():
    """An untrained CRF starts as the independent softmax (zero transitions); its methods are the functions."""
    crf = LinearChainCRF(3).double()
    shapes = tuple(tuple(p.shape) for p in (crf.transitions, crf.start, crf.end))
    assert shapes == ((3, 3), (3,), (3,)), (
        f"transitions, start, end have shapes {shapes}, expected ((3, 3), (3,), (3,))")
    assert all((p == 0).all() for p in crf.parameters()), "a new CRF should hold zero scores"
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emissions = torch.randn(2, 3, 3, dtype=torch.float64)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    tags = torch.tensor([[0, 2, 1], [1, 1, 0]])
    params = crf.transitions, crf.start, crf.end
    torch.testing.assert_close(crf(emissions, tags, mask), crf_nll(emissions, tags, mask, *params),
                               msg=lambda m: f"crf(...) differs from crf_nll with the module's scores: {m}")
    torch.testing.assert_close(crf.score(emissions, tags, mask), sequence_score(emissions, tags, mask, *params),
                               msg=lambda m: f"crf.score differs from sequence_score with the module's scores: {m}")
    torch.testing.assert_close(crf.log_partition(emissions, mask), log_partition(emissions, mask, *params),
                               msg=lambda m: f"crf.log_partition differs from log_partition with its scores: {m}")
    decoded, expected = crf.decode(emissions, mask), viterbi_decode(emissions, mask, *params)
    assert torch.equal(decoded[0], expected[0]), "decode differs from viterbi_decode"
    crf.nll(emissions, tags, mask).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in crf.parameters()), "a CRF parameter got no gradient"


def test_bad_input_is_refused_in_one_line(runtime_checks):
    """A wrong tag count, an empty sentence, left padding or an out-of-range tag says what was expected."""
    crf = LinearChainCRF(3)
    emissions, mask = torch.randn(2, 3, 3), torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"transitions: expected shape \(tags=4, tags=4\), got \(3, 3\)"):
        crf.log_partition(torch.randn(2, 3, 4), mask)
    with pytest.raises(ValueError, match=r"real token at position 0, got empty rows \[1\]"):
        crf.log_partition(emissions, torch.tensor([[True, True, False], [False, False, False]]))
    with pytest.raises(ValueError, match=r"expected right padding .*got rows \[0\]"):
        crf.decode(emissions, torch.tensor([[True, False, True], [True, True, True]]))
    with pytest.raises(ValueError, match=r"tags: expected tags in \[0, 3\) at real tokens, got values in \[0, 5\]"):
        crf.nll(emissions, torch.tensor([[0, 1, 5], [0, 0, 0]]), mask)
    with pytest.raises(ValueError, match=r"LinearChainCRF: expected n_tags >= 1, got 0"):
        LinearChainCRF(0)
