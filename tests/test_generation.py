"""Spec for `transformer.generation`: temperature, top-k, top-p and the generation loop.

Chapter: walkthrough/14_language_models.md. Run with `pytest -m language_models`.
"""

import math
from itertools import combinations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import seeds

from transformer.bigram import BigramLanguageModel
from transformer.generation import (
    GREEDY_TEMPERATURE,
    apply_temperature,
    entropy,
    generate,
    next_token_distribution,
    sample_next,
    token_ranks,
    top_k_filter,
    top_p_filter,
)

pytestmark = pytest.mark.language_models

F64 = torch.float64
PAD = 0

# Chi-square goodness of fit at significance ALPHA. The seeds are fixed, so each test is
# deterministic; ALPHA only says how unlikely a pass by a wrong sampler would have been.
ALPHA = 1e-3
# chi2.ppf(1 - ALPHA, df), from scipy 1.17, for the degrees of freedom used below
CRITICAL = {5: 20.515, 15: 37.697}

logit_lists = st.lists(st.floats(-4.0, 4.0), min_size=2, max_size=8)


def chi_square(observed: torch.Tensor, probabilities: torch.Tensor) -> tuple[float, float]:
    """(statistic, critical value at ALPHA): the sample fits the distribution when statistic < critical."""
    expected = probabilities.double() * observed.sum()
    assert bool((expected >= 5).all()), f"expected counts below 5 make the chi-square test invalid: {expected.tolist()}"
    df = observed.numel() - 1
    try:
        from scipy import stats
    except ImportError:
        statistic = float(((observed.double() - expected) ** 2 / expected).sum())
        return statistic, CRITICAL[df]
    statistic = float(stats.chisquare(observed.double().numpy(), expected.numpy()).statistic)
    return statistic, float(stats.chi2.ppf(1 - ALPHA, df))


def draws(logits: torch.Tensor, n: int, seed: int, **sampling) -> torch.Tensor:
    """`n` seeded samples from one row of logits, drawn in one batch."""
    generator = torch.Generator().manual_seed(seed)
    return sample_next(logits[None].expand(n, -1), generator=generator, **sampling)


def kept(filtered: torch.Tensor) -> list[int]:
    """The token ids a filter left finite."""
    return torch.isfinite(filtered).nonzero().flatten().tolist()


# ---------------------------------------------------------------- temperature


@given(st.lists(st.floats(-5.0, 5.0), min_size=2, max_size=8), st.floats(0.05, 20.0))
def test_temperature_divides_the_logits(values, temperature):
    """softmax(z / T) is the distribution at temperature T; multiplying by T is the known bug."""
    logits = torch.tensor([values], dtype=F64)
    torch.testing.assert_close(apply_temperature(logits, temperature), logits / temperature, rtol=0, atol=0,
                               msg=lambda m: f"apply_temperature(z, {temperature}) is not z / T (z * T is the known bug): {m}")


@given(logit_lists.filter(lambda v: max(v) - min(v) > 0.5), st.floats(0.25, 8.0), st.floats(1.1, 3.0))
def test_higher_temperature_raises_entropy(values, temperature, factor):
    """dH/dT = Var_P(z) / T^3 > 0 for non-uniform logits: entropy rises strictly with T."""
    logits = torch.tensor([values], dtype=F64)
    low = entropy(next_token_distribution(logits, temperature)).item()
    high = entropy(next_token_distribution(logits, temperature * factor)).item()
    assert high > low, f"entropy at T = {temperature * factor:.3g} is {high:.6g}, not above {low:.6g} at T = {temperature:.3g}"


