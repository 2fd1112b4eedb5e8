"""Spec for the recurrent cells: PyTorch equivalence, gate ranges, the LSTM's memory, gradients."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, seeds
from torch import nn
from torch.func import functional_call

from transformer.rnn.cells import GRUCell, LSTMCell, RNNCell, make_cell

pytestmark = pytest.mark.recurrent


OURS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
THEIRS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def cell_pair(kind: str, input_size: int, hidden_size: int):
    """Our cell and PyTorch's, with our weights copied across, both float64."""
    ours = OURS[kind](input_size, hidden_size).double()
    theirs = THEIRS[kind](input_size, hidden_size).double()
    with torch.no_grad():
        theirs.weight_ih.copy_(ours.w_ih.weight)
        theirs.weight_hh.copy_(ours.w_hh.weight)
        theirs.bias_ih.copy_(ours.w_ih.bias)
        theirs.bias_hh.copy_(ours.w_hh.bias)
    return ours, theirs


def random_state(kind: str, batch: int, hidden: int, generator: torch.Generator):
    n_states = 2 if kind == "lstm" else 1
    return tuple(torch.randn(batch, hidden, generator=generator, dtype=torch.float64) for _ in range(n_states))


@given(kind=st.sampled_from(sorted(OURS)), sizes=distinct_sizes(3, 1, 9), seed=seeds())
def test_cell_equals_pytorch_cell_with_copied_weights(kind, sizes, seed):
    """Same equations, same fused gate order (i,f,g,o / r,z,n), so the same next state."""
    batch, input_size, hidden = sizes
    generator = torch.Generator().manual_seed(seed)
    ours, theirs = cell_pair(kind, input_size, hidden)
    x = torch.randn(batch, input_size, generator=generator, dtype=torch.float64)
    state = random_state(kind, batch, hidden, generator)
    expected = theirs(x, state if kind == "lstm" else state[0])
    expected = expected if kind == "lstm" else (expected,)
    actual = ours(x, state)
    for name, a, e in zip(("h", "c"), actual, expected):
        torch.testing.assert_close(a, e, msg=lambda m, name=name: f"{kind} cell: {name} differs from PyTorch's. {m}")


@pytest.mark.parametrize("kind", sorted(OURS))
def test_cell_starts_from_zero_state_when_none_is_given(kind):
    """`state=None` means the all-zero state, as in PyTorch."""
    ours, theirs = cell_pair(kind, 3, 4)
    x = torch.randn(2, 3, dtype=torch.float64)
    expected = theirs(x)
    torch.testing.assert_close(ours(x)[0], expected[0] if kind == "lstm" else expected)


@given(kind=st.sampled_from(["lstm", "gru"]), scale=st.sampled_from([1.0, 10.0, 100.0]), seed=seeds())
def test_gates_lie_in_zero_one_and_candidates_in_minus_one_one(kind, scale, seed):
    """Gates are sigmoids, candidates are tanh: bounded whatever the input's size."""
    generator = torch.Generator().manual_seed(seed)
    cell = OURS[kind](5, 6).double()
    x = scale * torch.randn(4, 5, generator=generator, dtype=torch.float64)
    gates = cell.gates(x, random_state(kind, 4, 6, generator))
    for name, value in gates.items():
        low, high = (-1.0, 1.0) if name == "candidate" else (0.0, 1.0)
        assert low <= value.min() and value.max() <= high, (
            f"{kind} {name} gate left [{low}, {high}]: range [{value.min():.3g}, {value.max():.3g}]"
        )


def test_lstm_with_forget_gate_one_and_input_gate_zero_keeps_its_cell_state():
    """c_t = f ⊙ c_{t-1} + i ⊙ g: with f = 1 and i = 0 the cell state is carried unchanged."""
    cell = LSTMCell(3, 4).double()
    hidden = 4
    with torch.no_grad():  # saturate the gates: sigmoid(+1000) = 1, sigmoid(-1000) = 0 exactly
        cell.w_hh.bias[:hidden] = -1000.0  # input gate i
        cell.w_hh.bias[hidden : 2 * hidden] = 1000.0  # forget gate f
    c = torch.randn(5, hidden, dtype=torch.float64)
    state = (torch.randn(5, hidden, dtype=torch.float64), c)
    for _ in range(20):
        state = cell(torch.randn(5, 3, dtype=torch.float64), state)
    torch.testing.assert_close(state[1], c, rtol=0, atol=0, msg=lambda m: f"the cell state drifted. {m}")


def test_gru_with_update_gate_one_keeps_its_state():
    """h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}: with z = 1 the state is carried unchanged."""
    cell = GRUCell(3, 4).double()
    with torch.no_grad():
        cell.w_hh.bias[4:8] = 1000.0  # update gate z (order r, z, n)
    h = torch.randn(5, 4, dtype=torch.float64)
    state = (h,)
    for _ in range(20):
        state = cell(torch.randn(5, 3, dtype=torch.float64), state)
    torch.testing.assert_close(state[0], h, rtol=0, atol=0, msg=lambda m: f"the GRU state drifted. {m}")


@given(kind=st.sampled_from(sorted(OURS)), seed=seeds())
def test_hidden_state_of_every_cell_is_bounded_by_one(kind, seed):
    """h is a tanh (RNN), o ⊙ tanh(c) (LSTM) or a mix of tanh and h_0 (GRU): |h| <= 1 from h_0 = 0."""
    generator = torch.Generator().manual_seed(seed)
    cell = OURS[kind](3, 5).double()
    state = None
    for _ in range(10):
        state = cell(100 * torch.randn(4, 3, generator=generator, dtype=torch.float64), state)
        assert state[0].abs().max() <= 1.0, f"{kind}: |h| reached {state[0].abs().max():.6g} > 1"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradients_through_one_step_match_finite_differences(kind):
    """Autograd through one step (inputs, state and every weight) agrees with finite differences."""
    cell = OURS[kind](3, 4).double()
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    n_states = cell.n_states

    def one_step(x, *rest):
        state, weights = rest[:n_states], rest[n_states:]
        return functional_call(cell, dict(zip(names, weights)), (x, tuple(state)))

    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    state = [torch.randn(2, 4, dtype=torch.float64, requires_grad=True) for _ in range(n_states)]
    assert torch.autograd.gradcheck(one_step, (x, *state, *params)), f"{kind}: gradcheck failed"


def test_forget_bias_shifts_only_the_forget_gate_bias():
    """`forget_bias` is an initialisation choice: it moves the f block of the bias and nothing else."""
    torch.manual_seed(1)
    plain = LSTMCell(3, 4)
    torch.manual_seed(1)
    biased = LSTMCell(3, 4, forget_bias=2.0)
    shift = biased.w_hh.bias - plain.w_hh.bias
    torch.testing.assert_close(shift, torch.tensor([0.0] * 4 + [2.0] * 4 + [0.0] * 8))
    torch.testing.assert_close(biased.w_ih.weight, plain.w_ih.weight)


def test_unknown_cell_kind_is_refused_with_the_choices(runtime_checks):
    """A typo names the valid cells."""
    with pytest.raises(ValueError, match=r"cell: expected one of \['gru', 'lstm', 'rnn'\], got 'lstn'"):
        make_cell("lstn", 3, 4)


def test_non_positive_sizes_are_refused(runtime_checks):
    with pytest.raises(ValueError, match="expected input_size >= 1 and hidden_size >= 1, got 3 and 0"):
        GRUCell(3, 0)
