"""Generation: turning a language model's next-token logits into text, one token at a time.

Chapter: walkthrough/14_language_models.md. Works with every `LanguageModel` (the decoder-only
Transformer, the recurrent language models, `BigramLanguageModel`).

A language model gives logits z over the vocabulary for the next token; generation picks a
token, feeds it back with `step`, and repeats. How the token is picked:

* temperature T: sample from softmax(z / T). T = 1 is the model's own distribution, T < 1
  sharpens it, T > 1 flattens it (entropy rises with T; T -> infinity tends to uniform) and
  T -> 0 tends to the argmax. The known bug multiplies by T instead of dividing. Below
  `GREEDY_TEMPERATURE` (T = 0 included) we take the argmax outright: greedy decoding.
* top-k: keep the k largest logits, -inf elsewhere (Fan et al. 2018), then renormalise.
* top-p, nucleus sampling (Holtzman et al. 2020, §3.1, eq. 2): the smallest set V^(p) of most
  likely tokens with sum_{x in V^(p)} P(x | x_1:i-1) >= p; the most likely token is always kept.

`next_token_distribution` applies them in that order (temperature, then top-k, then top-p on
what top-k kept, renormalised), the order of Hugging Face's samplers; it is the distribution
`sample_next` draws from. A seeded `torch.Generator` makes every draw reproducible.

Ties are broken one way everywhere: among equal logits the lower token id ranks first. So top-k
keeps exactly k tokens, top-p's set is the shortest prefix of that ranking, and top-k = 1,
top-p -> 0 and greedy all pick `argmax` (torch returns the first maximal index).

The context window of a Transformer language model is its `max_len`: generating past it slides
the window (the model's `step` keeps the last `max_len` tokens), which this module never sees.

Notation: z = `logits`, T = `temperature`, k = `top_k`, p = `top_p`, V = `vocab`.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from transformer.checks import expect_ids, expect_shape
from transformer.interface import LanguageModel

GREEDY_TEMPERATURE = 1e-5  # temperatures below this (0 included) mean greedy argmax


def _check_temperature(name: str, temperature: float, strict: bool = False) -> None:
    ok = temperature > 0 if strict else temperature >= 0  # written so that NaN fails too
    if not ok:
        raise ValueError(f"{name}: expected temperature {'>' if strict else '>='} 0, got {temperature}")


def _check_top_k(name: str, k: int) -> None:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"{name}: expected top-k k >= 1 (an integer), got {k}")


def _check_top_p(name: str, p: float) -> None:
    if not 0 < p <= 1:
        raise ValueError(f"{name}: expected top-p p in (0, 1], got {p}")


def _check_sampling(name: str, temperature: float, top_k: int | None, top_p: float | None) -> None:
    _check_temperature(name, temperature)
    if top_k is not None:
        _check_top_k(name, top_k)
    if top_p is not None:
        _check_top_p(name, top_p)


def token_ranks(logits: Float[Tensor, "*batch vocab"]) -> Int[Tensor, "*batch vocab"]:
    """Rank of each token by its logit: 0 for the most likely, ties ranked by lower token id first."""
    order = logits.argsort(dim=-1, descending=True, stable=True)  # stable: equal logits keep id order
    return order.argsort(dim=-1)  # the inverse permutation: where each token sits in `order`


def entropy(probabilities: Float[Tensor, "*batch vocab"]) -> Float[Tensor, "*batch"]:
    """H(P) = -sum_x P(x) ln P(x), in nats (0 ln 0 = 0)."""
    return -torch.special.xlogy(probabilities, probabilities).sum(dim=-1)


# exercise(language_models): temperature (module docstring): the logits whose softmax is the
#   distribution at temperature T, T > 1 flattening it and T < 1 sharpening it; T <= 0 refused in
#   one line.
#   hint: the known bug multiplies by T: try which of z * T and z / T makes a large T flatten the
#     softmax; this module's temperature check has a strict mode that refuses T = 0 as well.
#   hint: refuse temperature <= 0 with _check_temperature("apply_temperature",
#     temperature, strict=True); return the logits divided by T (dividing, not multiplying: T > 1 must
#     flatten the distribution).
def apply_temperature(logits: Float[Tensor, "*batch vocab"], temperature: float) -> Float[Tensor, "*batch vocab"]:
    """z / T: softmax of the result is the distribution at temperature T (T > 0)."""
    _check_temperature("apply_temperature", temperature, strict=True)
    return logits / temperature


# exercise(language_models): top-k filtering (Fan et al. 2018): the logits of the k most likely
#   tokens kept, -inf for every other; exactly k kept (ties to the lower token id), all of them
#   when k >= vocab; a bad k refused in one line.
#   hint: check k with this module's helper; token_ranks already ranks the tokens with ties broken
#     by id, so a token survives when its rank is below k; -inf, not a large negative number, so
#     that softmax gives the others exactly 0.
#   hint: check k with _check_top_k("top_k_filter", k); keep the k tokens of lowest
#     token_ranks(logits) (exactly k, ties to the lower id; k >= vocab keeps all) and set every other
#     logit to float("-inf").
def top_k_filter(logits: Float[Tensor, "*batch vocab"], k: int) -> Float[Tensor, "*batch vocab"]:
    """The logits of the k most likely tokens, -inf for the others (all kept when k >= vocab).

    Exactly k tokens survive: where several tokens tie at the k-th largest logit, the lower
    token ids are kept (Hugging Face's warper keeps every tied token instead, so may keep more).
    """
    _check_top_k("top_k_filter", k)
    return logits.masked_fill(token_ranks(logits) >= k, float("-inf"))


# exercise(language_models): nucleus (top-p) filtering (Holtzman et al. 2020, eq. 2): the logits of
#   the smallest set of most likely tokens whose probability reaches p kept, -inf for the others;
#   the most likely token always kept, nothing removed at p = 1; a bad p refused in one line.
#   hint: rank the probabilities most likely first (a stable sort, so ties go to the lower id) and
#     take their running sum; a token is in the set when the mass ranked before it (the running sum
#     shifted by one, starting at 0) is still below p; send that decision back to token order.
#   hint: check p with _check_top_p("top_p_filter", p); p = 1 returns the logits
#     unchanged. Else order the softmax probabilities most likely first (argsort descending, stable:
#     ties to the lower id), keep a token when the mass ranked before it is < p (so the most likely is
#     always kept), set the other logits to float("-inf"); scatter the decision back by the order.
def top_p_filter(logits: Float[Tensor, "*batch vocab"], p: float) -> Float[Tensor, "*batch vocab"]:
    """Nucleus filter: the logits of the smallest set of most likely tokens whose mass reaches p.

    Tokens are taken in rank order (most likely first, ties to the lower id) until their
    probability reaches p: a token is kept when the mass ranked before it is still below p.
    At p = 1 nothing is removed (no rounding of the running sum can drop a token).
    """
    _check_top_p("top_p_filter", p)
    if p == 1:
        return logits
    order = logits.argsort(dim=-1, descending=True, stable=True)
    sorted_probs = logits.softmax(dim=-1).gather(-1, order)
    mass_before = F.pad(sorted_probs.cumsum(dim=-1)[..., :-1], (1, 0))  # exclusive running sum
    keep = torch.zeros_like(mass_before, dtype=torch.bool).scatter(-1, order, mass_before < p)
    return logits.masked_fill(~keep, float("-inf"))


def next_token_distribution(
    logits: Float[Tensor, "*batch vocab"], temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Float[Tensor, "*batch vocab"]:
    """The distribution `sample_next` draws from: softmax(top-p(top-k(z / T))).

    Below `GREEDY_TEMPERATURE` it is one-hot at the argmax (ties: the lower id), the limit
    of softmax(z / T) as T -> 0 when the maximum is unique.
    """
    _check_sampling("next_token_distribution", temperature, top_k, top_p)
    if temperature < GREEDY_TEMPERATURE:
        return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return logits.softmax(dim=-1)


def sample_next(
    logits: Float[Tensor, "batch vocab"],
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Int[Tensor, " batch"]:
    """One token per row: the argmax below `GREEDY_TEMPERATURE`, else a draw from
    `next_token_distribution` with `generator` (None: torch's global random state)."""
    _check_sampling("sample_next", temperature, top_k, top_p)
    expect_shape("sample_next: logits", logits, "batch vocab")
    if temperature < GREEDY_TEMPERATURE:
        return logits.argmax(dim=-1)
    probabilities = next_token_distribution(logits, temperature, top_k, top_p)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


def _check_generate(model: LanguageModel, prefix: Tensor, n_tokens: int, stop_id: int | None) -> None:
    expect_shape("generate: prefix", prefix, "batch prefix")
    if prefix.shape[0] < 1 or prefix.shape[1] < 1:
        raise ValueError(f"generate: expected a non-empty prefix (batch >= 1, prefix >= 1), got shape {tuple(prefix.shape)}")
    expect_ids("generate: prefix", prefix, model.vocab_size)
    if isinstance(n_tokens, bool) or int(n_tokens) != n_tokens or n_tokens < 0:
        raise ValueError(f"generate: expected n_tokens >= 0 (an integer), got {n_tokens}")
    if stop_id is not None and not 0 <= stop_id < model.vocab_size:
        raise ValueError(f"generate: expected stop_id in [0, {model.vocab_size}), got {stop_id}")


@torch.no_grad()
def generate(
    model: LanguageModel,
    prefix: Int[Tensor, "batch prefix"],
    n_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    use_cache: bool = True,
    on_token: Callable[[Tensor], object] | None = None,
    stop_id: int | None = None,
    return_logits: bool = False,
    forbid: tuple[int, ...] = (),
):
    """Continue each prefix row by `n_tokens` tokens: `model.start(prefix)`, then one `model.step`
    per token after the first.

    Returns the new tokens (batch, steps), prefix not included; with `return_logits` also the
    model's raw logits that each token was drawn from (batch, steps, vocab), before temperature
    and filters. `seed` seeds a `torch.Generator` of its own, so the same seed gives the same
    text (None: torch's global random state). `on_token(tokens)` is called with each step's
    tokens (batch,) as soon as they are drawn, so a caller can print the text as it grows.
    Once a row emits `stop_id`, its later tokens are `model.pad_id`, and generation ends when
    every row has stopped (steps < n_tokens). Tokens in `forbid` (padding, say) are never drawn:
    their logits are set to -inf before sampling. The model's mode is left alone: call
    `model.eval()` first, or dropout is sampled too.
    """
    _check_sampling("generate", temperature, top_k, top_p)
    _check_generate(model, prefix, n_tokens, stop_id)
    generator = None if seed is None else torch.Generator(device=prefix.device).manual_seed(seed)
    batch = prefix.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool, device=prefix.device)
    outputs, step_logits = [], []
    if n_tokens > 0:
        logits, state = model.start(prefix, use_cache=use_cache)
    for t in range(n_tokens):
        allowed = logits.index_fill(-1, torch.tensor(forbid, dtype=torch.long, device=logits.device), float("-inf")) \
            if forbid else logits
        tokens = sample_next(allowed, temperature, top_k, top_p, generator).masked_fill(finished, model.pad_id)
        outputs.append(tokens)
        step_logits.append(logits)
        if on_token is not None:
            on_token(tokens)
        if stop_id is not None:
            finished = finished | (tokens == stop_id)
            if finished.all():
                break
        if t + 1 < n_tokens:
            logits, state = model.step(tokens, state)
    if outputs:
        ids, all_logits = torch.stack(outputs, dim=1), torch.stack(step_logits, dim=1)
    else:
        ids = prefix.new_empty(batch, 0)
        all_logits = torch.empty(batch, 0, model.vocab_size, device=prefix.device)
    return (ids, all_logits) if return_logits else ids