def test_infinite_temperature_tends_to_uniform():
    """softmax(z / T) -> 1 / V as T -> infinity: the distance to uniform falls like 1 / T."""
    logits = torch.tensor([[3.0, -1.0, 0.5, 2.0, -2.5]], dtype=F64)
    uniform = torch.full_like(logits, 1 / logits.shape[-1])
    distances = [float((next_token_distribution(logits, t) - uniform).abs().max()) for t in (1.0, 1e2, 1e4, 1e6)]
    assert all(a > b for a, b in zip(distances, distances[1:])), f"distance to uniform does not fall with T: {distances}"
    assert distances[-1] < 1e-6, f"at T = 1e6 the distribution is {distances[-1]:.3g} from uniform, expected < 1e-6"


def test_temperature_to_zero_tends_to_the_argmax():
    """With a unique maximum, softmax(z / T) -> one-hot at the argmax as T -> 0; T = 0 is that limit."""
    logits = torch.tensor([[0.3, 1.2, -0.4, 1.1]], dtype=F64)
    one_hot = torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=F64)
    for temperature, atol in ((1e-3, 1e-40), (0.0, 0.0)):  # gap 0.1 at T = 1e-3: runner-up weight e^-100
        torch.testing.assert_close(next_token_distribution(logits, temperature), one_hot, rtol=0, atol=atol,
                                   msg=lambda m: f"at T = {temperature} the distribution is not the argmax's one-hot: {m}")
    assert GREEDY_TEMPERATURE < 1e-3, "the greedy threshold must stay below the temperatures that still sample"


def test_temperature_one_samples_the_models_own_distribution():
    """At T = 1, frequencies over 20000 seeded draws fit softmax(z) (chi-square, 5 degrees of freedom)."""
    logits = torch.tensor([1.0, 0.2, -0.5, 0.8, -1.2, 0.0], dtype=F64)
    counts = torch.bincount(draws(logits, 20_000, seed=1), minlength=6)
    statistic, critical = chi_square(counts, logits.softmax(-1))
    assert statistic < critical, f"chi-square {statistic:.2f} >= {critical:.2f}: counts {counts.tolist()} do not fit softmax(z)"


def test_chi_square_test_tells_dividing_from_multiplying_by_t():
    """The same test has the power to catch the bug: samples at T = 2 fit softmax(z / 2), not softmax(2 z)."""
    logits = torch.tensor([1.0, 0.2, -0.5, 0.8, -1.2, 0.0], dtype=F64)
    counts = torch.bincount(draws(logits, 20_000, seed=2, temperature=2.0), minlength=6)
    right, critical = chi_square(counts, (logits / 2).softmax(-1))
    wrong, _ = chi_square(counts, (logits * 2).softmax(-1))
    assert right < critical < wrong, f"chi-square {right:.2f} against z / T, {wrong:.2f} against z * T (critical {critical:.2f})"


# ---------------------------------------------------------------- top-k


@given(logit_lists, st.integers(1, 8), seeds())
def test_top_k_never_emits_a_token_outside_the_k_most_likely(values, k, seed):
    """After top-k, every draw is among the k highest-ranked tokens, drawn in proportion to softmax(z)."""
    logits = torch.tensor(values, dtype=F64)
    ranks = token_ranks(logits)
    outside = [t for t in draws(logits, 200, seed, top_k=k).tolist() if ranks[t] >= k]
    assert not outside, f"top-k = {k} emitted tokens {sorted(set(outside))} of ranks {[int(ranks[t]) for t in set(outside)]}"
    probabilities = next_token_distribution(logits, top_k=k)
    inside = ranks < k
    expected = torch.where(inside, logits.softmax(-1), 0.0)
    torch.testing.assert_close(probabilities, expected / expected.sum(), msg=lambda m: f"top-k = {k} is not softmax(z) renormalised on the top k: {m}")


@given(st.lists(st.integers(-2, 2), min_size=2, max_size=8), st.integers(1, 8))
def test_top_k_keeps_exactly_k_tokens_ties_to_the_lower_id(values, k):
    """Exactly min(k, V) tokens survive; among tied logits at the boundary the lower ids are kept."""
    logits = torch.tensor([values], dtype=F64)
    survivors = kept(top_k_filter(logits, k)[0])
    expected = sorted(sorted(range(len(values)), key=lambda t: (-values[t], t))[:k])
    assert survivors == expected, f"top-k = {k} of {values} kept {survivors}, expected {expected} (ties to the lower id)"


