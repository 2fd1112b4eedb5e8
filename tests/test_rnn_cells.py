"""Spec for the recurrent cells: PyTorch equivalence, gate ranges, the LSTM's memory, gradients."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, seeds
from torch import nn
from torch.func import functional_call

from transformer.rnn.cells import GRUCell, LSTMCell, RNNCell, gru_gates, lstm_gates, make_cell

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
    torch.testing.assert_close(
        ours(x)[0], expected[0] if kind == "lstm" else expected,
        msg=lambda m: f"{kind} cell: with state=None, h differs from PyTorch's from the all-zero state. {m}")


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
    candidate = gates["candidate"]
    assert candidate.min() < 0, (
        f"{kind} candidate {'g' if kind == 'lstm' else 'n'} never goes below 0 (least value "
        f"{candidate.min():.3g} over {candidate.numel()} entries): it should be tanh, in (-1, 1), not a sigmoid")


# ---------------------------------------------------------------- each gate, in PyTorch's order
# PyTorch stacks the gates' weights in one matrix: weight_ih = (W_ii | W_if | W_ig | W_io) for the
# LSTM and (W_ir | W_iz | W_in) for the GRU, and the same for weight_hh and the biases. Each gate
# is checked on its own, so a swapped block or a wrong activation is named.

LSTM_GATES = ("input", "forget", "candidate", "output")  # blocks 0..3: i, f, g, o
GRU_GATES = ("reset", "update", "candidate")  # blocks 0..2: r, z, n
LETTERS = {"lstm": "ifgo", "gru": "rzn"}
ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}


def pytorch_gates(kind: str, theirs: nn.Module, x: torch.Tensor, h: torch.Tensor):
    """PyTorch's gates from its own weight layout: ({gate: value}, the blocks each gate is an activation of)."""
    x_proj = x @ theirs.weight_ih.T + theirs.bias_ih
    h_proj = h @ theirs.weight_hh.T + theirs.bias_hh
    if kind == "lstm":
        blocks = (x_proj + h_proj).chunk(4, dim=-1)
        i, f, g, o = blocks
        return {"input": i.sigmoid(), "forget": f.sigmoid(), "candidate": g.tanh(), "output": o.sigmoid()}, blocks
    (x_r, x_z, x_n), (h_r, h_z, h_n) = x_proj.chunk(3, dim=-1), h_proj.chunk(3, dim=-1)
    r = (x_r + h_r).sigmoid()
    blocks = (x_r + h_r, x_z + h_z, x_n + r * h_n)
    return {"reset": r, "update": (x_z + h_z).sigmoid(), "candidate": blocks[2].tanh()}, blocks


def what_the_gate_is(kind: str, value: torch.Tensor, blocks, x_proj_h_proj=None) -> str:
    """Which activation of which block `value` equals, to say what went wrong."""
    letters = LETTERS[kind]
    for k, block in enumerate(blocks):
        for name, activation in ACTIVATIONS.items():
            if value.shape == block.shape and torch.allclose(value, activation(block)):
                return f"it is {name}(block {k}), the pre-activation of {letters[k]}"
    if kind == "gru" and x_proj_h_proj is not None:
        x_n, h_n = x_proj_h_proj
        for name, activation in ACTIVATIONS.items():
            if value.shape == x_n.shape and torch.allclose(value, activation(x_n + h_n)):
                return f"it is {name}(x_n + h_n): the reset gate r is missing, n = tanh(x_n + r * h_n)"
    return "it is no sigmoid or tanh of any one block"


@pytest.mark.parametrize("gate", LSTM_GATES)
@given(seed=seeds())
def test_each_lstm_gate_is_its_own_block_of_pytorchs_order_i_f_g_o(gate, seed):
    """PyTorch's fused LSTM projection holds the blocks i, f, g, o in that order: i, f, o are
    sigmoids of their blocks and g is the tanh of its block, so each gate can be checked alone."""
    generator = torch.Generator().manual_seed(seed)
    ours, theirs = cell_pair("lstm", 3, 5)
    x = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    h, c = random_state("lstm", 4, 5, generator)
    expected, blocks = pytorch_gates("lstm", theirs, x, h)
    actual = ours.gates(x, (h, c))[gate]
    k = LSTM_GATES.index(gate)
    activation = "tanh" if gate == "candidate" else "sigmoid"
    torch.testing.assert_close(actual, expected[gate], msg=lambda m: (
        f"lstm {gate}{'' if gate == 'candidate' else ' gate'} {LETTERS['lstm'][k]} differs from PyTorch's, "
        f"{activation}(block {k}) of x_proj + h_proj "
        f"(hidden columns {5 * k}:{5 * (k + 1)}), by up to {float((actual - expected[gate]).abs().max()):.3g}: "
        f"{what_the_gate_is('lstm', actual, blocks)}. The blocks come in PyTorch's order i, f, g, o. {m}"))


