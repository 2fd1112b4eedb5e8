"""Spec for `transformer.bigram`: the bigram language model keeps the `LanguageModel` promises, and
counting is its maximum-likelihood fit.

Chapter: walkthrough/14_language_models.md. Run with `pytest -m language_models`.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import padded_ids, seeds

from transformer.bigram import BigramLanguageModel, bigram_counts
from transformer.interface import LanguageModel

pytestmark = pytest.mark.language_models

F64 = torch.float64
PAD = 0


def model_for(vocab: int, seed: int) -> BigramLanguageModel:
    torch.manual_seed(seed)
    return BigramLanguageModel(vocab).double()


def test_the_bigram_model_is_a_language_model_with_no_context_limit():
    model = BigramLanguageModel(7)
    assert (isinstance(model, LanguageModel) and model.max_len is None and model.vocab_size == 7
            and model.pad_id == PAD), (
        f"expected a LanguageModel with max_len None, vocab_size 7, pad_id {PAD}; got {type(model).__name__} with "
        f"max_len {model.max_len}, vocab_size {model.vocab_size}, pad_id {model.pad_id}")


@given(seeds(), st.integers(1, 4), st.integers(1, 6))
def test_forward_is_the_table_row_of_each_token(seed, batch, seq):
    """logits[b, t] = W[x_t]: one-hot(x) @ W, the same lookup as F.embedding."""
    model = model_for(7, seed)
    ids = torch.randint(0, 7, (batch, seq), generator=torch.Generator().manual_seed(seed))
    expected = F.one_hot(ids, 7).to(F64) @ model.next_token_logits.weight
    torch.testing.assert_close(model(ids), expected, msg=lambda m: f"forward is not one-hot(x) @ W: {m}")


@given(st.data(), seeds())
def test_padding_tokens_do_not_affect_non_pad_outputs(data, seed):
    """Each real position's logits equal those of its row run alone, cut to its true length."""
    ids = data.draw(padded_ids(batch=3, max_len=6, vocab=8))
    model = model_for(8, seed)
    logits = model(ids)
    for b, row in enumerate(ids):
        length = int((row != PAD).sum())
        alone = model(row[None, :length])[0]
        torch.testing.assert_close(logits[b, :length], alone, rtol=0, atol=0,
                                   msg=lambda m: f"row {b}: padding changed the logits at real positions: {m}")


@given(seeds(), st.integers(0, 5))
def test_output_at_t_is_independent_of_later_tokens(seed, t):
    """Causality: replacing every token after t leaves the logits at positions 0..t unchanged."""
    model = model_for(9, seed)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 9, (2, 7), generator=generator)
    changed = ids.clone()
    changed[:, t + 1 :] = torch.randint(1, 9, changed[:, t + 1 :].shape, generator=generator)
    torch.testing.assert_close(model(changed)[:, : t + 1], model(ids)[:, : t + 1], rtol=0, atol=0,
                               msg=lambda m: f"logits up to {t} depend on tokens after it: {m}")


@given(seeds(), st.integers(1, 4), st.booleans())
def test_start_and_step_give_the_logits_of_forward(seed, prefix_len, use_cache):
    """Reading a prefix then stepping token by token gives forward's logits at each position."""
    model = model_for(8, seed)
    ids = torch.randint(0, 8, (3, 7), generator=torch.Generator().manual_seed(seed))
    full = model(ids)
    logits, state = model.start(ids[:, :prefix_len], use_cache=use_cache)
    torch.testing.assert_close(logits, full[:, prefix_len - 1], rtol=0, atol=0, msg=lambda m: f"start's logits: {m}")
    for t in range(prefix_len, ids.shape[1]):
        logits, state = model.step(ids[:, t], state)
        torch.testing.assert_close(logits, full[:, t], rtol=0, atol=0,
                                   msg=lambda m: f"step at {t} (use_cache={use_cache}) differs from forward: {m}")


def test_the_cached_state_is_the_last_token_and_the_uncached_state_the_whole_text():
    """With the cache a bigram carries one token per row; without, every token so far (and reruns forward)."""
    model = BigramLanguageModel(6)
    _, cached = model.start(torch.tensor([[1, 2, 3], [4, 5, 1]]))
    _, cached = model.step(torch.tensor([2, 2]), cached)
    _, uncached = model.start(torch.tensor([[1, 2, 3], [4, 5, 1]]), use_cache=False)
    _, uncached = model.step(torch.tensor([2, 2]), uncached)
    assert cached["last_token"].tolist() == [2, 2], f"cached state {cached}"
    assert uncached["tokens"].tolist() == [[1, 2, 3, 2], [4, 5, 1, 2]], f"uncached state {uncached}"