def test_top_k_tie_example():
    """Three tokens tie at the 2nd largest logit: k = 2 keeps the lowest two ids, not all three."""
    logits = torch.tensor([[0.5, 3.0, 1.0, 3.0, 3.0]])
    assert kept(top_k_filter(logits, 2)[0]) == [1, 3], f"kept {kept(top_k_filter(logits, 2)[0])}, expected [1, 3]"


@given(logit_lists, st.integers(0, 3))
def test_top_k_of_the_whole_vocabulary_changes_nothing(values, extra):
    """k >= V keeps every token: the logits come back as they were."""
    logits = torch.tensor([values], dtype=F64)
    filtered = top_k_filter(logits, len(values) + extra)
    assert torch.equal(filtered, logits), f"top-k = V + {extra} changed {values} into {filtered.tolist()}"


@given(st.lists(st.integers(-2, 2), min_size=2, max_size=8), seeds())
def test_top_k_one_is_greedy(values, seed):
    """k = 1 keeps only the argmax (ties: the lower id, as argmax), so sampling is greedy decoding."""
    logits = torch.tensor(values, dtype=F64)
    sampled = draws(logits, 50, seed, top_k=1)
    assert bool((sampled == logits.argmax()).all()), f"top-k = 1 on {values} drew {sorted(set(sampled.tolist()))}, argmax {int(logits.argmax())}"


# ---------------------------------------------------------------- top-p


@given(st.lists(st.integers(-2, 2), min_size=2, max_size=6), st.floats(0.01, 1.0))
def test_top_p_keeps_the_smallest_set_of_most_likely_tokens_whose_mass_reaches_p(values, p):
    """Brute force over every subset: the nucleus is the smallest set with mass >= p, the most massive
    of those (so the most likely tokens), and among equal ties the one of lower ids."""
    logits = torch.tensor([values], dtype=F64)
    probabilities = logits.softmax(-1)[0].tolist()
    subsets = [s for size in range(1, len(values) + 1) for s in combinations(range(len(values)), size)]
    mass = {s: math.fsum(probabilities[t] for t in s) for s in subsets}
    assume(all(abs(m - p) > 1e-9 for m in mass.values()))  # at an exact boundary, rounding decides
    nucleus = min((s for s in subsets if mass[s] >= p), key=lambda s: (len(s), -mass[s], s))
    survivors = kept(top_p_filter(logits, p)[0])
    assert survivors == list(nucleus), (
        f"top-p = {p:.4f} on probabilities {[round(q, 4) for q in probabilities]} kept {survivors} "
        f"(mass {math.fsum(probabilities[t] for t in survivors):.4f}), expected {list(nucleus)} (mass {mass[nucleus]:.4f})")


def test_top_p_tie_example():
    """Probabilities (0.1, 0.3, 0.3, 0.3) with p = 0.5: two of the tied tokens are needed, the lower ids."""
    logits = torch.tensor([[0.1, 0.3, 0.3, 0.3]]).log()
    assert kept(top_p_filter(logits, 0.5)[0]) == [1, 2], f"kept {kept(top_p_filter(logits, 0.5)[0])}, expected [1, 2]"


@given(logit_lists, st.floats(1e-6, 1e-3))
def test_top_p_always_keeps_the_most_likely_token(values, p):
    """However small p, the nucleus holds the argmax (the mass ranked before it is 0 < p)."""
    logits = torch.tensor([values], dtype=F64)
    survivors = kept(top_p_filter(logits, p)[0])
    assert int(logits.argmax()) in survivors, f"top-p = {p:.2g} on {values} kept {survivors}, not the argmax {int(logits.argmax())}"


