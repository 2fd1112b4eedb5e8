"""Decoding: turning a trained model's next-token distributions into output sequences.

Chapter: walkthrough/10_decoding.md. Works with every `Seq2Seq` (Transformer and recurrent).

* `greedy_decode`: take the most probable token at each step, for a whole batch at once.
  Each step feeds one token to `decode_step`. With `use_cache=True` (the state of
  `start_decoding(src, use_cache=True)`) the Transformer reuses the keys and values of earlier
  positions (the key/value cache) and the encoder's cross-attention keys and values computed
  once. With `use_cache=False` each step reruns the decoder over the whole prefix, as a model
  without a cache must: O(t) work per step instead of O(1) positions, so O(T^2) for T tokens.
* `beam_search`: keep the `beam_size` best partial hypotheses (Sutskever et al. 2014, §3.2),
  ranked at the end with the length penalty of Wu et al. 2016 that Vaswani et al. 2017 use
  (§6.1, alpha = 0.6):

      score(Y) = log P(Y | X) / lp(Y),   lp(Y) = (5 + |Y|)^alpha / (5 + 1)^alpha

  where |Y| counts the generated tokens, EOS included (BOS is not generated).

Neither decoder ever emits PAD or BOS: their log-probabilities are set to -inf *after* the
softmax, so scores stay the model's own log-probabilities (not renormalised over the rest).
A PAD inside a target would be masked out of attention when the sequence is re-read by
teacher forcing, so the model would no longer score the sequence it produced.
"""

from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from transformer.checks import expect_shape
from transformer.interface import Seq2Seq, reorder_state


@dataclass(frozen=True)
class Hypothesis:
    """One decoded sequence: `tokens` without BOS (ending in EOS unless cut at max_len)."""

    tokens: list[int]
    log_prob: float  # log P(tokens | source) under the model
    score: float  # log_prob / length_penalty(len(tokens))


# exercise(decoding): the length penalty lp(Y) of Wu et al. 2016, which beam search divides log P(Y)
#   by (section "Beam search").
#   hint: Wu et al. 2016: lp(Y) = ((5 + |Y|) / 6) ** alpha.
def length_penalty(length: int, alpha: float) -> float:
    """lp(Y) = ((5 + |Y|) / 6) ** alpha; alpha = 0 ranks by plain log-probability."""
    return ((5 + length) / 6) ** alpha


def _forbid_specials(scores: Tensor, pad_id: int, bos_id: int) -> Tensor:
    """Scores (logits or log-probabilities) with PAD and BOS made impossible to choose."""
    scores = scores.clone()
    scores[..., [pad_id, bos_id]] = float("-inf")
    return scores


def _check_decoding_args(src: Tensor, max_len: int) -> None:
    expect_shape("src", src, "batch src_seq")
    if src.shape[1] == 0:
        raise ValueError(f"src: expected at least one source token, got an empty source of shape {tuple(src.shape)}")
    if max_len < 1:
        raise ValueError(f"decoding: expected max_len >= 1, got {max_len}")