def test_bigram_counts_count_each_pair_of_real_tokens():
    """counts[a, b] is the number of times b follows a; a pair with padding in it is no pair."""
    ids = torch.tensor([[1, 2, 1, 2, 3], [2, 1, PAD, PAD, PAD]])
    counts = bigram_counts(ids, 4)
    expected = torch.zeros(4, 4, dtype=F64)
    for a, b in [(1, 2), (2, 1), (1, 2), (2, 3), (2, 1)]:
        expected[a, b] += 1
    torch.testing.assert_close(counts, expected, rtol=0, atol=0, msg=lambda m: f"bigram counts: {m}")


@given(seeds())
def test_counting_is_where_the_gradient_of_the_cross_entropy_vanishes(seed):
    """d/dW[a] of sum_t -log softmax(W[x_t])_{x_{t+1}} = n_a softmax(W[a]) - c[a], zero at W[a] = log(c[a] / n_a):
    the counted table is the maximum-likelihood bigram model (every pair seen, so no log 0)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 4, (6, 40), generator=generator)
    counts = bigram_counts(ids, 4)
    assert bool((counts[1:, 1:] > 0).all()), "the text must hold every pair of real tokens"
    model = BigramLanguageModel.from_counts(ids, 4, smoothing=0.0)
    logits = model(ids[:, :-1])
    loss = F.cross_entropy(logits[:, :, 1:].flatten(0, 1), (ids[:, 1:] - 1).flatten(), reduction="sum")  # real tokens only
    (gradient,) = torch.autograd.grad(loss, model.next_token_logits.weight)
    torch.testing.assert_close(gradient[1:, 1:], torch.zeros(3, 3, dtype=F64), atol=1e-10, rtol=0,
                               msg=lambda m: f"the counted table is not a stationary point of the cross-entropy: {m}")


def test_training_by_gradient_descent_reaches_the_counted_table():
    """60 steps of full-batch gradient descent on a tiny text end within 0.01 nats of the cross-entropy of
    the add-0.01 counting model: the loss is convex in W and counting is its minimum."""
    ids = torch.randint(1, 5, (4, 50), generator=torch.Generator().manual_seed(0))
    target = BigramLanguageModel.from_counts(ids, 5, smoothing=0.01)
    model = model_for(5, seed=0)
    weight = model.next_token_logits.weight

    def loss_of(m):
        return F.cross_entropy(m(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())

    for _ in range(60):
        (gradient,) = torch.autograd.grad(loss_of(model), weight)
        with torch.no_grad():
            weight -= 20.0 * gradient  # a large step: the mean loss spreads each row's gradient over 200 tokens
    trained, counted = loss_of(model).item(), loss_of(target).item()
    assert trained < counted + 0.01, f"trained cross-entropy {trained:.4f} is not within 0.01 of counting's {counted:.4f}"


@pytest.mark.parametrize("call, message", [
    (lambda: BigramLanguageModel(1), "BigramLanguageModel: expected vocab_size >= 2 and pad_id in [0, vocab_size), got 1, 0"),
    (lambda: BigramLanguageModel.from_table(torch.zeros(3, 4)),
     "BigramLanguageModel.from_table: expected a square (vocab, vocab) table, got (3, 4)"),
    (lambda: BigramLanguageModel(5)(torch.tensor([[1, 5]])), "ids: expected token ids in [0, 5), got values in [1, 5]"),
    (lambda: BigramLanguageModel(5).start(torch.zeros(2, 0, dtype=torch.long)),
     "prefix: expected at least one token (batch, prefix >= 1), got shape (2, 0)"),
    (lambda: BigramLanguageModel(5).step(torch.tensor([1, 2, 3]), {"last_token": torch.tensor([1, 2])}),
     "tokens: expected shape (batch=2), got (3,)"),
])
def test_bad_input_is_refused_with_one_clear_line(call, message, runtime_checks):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message, f"message {str(error.value)!r}, expected {message!r}"