@given(logit_lists)
def test_top_p_one_changes_nothing(values):
    """p = 1 keeps every token, even those whose probability rounds the running sum past 1."""
    logits = torch.tensor([values + [-60.0]], dtype=F64)  # a last token of probability ~1e-27
    assert torch.equal(top_p_filter(logits, 1.0), logits), f"top-p = 1 changed {logits.tolist()}"


@given(st.lists(logit_lists.filter(lambda v: len(v) == 5), min_size=2, max_size=4), st.integers(1, 5), st.floats(0.05, 1.0))
def test_filters_act_on_each_row_alone(rows, k, p):
    """A batch is filtered row by row: filtering the stacked rows equals stacking the filtered rows."""
    logits = torch.tensor(rows, dtype=F64)
    for name, apply in (("top-k", lambda z: top_k_filter(z, k)), ("top-p", lambda z: top_p_filter(z, p))):
        alone = torch.cat([apply(row[None]) for row in logits])
        assert torch.equal(apply(logits), alone), f"{name} of a batch differs from {name} of each row alone"


@given(logit_lists.filter(lambda v: len(v) >= 3), st.floats(0.3, 3.0), st.integers(1, 8), st.floats(0.05, 1.0))
def test_next_token_distribution_is_temperature_then_top_k_then_top_p(values, temperature, k, p):
    """The distribution sampled is softmax(top-p(top-k(z / T))): a distribution, zero where a filter removed a token."""
    logits = torch.tensor([values], dtype=F64)
    probabilities = next_token_distribution(logits, temperature, top_k=k, top_p=p)
    expected = top_p_filter(top_k_filter(apply_temperature(logits, temperature), k), p).softmax(-1)
    torch.testing.assert_close(probabilities, expected, rtol=0, atol=0, msg=lambda m: f"not softmax(top-p(top-k(z / T))): {m}")
    assert abs(probabilities.sum().item() - 1) < 1e-12, f"probabilities sum to {probabilities.sum().item()}"


def test_top_p_is_applied_to_what_top_k_kept():
    """Order matters: after top-k = 2 of (0.4, 0.3, 0.3) the two left weigh (0.57, 0.43), so p = 0.5 keeps one
    token; top-p first would keep two (0.4 < 0.5)."""
    logits = torch.tensor([[0.4, 0.3, 0.3]], dtype=F64).log()
    probabilities = next_token_distribution(logits, top_k=2, top_p=0.5)
    assert probabilities.tolist() == [[1.0, 0.0, 0.0]], f"top-k 2 then top-p 0.5 gave {probabilities.tolist()}, expected one-hot"


# ---------------------------------------------------------------- seeds


@given(seeds(), st.sampled_from([dict(), dict(top_k=3), dict(top_p=0.8), dict(temperature=1.7)]))
def test_the_same_seed_gives_the_same_sample(seed, sampling):
    """A seeded generator replays the same draws."""
    logits = torch.randn(8, generator=torch.Generator().manual_seed(seed), dtype=F64)
    first, second = draws(logits, 100, seed, **sampling), draws(logits, 100, seed, **sampling)
    assert torch.equal(first, second), f"seed {seed}, {sampling}: two runs drew differently"


@pytest.mark.parametrize("seeds_pair", [(0, 1), (1, 2), (123, 4567)])
def test_different_seeds_give_different_samples(seeds_pair):
    """100 draws over 8 near-uniform tokens coincide under two seeds with probability ~8^-100."""
    logits = torch.zeros(8, dtype=F64)
    first, second = (draws(logits, 100, seed) for seed in seeds_pair)
    assert not torch.equal(first, second), f"seeds {seeds_pair} drew the same 100 tokens"


# ---------------------------------------------------------------- generate, on the bigram model


