"""Spec for Bahdanau and Luong attention: distributions over the real source, and nothing else."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, key_padding_masks, padded_ids, seeds

from transformer.masks import masked_softmax
from transformer.rnn.attention import BahdanauAttention, LuongAttention
from transformer.rnn.seq2seq import RecurrentConfig, build_recurrent

pytestmark = pytest.mark.rnn_attention



def make_attention(kind: str, size: int):
    if kind == "bahdanau":
        return BahdanauAttention(size, size, attention_size=size + 1).double()
    return LuongAttention(size, size, score=kind).double()


@st.composite
def attention_inputs(draw):
    """(query, memory, mask) with batch, src_seq and size pairwise distinct."""
    batch, src_seq, size = draw(distinct_sizes(3, 2, 7))
    mask = draw(key_padding_masks(batch, src_seq))
    generator = torch.Generator().manual_seed(draw(seeds()))
    query = torch.randn(batch, size, generator=generator, dtype=torch.float64)
    memory = torch.randn(batch, src_seq, size, generator=generator, dtype=torch.float64)
    return query, memory, mask


kinds = st.sampled_from(["bahdanau", "dot", "general"])


@given(kind=kinds, data=attention_inputs())
def test_attention_weights_sum_to_one_over_the_source_and_are_zero_on_padding(kind, data):
    """α is a softmax over the real source positions only."""
    query, memory, mask = data
    attention = make_attention(kind, query.shape[1])
    _, weights = attention(query, attention.project_keys(memory), memory, mask)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(query.shape[0], dtype=torch.float64),
                               msg=lambda m: f"{kind}: weights do not sum to 1. {m}")
    assert (weights[~mask] == 0).all(), f"{kind}: weight {weights[~mask].abs().max():.3g} on padding"
    assert (weights[mask] > 0).all(), f"{kind}: a real source position got zero weight"


@given(kind=kinds, data=attention_inputs())
def test_context_is_the_weighted_mean_of_the_memory_and_ignores_padded_memory(kind, data):
    """c = Σ_j α_j h_j: garbage at padded positions contributes nothing."""
    query, memory, mask = data
    attention = make_attention(kind, query.shape[1])
    context, weights = attention(query, attention.project_keys(memory), memory, mask)
    torch.testing.assert_close(context, (weights[..., None] * memory).sum(dim=1), msg=lambda m: (
        f"{kind}: the context is not sum_j alpha_j h_j, the weighted mean of the memory. {m}"))
    garbage = torch.where(mask[..., None], memory, 1e3 * torch.randn_like(memory))
    other_context, _ = attention(query, attention.project_keys(garbage), garbage, mask)
    torch.testing.assert_close(other_context, context, msg=lambda m: f"{kind}: padded memory leaked. {m}")


@given(data=attention_inputs())
def test_general_score_with_identity_matrix_is_the_dot_score(data):
    """q^T W_a h_j with W_a = I is q^T h_j: the two Luong scores are one family."""
    query, memory, mask = data
    dot, general = make_attention("dot", query.shape[1]), make_attention("general", query.shape[1])
    with torch.no_grad():
        general.w_a.weight.copy_(torch.eye(query.shape[1]))
    torch.testing.assert_close(general(query, general.project_keys(memory), memory, mask),
                               dot(query, dot.project_keys(memory), memory, mask),
                               msg=lambda m: f"the general score q^T W_a h_j with W_a = I differs from the dot score q^T h_j. {m}")


@given(data=attention_inputs(), extra=st.integers(0, 2))
def test_additive_score_is_v_tanh_of_projected_query_plus_projected_key(data, extra):
    """Bahdanau's e_j = v^T tanh(W_a q + U_a h_j), one pair (query, h_j) at a time."""
    query, memory, mask = data
    attention = BahdanauAttention(query.shape[1], query.shape[1], attention_size=query.shape[1] + extra).double()
    _, weights = attention(query, attention.project_keys(memory), memory, mask)
    for b in range(query.shape[0]):
        scores = torch.stack([attention.v @ torch.tanh(attention.w_query(query[b]) + attention.w_key(h)) for h in memory[b]])
        expected = torch.softmax(scores[mask[b]], dim=0)
        torch.testing.assert_close(weights[b][mask[b]], expected, msg=lambda m, b=b: (
            f"row {b}: the weights are not the softmax of e_j = v^T tanh(W_a q + U_a h_j) over the real positions. {m}"))


@given(data=attention_inputs())
def test_masked_softmax_is_the_softmax_of_the_real_positions(data):
    """Masking then softmax equals softmax over the kept entries, zero-padded."""
    _, memory, mask = data
    scores = memory[..., 0]
    weights = masked_softmax(scores, mask)
    for b in range(scores.shape[0]):
        torch.testing.assert_close(weights[b][mask[b]], scores[b][mask[b]].softmax(dim=0), msg=lambda m, b=b: (
            f"row {b}: the weights on the real positions are not the softmax of their scores alone. {m}"))