# exercise(decoding): greedy decoding: from BOS, feed back the most probable token at each step
#   until every row has produced EOS, or max_len tokens; return the output ids (and each step's
#   attention, if asked).
#   hint: encode once with model.start_decoding, then call model.decode_step on the latest tokens;
#     PAD and BOS may never be chosen; a row that has ended gets model.tgt_pad_id; check the
#     arguments first with _check_decoding_args.
#   hint: check with _check_decoding_args(src, max_len); start every row from bos_id and the state
#     of model.start_decoding(src, use_cache); up to max_len times take the argmax token of
#     model.decode_step (never PAD or BOS: _forbid_specials); after a row's EOS emit
#     model.tgt_pad_id; stop once every row has ended. With return_attention also return
#     state["attention"] of each step stacked (or None when the model reports none).
@torch.no_grad()
def greedy_decode(
    model: Seq2Seq,
    src: Int[Tensor, "batch src_seq"],
    bos_id: int,
    eos_id: int,
    max_len: int,
    use_cache: bool = True,
    return_attention: bool = False,
):
    """Most probable token at each step, for every source in the batch.

    Returns ids (batch, steps): the generated tokens without BOS; each row stops at its first
    EOS and is padded with `model.tgt_pad_id` after it. With `return_attention`, also the
    source attention of each step (batch, steps, src_seq), for models that report it.
    """
    _check_decoding_args(src, max_len)
    batch = src.shape[0]
    tokens = torch.full((batch,), bos_id, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)
    outputs, attentions = [], []
    state = model.start_decoding(src, use_cache=use_cache)
    for _ in range(max_len):
        logits, state = model.decode_step(tokens, state)
        if "attention" in state:
            attentions.append(state["attention"])
        tokens = _forbid_specials(logits, model.tgt_pad_id, bos_id).argmax(dim=-1).masked_fill(finished, model.tgt_pad_id)
        outputs.append(tokens)
        finished = finished | (tokens == eos_id)
        if finished.all():
            break
    ids = torch.stack(outputs, dim=1)
    if return_attention:
        return ids, (torch.stack(attentions, dim=1) if attentions else None)
    return ids


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    src: Int[Tensor, "batch src_seq"],
    bos_id: int,
    eos_id: int,
    max_len: int,
    beam_size: int = 4,
    alpha: float = 0.6,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """Beam search for every source in the batch; returns the `n_best` hypotheses of each, best first.

    All `batch * beam_size` hypotheses advance together through `decode_step`; after each step
    the model's state is reordered to follow the surviving hypotheses. A hypothesis that emits
    EOS is finished; a source is done once it has `beam_size` finished hypotheses and no live one
    can still outscore them at the current length.
    """
    _check_decoding_args(src, max_len)
    if beam_size < 1 or not 1 <= n_best <= beam_size:
        raise ValueError(f"beam_search: expected beam_size >= 1 and 1 <= n_best <= beam_size, got {beam_size}, {n_best}")
    batch, device = src.shape[0], src.device
    rows = torch.arange(batch, device=device).repeat_interleave(beam_size)
    state = reorder_state(model.start_decoding(src), rows)
    tokens = torch.full((batch * beam_size,), bos_id, dtype=torch.long, device=device)
    # cumulative log-probabilities; only the first beam of each source is alive at the start
    log_probs = torch.full((batch, beam_size), float("-inf"), device=device)
    log_probs[:, 0] = 0.0
    sequences: list[list[list[int]]] = [[[] for _ in range(beam_size)] for _ in range(batch)]
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    done = [False] * batch

    for step in range(1, max_len + 1):
        logits, state = model.decode_step(tokens, state)
        vocab = logits.shape[-1]
        step_log_probs = _forbid_specials(logits.float().log_softmax(dim=-1), model.tgt_pad_id, bos_id)
        candidates = log_probs[..., None] + step_log_probs.view(batch, beam_size, vocab)
        top_log_probs, top_index = candidates.view(batch, -1).topk(2 * beam_size, dim=-1)
        new_rows = torch.zeros(batch, beam_size, dtype=torch.long)
        new_tokens = torch.full((batch, beam_size), eos_id, dtype=torch.long)
        new_log_probs = torch.full((batch, beam_size), float("-inf"))
        new_sequences: list[list[list[int]]] = [[[] for _ in range(beam_size)] for _ in range(batch)]
        for b in range(batch):
            if done[b]:
                continue
            kept = 0
            for log_prob, index in zip(top_log_probs[b].tolist(), top_index[b].tolist()):
                beam, token = divmod(index, vocab)
                if log_prob == float("-inf"):
                    break
                sequence = sequences[b][beam] + [token]
                if token == eos_id:
                    finished[b].append(Hypothesis(sequence, log_prob, log_prob / length_penalty(step, alpha)))
                    continue
                new_rows[b, kept], new_tokens[b, kept] = b * beam_size + beam, token
                new_log_probs[b, kept], new_sequences[b][kept] = log_prob, sequence
                kept += 1
                if kept == beam_size:
                    break
            best_alive = new_log_probs[b, 0].item() / length_penalty(step, alpha)
            finished[b].sort(key=lambda h: h.score, reverse=True)
            if len(finished[b]) >= beam_size and finished[b][beam_size - 1].score >= best_alive:
                done[b] = True
        if all(done):
            break
        state = reorder_state(state, new_rows.view(-1).to(device))
        tokens = new_tokens.view(-1).to(device)
        log_probs = new_log_probs.to(device)
        sequences = new_sequences

    for b in range(batch):
        if not done[b]:  # cut at max_len: live hypotheses compete with the finished ones
            for beam in range(beam_size):
                log_prob = log_probs[b, beam].item()
                if log_prob > float("-inf"):
                    tokens_b = sequences[b][beam]
                    finished[b].append(Hypothesis(tokens_b, log_prob, log_prob / length_penalty(len(tokens_b), alpha)))
        finished[b].sort(key=lambda h: h.score, reverse=True)
    return [hypotheses[:n_best] for hypotheses in finished]


@torch.no_grad()
def sequence_log_prob(
    model: Seq2Seq, src: Int[Tensor, "1 src_seq"], tokens: list[int], bos_id: int
) -> float:
    """log P(tokens | src) recomputed by teacher forcing: the sum of each token's log-probability."""
    tgt_in = torch.tensor([[bos_id] + tokens[:-1]], device=src.device)
    log_probs: Float[Tensor, "1 tgt_seq vocab"] = model(src, tgt_in).float().log_softmax(dim=-1)
    target = torch.tensor(tokens, device=src.device)
    return log_probs[0, torch.arange(len(tokens)), target].sum().item()


def strip_special(ids: list[int], eos_id: int, pad_id: int) -> list[int]:
    """The tokens before the first EOS, without padding."""
    out = []
    for token in ids:
        if token == eos_id:
            break
        if token != pad_id:
            out.append(token)
    return out


def translate_ids(
    model: Seq2Seq,
    src: Int[Tensor, "batch src_seq"],
    bos_id: int,
    eos_id: int,
    max_len: int,
    beam_size: int = 1,
    alpha: float = 0.6,
) -> list[list[int]]:
    """Decoded token ids for each source (no BOS, EOS or padding): greedy when beam_size == 1."""
    if beam_size == 1:
        ids = greedy_decode(model, src, bos_id, eos_id, max_len)
        return [strip_special(row, eos_id, model.tgt_pad_id) for row in ids.tolist()]
    best = beam_search(model, src, bos_id, eos_id, max_len, beam_size, alpha)
    return [strip_special(hyps[0].tokens, eos_id, model.tgt_pad_id) for hyps in best]