def permutation_table(vocab: int, seed: int) -> torch.Tensor:
    """Each row a shuffled 0, 1, ..., V-1: every row has a unique argmax, 1 above the runner-up."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(vocab, generator=generator) for _ in range(vocab)]).to(F64)


def argmax_chain(table: torch.Tensor, start: torch.Tensor, n: int) -> torch.Tensor:
    """Greedy decoding by hand: x_{t+1} = argmax_b W[x_t, b]."""
    tokens, current = [], start
    for _ in range(n):
        current = table[current].argmax(dim=-1)
        tokens.append(current)
    return torch.stack(tokens, dim=1)


class CountingBigram(BigramLanguageModel):
    """A bigram model that counts how often generation calls `start` and `step`."""

    def __init__(self, vocab_size: int):
        super().__init__(vocab_size)
        self.calls = {"start": 0, "step": 0}

    def start(self, prefix, use_cache=True):
        self.calls["start"] += 1
        return super().start(prefix, use_cache)

    def step(self, tokens, state):
        self.calls["step"] += 1
        return super().step(tokens, state)


@settings(max_examples=8)
@given(seeds(), st.integers(1, 12), st.sampled_from([0.0, GREEDY_TEMPERATURE / 2]))
def test_generate_at_temperature_zero_follows_the_argmax_chain_of_the_bigram_table(seed, n, temperature):
    """Greedy generation from a bigram model is x_{t+1} = argmax W[x_t], whatever came before."""
    table = permutation_table(7, seed)
    model = BigramLanguageModel.from_table(table)
    prefix = torch.randint(0, 7, (3, 4), generator=torch.Generator().manual_seed(seed))
    tokens = generate(model, prefix, n, temperature=temperature, seed=seed)
    expected = argmax_chain(table, prefix[:, -1], n)
    assert torch.equal(tokens, expected), f"T = {temperature}: generated {tokens.tolist()}, argmax chain {expected.tolist()}"


@settings(max_examples=5)
@given(seeds())
def test_a_small_temperature_samples_the_greedy_sequence(seed):
    """T = 0.01 still samples, but a runner-up 1 logit behind has weight e^-100: the draw is the argmax."""
    table = permutation_table(7, seed)
    model = BigramLanguageModel.from_table(table)
    prefix = torch.randint(0, 7, (4, 2), generator=torch.Generator().manual_seed(seed))
    tokens = generate(model, prefix, 10, temperature=0.01, seed=seed)
    expected = argmax_chain(table, prefix[:, -1], 10)
    assert torch.equal(tokens, expected), f"T = 0.01 generated {tokens.tolist()}, greedy {expected.tolist()}"


def test_generate_samples_the_chain_of_the_model():
    """Pairs (x_1, x_2) drawn by generate fit P(x_1 | prefix) P(x_2 | x_1) (chi-square, 15 degrees of freedom)."""
    table = 0.7 * torch.randn(4, 4, generator=torch.Generator().manual_seed(3), dtype=F64)
    model = BigramLanguageModel.from_table(table)
    prefix = torch.full((40_000, 1), 2)
    tokens = generate(model, prefix, 2, seed=5)
    counts = torch.bincount(tokens[:, 0] * 4 + tokens[:, 1], minlength=16)
    probabilities = table.softmax(-1)
    joint = (probabilities[2][:, None] * probabilities).flatten()  # P(a | 2) P(b | a), index a * 4 + b
    statistic, critical = chi_square(counts, joint)
    assert statistic < critical, f"chi-square {statistic:.2f} >= {critical:.2f}: generated pairs do not follow the bigram chain"


@settings(max_examples=6)
@given(seeds(), st.sampled_from([dict(), dict(top_k=3), dict(top_p=0.7, temperature=1.5)]))
def test_cached_and_uncached_generation_agree_token_for_token_and_logit_for_logit(seed, sampling):
    """The bigram's cached state is its last token; without it, `step` reruns forward over the whole text."""
    model = BigramLanguageModel.from_table(torch.randn(9, 9, generator=torch.Generator().manual_seed(seed), dtype=F64))
    prefix = torch.randint(0, 9, (3, 5), generator=torch.Generator().manual_seed(seed))
    cached = generate(model, prefix, 12, seed=seed, use_cache=True, return_logits=True, **sampling)
    uncached = generate(model, prefix, 12, seed=seed, use_cache=False, return_logits=True, **sampling)
    assert torch.equal(cached[0], uncached[0]), f"tokens differ: {cached[0].tolist()} vs {uncached[0].tolist()}"
    torch.testing.assert_close(cached[1], uncached[1], rtol=0, atol=0, msg=lambda m: f"cached and uncached logits differ: {m}")