@pytest.mark.parametrize("gate", GRU_GATES)
@given(seed=seeds())
def test_each_gru_gate_is_its_own_block_of_pytorchs_order_r_z_n(gate, seed):
    """PyTorch's fused GRU projections hold the blocks r, z, n in that order: r and z are sigmoids
    of x + h blocks, n = tanh(x_n + r * h_n) with the reset gate after the hidden map."""
    generator = torch.Generator().manual_seed(seed)
    ours, theirs = cell_pair("gru", 3, 5)
    x = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    (h,) = random_state("gru", 4, 5, generator)
    expected, blocks = pytorch_gates("gru", theirs, x, h)
    actual = ours.gates(x, (h,))[gate]
    k = GRU_GATES.index(gate)
    formula = "tanh(x_n + r * h_n)" if gate == "candidate" else f"sigmoid(x_{'rz'[k]} + h_{'rz'[k]})"
    x_n = (x @ theirs.weight_ih.T + theirs.bias_ih).chunk(3, dim=-1)[2]
    h_n = (h @ theirs.weight_hh.T + theirs.bias_hh).chunk(3, dim=-1)[2]
    torch.testing.assert_close(actual, expected[gate], msg=lambda m: (
        f"gru {gate}{'' if gate == 'candidate' else ' gate'} {LETTERS['gru'][k]} differs from PyTorch's {formula} "
        f"(block {k} of each projection, "
        f"hidden columns {5 * k}:{5 * (k + 1)}) by up to {float((actual - expected[gate]).abs().max()):.3g}: "
        f"{what_the_gate_is('gru', actual, blocks, (x_n, h_n))}. The blocks come in PyTorch's order r, z, n. {m}"))


def gate_inputs(blocks: int, hidden: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x_proj and h_proj of `blocks` blocks, spread wide enough that every block takes both signs."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(2 * torch.randn(6, blocks * hidden, generator=generator, dtype=torch.float64) for _ in range(2))


@given(seed=seeds())
def test_lstm_candidate_g_is_tanh_of_its_pre_activation_and_takes_negative_values(seed):
    """g = tanh(block 2 of x_proj + h_proj): it writes negative as well as positive values into the
    cell, which a sigmoid (in (0, 1)) never could; the cell could then only grow."""
    x_proj, h_proj = gate_inputs(4, 5, seed)
    g = lstm_gates(x_proj, h_proj)[2]
    pre_activation = (x_proj + h_proj).chunk(4, dim=-1)[2]
    assert g.min() < 0, (
        f"candidate g never goes below 0 (least value {g.min():.3g}, while its pre-activation reaches "
        f"{pre_activation.min():.3g}): it should be tanh, in (-1, 1)")
    torch.testing.assert_close(g, pre_activation.tanh(), msg=lambda m: (
        f"candidate g differs from tanh of its pre-activation (block 2 of x_proj + h_proj, order i, f, g, o) by up to "
        f"{float((g - pre_activation.tanh()).abs().max()):.3g}: "
        f"{what_the_gate_is('lstm', g, (x_proj + h_proj).chunk(4, dim=-1))}. {m}"))


@given(seed=seeds())
def test_gru_candidate_n_is_tanh_of_x_n_plus_r_times_h_n_and_takes_negative_values(seed):
    """n = tanh(x_n + r * h_n), PyTorch's form with the reset gate after the hidden map: in
    (-1, 1), negative where its pre-activation is."""
    x_proj, h_proj = gate_inputs(3, 5, seed)
    r, _, n = gru_gates(x_proj, h_proj)
    (x_r, x_z, x_n), (h_r, h_z, h_n) = x_proj.chunk(3, dim=-1), h_proj.chunk(3, dim=-1)
    pre_activation = x_n + (x_r + h_r).sigmoid() * h_n
    assert n.min() < 0, (
        f"candidate n never goes below 0 (least value {n.min():.3g}, while its pre-activation reaches "
        f"{pre_activation.min():.3g}): it should be tanh, in (-1, 1)")
    blocks = (x_r + h_r, x_z + h_z, pre_activation)
    torch.testing.assert_close(n, pre_activation.tanh(), msg=lambda m: (
        f"candidate n differs from tanh(x_n + r * h_n) by up to {float((n - pre_activation.tanh()).abs().max()):.3g}: "
        f"{what_the_gate_is('gru', n, blocks, (x_n, h_n))}. {m}"))


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
    torch.testing.assert_close(shift, torch.tensor([0.0] * 4 + [2.0] * 4 + [0.0] * 8), msg=lambda m: (
        f"forget_bias=2 should add 2 to the f block (hidden columns 4:8, order i, f, g, o) of w_hh.bias only; "
        f"it added {shift.tolist()}. {m}"))
    torch.testing.assert_close(biased.w_ih.weight, plain.w_ih.weight, msg=lambda m: f"forget_bias changed w_ih. {m}")


def test_unknown_cell_kind_is_refused_with_the_choices(runtime_checks):
    """A typo names the valid cells."""
    with pytest.raises(ValueError, match=r"cell: expected one of \['gru', 'lstm', 'rnn'\], got 'lstn'"):
        make_cell("lstn", 3, 4)


def test_non_positive_sizes_are_refused(runtime_checks):
    with pytest.raises(ValueError, match="expected input_size >= 1 and hidden_size >= 1, got 3 and 0"):
        GRUCell(3, 0)