@given(config=st.builds(
    lambda cell, attention, score, bidirectional, reverse: RecurrentConfig.tiny(
        9, 10, cell=cell, attention=attention, score=score, bidirectional_encoder=bidirectional,
        reverse_source=reverse, embedding_size=6, hidden_size=8),
    st.sampled_from(["rnn", "lstm", "gru"]), st.sampled_from(["bahdanau", "luong"]), st.sampled_from(["dot", "general"]),
    st.booleans(), st.booleans()),
    src=padded_ids(3, 6, 9), seed=seeds())
def test_model_alignment_rows_are_distributions_over_the_real_source(config, src, seed):
    """Every decoding step's weights in the state, and every teacher-forced row, sum to 1 off padding."""
    model = build_recurrent(config).double().eval()
    tgt_in = torch.randint(1, 10, (3, 4), generator=torch.Generator().manual_seed(seed))
    real = src != 0
    alignment = model.attention_weights(src, tgt_in)
    assert alignment.shape == (3, 4, 6), f"alignment {tuple(alignment.shape)}, expected (batch, tgt_seq, src_seq) = (3, 4, 6)"
    state = model.start_decoding(src)
    for t in range(4):
        _, state = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(state["attention"], alignment[:, t], msg=lambda m, t=t: f"step {t}. {m}")
    torch.testing.assert_close(alignment.sum(-1), torch.ones(3, 4, dtype=torch.float64), msg=lambda m: (
        f"an alignment row does not sum to 1: each must be a distribution over the source. {m}"))
    assert (alignment.masked_select(~real[:, None, :]) == 0).all(), "attention on source padding"


@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), src=padded_ids(3, 6, 9), seed=seeds())
def test_bahdanau_queries_with_the_top_layer_previous_state(cell, src, seed):
    """e_ij = score(s_{i-1}, h_j): the weights of step i are fixed before the step runs, by the
    top layer's previous state alone; lower layers do not enter them."""
    config = RecurrentConfig.tiny(9, 10, cell=cell, attention="bahdanau", n_layers=3, embedding_size=6, hidden_size=8)
    model = build_recurrent(config).double().eval()
    generator = torch.Generator().manual_seed(seed)
    state = model.start_decoding(src)
    tokens = torch.randint(1, 10, (3,), generator=generator)
    _, expected = model.decode_step(tokens, state)
    lower = dict(state, hidden=state["hidden"].clone())
    lower["hidden"][:, :-1] = torch.randn(3, 2, 8, generator=generator, dtype=torch.float64)
    _, changed_lower = model.decode_step(tokens, lower)
    torch.testing.assert_close(changed_lower["attention"], expected["attention"],
                               msg=lambda m: f"{cell}: lower layers changed Bahdanau's weights. {m}")
    top = dict(state, hidden=state["hidden"].clone())
    top["hidden"][:, -1] = torch.randn(3, 8, generator=generator, dtype=torch.float64)
    _, changed_top = model.decode_step(tokens, top)
    assert not torch.allclose(changed_top["attention"], expected["attention"]), "the top layer's state is not the query"


@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), src=padded_ids(3, 6, 9), seed=seeds())
def test_luong_feeds_the_attentional_state_that_made_the_prediction(cell, src, seed):
    """Input feeding: the h~_t that produced step t's logits (logits = W_s h~_t) is what the
    next step reads as `feed`; it starts at zero."""
    config = RecurrentConfig.tiny(9, 10, cell=cell, attention="luong", n_layers=2, embedding_size=6, hidden_size=8)
    model = build_recurrent(config).double().eval()
    state = model.start_decoding(src)
    assert (state["feed"] == 0).all(), "h~_0 should be zero"
    tokens = torch.randint(1, 10, (3, 3), generator=torch.Generator().manual_seed(seed))
    for t in range(3):
        logits, state = model.decode_step(tokens[:, t], state)
        torch.testing.assert_close(model.generator(state["feed"]), logits,
                                   msg=lambda m, t=t: f"{cell}, step {t}: feed is not the attentional state. {m}")


def test_a_model_without_attention_has_no_alignment(runtime_checks):
    model = build_recurrent(RecurrentConfig.tiny(9, 10))
    with pytest.raises(ValueError, match="built with attention='none'"):
        model.attention_weights(torch.tensor([[4]]), torch.tensor([[1]]))


def test_dot_score_needs_equal_sizes(runtime_checks):
    with pytest.raises(ValueError, match="dot score needs query_size == memory_size, got 4 and 6"):
        LuongAttention(4, 6, score="dot")