def test_generate_returns_the_logits_each_token_was_drawn_from():
    """Step t's logits are the model's raw logits after the text so far: for a bigram, row W[x_{t-1}]."""
    table = torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=F64)
    model = BigramLanguageModel.from_table(table)
    prefix = torch.tensor([[3, 1], [4, 5]])
    tokens, logits = generate(model, prefix, 5, temperature=1.3, seed=0, return_logits=True)
    previous = torch.cat([prefix[:, -1:], tokens[:, :-1]], dim=1)
    torch.testing.assert_close(logits, table[previous], rtol=0, atol=0, msg=lambda m: f"logits are not W[previous token]: {m}")


def test_generate_reads_the_prefix_once_then_steps_once_per_further_token():
    """n tokens cost one `start` and n - 1 `step` calls (the last token needs no step after it)."""
    model = CountingBigram(5)
    generate(model, torch.tensor([[1, 2, 3]]), 6, seed=0)
    assert model.calls == {"start": 1, "step": 5}, f"6 tokens made the calls {model.calls}, expected 1 start and 5 steps"


@given(seeds(), st.integers(0, 9))
def test_the_same_seed_generates_the_same_text(seed, n):
    """`seed` makes a generator of its own, so a run repeats whatever the global random state."""
    model = BigramLanguageModel.from_table(torch.randn(6, 6, generator=torch.Generator().manual_seed(1), dtype=F64))
    prefix = torch.tensor([[1], [2]])
    first = generate(model, prefix, n, seed=seed, top_k=4)
    torch.manual_seed(seed + 1)  # a different global state changes nothing
    second = generate(model, prefix, n, seed=seed, top_k=4)
    assert torch.equal(first, second), f"seed {seed}: {first.tolist()} then {second.tolist()}"


def test_on_token_sees_every_step():
    """`on_token` gets each step's tokens (batch,) in order: together they are the returned tokens."""
    model = BigramLanguageModel.from_table(torch.randn(6, 6, generator=torch.Generator().manual_seed(2), dtype=F64))
    seen = []
    tokens = generate(model, torch.tensor([[1], [4]]), 7, seed=3, on_token=lambda t: seen.append(t.clone()))
    assert len(seen) == 7 and all(t.shape == (2,) for t in seen), f"on_token saw {[tuple(t.shape) for t in seen]}"
    assert torch.equal(torch.stack(seen, dim=1), tokens), f"streamed {torch.stack(seen, 1).tolist()} != returned {tokens.tolist()}"


def test_rows_stop_at_stop_id_and_generation_ends_when_all_have():
    """After a row emits stop_id it gets the pad id; once every row has stopped, generation ends early."""
    table = torch.full((6, 6), -5.0, dtype=F64)
    for a, b in {0: 1, 1: 3, 3: 4, 4: 2, 2: 5, 5: 5}.items():  # greedy chains 1 -> 3 -> 4 -> 2 and 4 -> 2 -> 5
        table[a, b] = 5.0
    model = BigramLanguageModel.from_table(table)
    seen = []
    tokens = generate(model, torch.tensor([[1], [4]]), 6, temperature=0.0, stop_id=2, on_token=seen.append)
    assert tokens.tolist() == [[3, 4, 2], [2, PAD, PAD]], f"with stop_id 2 generated {tokens.tolist()}"
    assert len(seen) == 3, f"on_token was called {len(seen)} times, expected 3 (the steps that ran)"


def test_zero_tokens_is_an_empty_batch():
    """n_tokens = 0 generates nothing (and never runs the model): shape (batch, 0)."""
    model = CountingBigram(5)
    tokens, logits = generate(model, torch.tensor([[1], [2], [3]]), 0, return_logits=True)
    assert tokens.shape == (3, 0) and logits.shape == (3, 0, 5), f"got shapes {tuple(tokens.shape)}, {tuple(logits.shape)}"
    assert model.calls == {"start": 0, "step": 0}, f"generating nothing called the model: {model.calls}"


# ---------------------------------------------------------------- bad arguments


MODEL = BigramLanguageModel(6)
PREFIX = torch.tensor([[1, 2]])
LOGITS = torch.tensor([[0.5, 1.0, -1.0]])
BAD_CALLS = [
    (lambda: apply_temperature(LOGITS, 0.0), "apply_temperature: expected temperature > 0, got 0.0"),
    (lambda: apply_temperature(LOGITS, -2.0), "apply_temperature: expected temperature > 0, got -2.0"),
    (lambda: top_k_filter(LOGITS, 0), "top_k_filter: expected top-k k >= 1 (an integer), got 0"),
    (lambda: top_p_filter(LOGITS, 0.0), "top_p_filter: expected top-p p in (0, 1], got 0.0"),
    (lambda: top_p_filter(LOGITS, 1.5), "top_p_filter: expected top-p p in (0, 1], got 1.5"),
    (lambda: top_p_filter(LOGITS, float("nan")), "top_p_filter: expected top-p p in (0, 1], got nan"),
    (lambda: sample_next(LOGITS, temperature=-0.5), "sample_next: expected temperature >= 0, got -0.5"),
    (lambda: next_token_distribution(LOGITS, top_k=-1), "next_token_distribution: expected top-k k >= 1 (an integer), got -1"),
    (lambda: generate(MODEL, PREFIX, -1), "generate: expected n_tokens >= 0 (an integer), got -1"),
    (lambda: generate(MODEL, PREFIX, 3, temperature=-1.0), "generate: expected temperature >= 0, got -1.0"),
    (lambda: generate(MODEL, PREFIX, 3, temperature=float("nan")), "generate: expected temperature >= 0, got nan"),
    (lambda: generate(MODEL, PREFIX, 3, top_k=0), "generate: expected top-k k >= 1 (an integer), got 0"),
    (lambda: generate(MODEL, PREFIX, 3, top_p=0.0), "generate: expected top-p p in (0, 1], got 0.0"),
    (lambda: generate(MODEL, PREFIX.new_empty(2, 0), 3), "generate: expected a non-empty prefix (batch >= 1, prefix >= 1), got shape (2, 0)"),
    (lambda: generate(MODEL, torch.tensor([[1, 6]]), 3), "generate: prefix: expected token ids in [0, 6), got values in [1, 6]"),
    (lambda: generate(MODEL, PREFIX, 3, stop_id=6), "generate: expected stop_id in [0, 6), got 6"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS, ids=[message.split(":")[0] + str(i) for i, (_, message) in enumerate(BAD_CALLS)])
def test_bad_arguments_are_refused_with_one_clear_line(call, message):
    """A wrong argument names what was expected and what came, in one line."""
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message, f"message {str(error.value)!r}, expected {message!r}"


@pytest.mark.parametrize("call, message", [
    (lambda: generate(MODEL, torch.tensor([1, 2]), 3), "generate: prefix: expected shape (batch, prefix), got (2,)"),
    (lambda: sample_next(torch.tensor([0.5, 1.0])), "sample_next: logits: expected shape (batch, vocab), got (2,)"),
])
def test_wrong_shapes_are_refused_with_one_clear_line(call, message, runtime_checks):
    """What a user (who runs without the test-time shape checks) reads for a 1-d prefix or logits."""
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message, f"message {str(error.value)!r}, expected {message!r}"
