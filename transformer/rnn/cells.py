"""Recurrent cells from their equations: the vanilla RNN, the LSTM and the GRU.

Chapter: walkthrough/02_recurrent_networks.md. Papers: Elman 1990 (the simple recurrent
network); Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000 (LSTM);
Cho et al. 2014, §2.3 (GRU).

A cell maps one input x_t and the previous state to the next state:

    RNN    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

    LSTM   i = σ(·), f = σ(·), g = tanh(·), o = σ(·)   each of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
           c_t = f ⊙ c_{t-1} + i ⊙ g
           h_t = o ⊙ tanh(c_t)

    GRU    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
           z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
           n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
           h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Notation map: all gates of a cell share one fused matrix per input, stacked in PyTorch's order
(i, f, g, o for the LSTM; r, z, n for the GRU): `w_ih` (input -> gates) and `w_hh`
(hidden -> gates), each an `nn.Linear` with its bias. The LSTM's candidate cell g is the
papers' c̃ (or z in some texts); the GRU's candidate n is Cho et al.'s h̃.

Every cell splits its work in two, so a layer can run the input half for all time steps at once:
`project_input(x)` computes W_ih x + b_ih, `step(x_proj, state)` does the rest. A state is a
tuple of tensors: `(h,)` for the RNN and GRU, `(h, c)` for the LSTM.

Deviations, as in PyTorch (so the spec can compare with `nn.RNNCell`, `nn.LSTMCell`,
`nn.GRUCell`): two bias vectors per gate (b_ih and b_hh; redundant except for the GRU's n);
the GRU applies its reset gate *after* the hidden linear map, r ⊙ (W_hn h + b_hn), where Cho
et al. wrote W (r ⊙ h); initialisation uniform in ±1/sqrt(hidden_size). `forget_bias` adds a
constant to the LSTM's forget-gate bias at initialisation (Gers et al. 2000; Jozefowicz et al.
2015 recommend 1); its default 0 is PyTorch's initialisation.
"""

import math

import torch
from jaxtyping import Float
from torch import Tensor, nn

from transformer.checks import expect_dtype, expect_integer, expect_shape

State = tuple[Tensor, ...]


# exercise(recurrent): Elman's cell: the next state h_t from the two projections x_proj = W_ih x_t +
#   b_ih and h_proj = W_hh h_{t-1} + b_hh (section "The RNN cell").
#   hint: Elman's cell: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), given the two projections
#     x_proj = W_ih x_t + b_ih and h_proj = W_hh h_{t-1} + b_hh.
def rnn_step(
    x_proj: Float[Tensor, "*batch hidden"], h_proj: Float[Tensor, "*batch hidden"]
) -> Float[Tensor, "*batch hidden"]:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), from the two projections."""
    return torch.tanh(x_proj + h_proj)


# exercise(recurrent): the LSTM's input, forget and output gates and its candidate cell g from the
#   fused pre-activations (the LSTM equations: i, f, g, o); return (i, f, g, o).
#   hint: x_proj + h_proj holds four blocks of hidden_size side by side, in PyTorch's order i, f, g,
#     o; the three gates lie in (0, 1), the candidate g in (-1, 1).
#   hint: split x_proj + h_proj into four blocks in PyTorch's order i, f, g, o; return (sigmoid(i),
#     sigmoid(f), tanh(g), sigmoid(o)).
def lstm_gates(
    x_proj: Float[Tensor, "*batch gates"], h_proj: Float[Tensor, "*batch gates"]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The input, forget and output gates (in (0, 1)) and the candidate cell g (in (-1, 1))."""
    i, f, g, o = (x_proj + h_proj).chunk(4, dim=-1)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


# exercise(recurrent): one LSTM step: the next hidden state h_t and cell state c_t from the
#   projections and c_{t-1} (the LSTM's c_t and h_t equations); return (h_t, c_t).
#   hint: take the gates from lstm_gates; the cell state keeps part of c_{t-1} and adds part of the
#     candidate, with no weight matrix on that path; h_t is the output gate times a squashed c_t.
#   hint: c_t = f * c_{t-1} + i * g (the additive cell path), h_t = o * tanh(c_t), with the gates
#     from lstm_gates; return (h_t, c_t).
def lstm_step(
    x_proj: Float[Tensor, "*batch gates"], h_proj: Float[Tensor, "*batch gates"], c: Float[Tensor, "*batch hidden"]
) -> tuple[Float[Tensor, "*batch hidden"], Float[Tensor, "*batch hidden"]]:
    """c_t = f ⊙ c_{t-1} + i ⊙ g (the additive cell path), h_t = o ⊙ tanh(c_t)."""
    i, f, g, o = lstm_gates(x_proj, h_proj)
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


# exercise(recurrent): the GRU's reset gate r, update gate z and candidate n from the two
#   projections (the GRU equations, in PyTorch's variant); return (r, z, n).
#   hint: each projection holds three blocks, r, z, n in that order; split x_proj and h_proj
#     separately, since the reset gate multiplies only the hidden part of n; r and z are gates in
#     (0, 1), n a candidate in (-1, 1).
#   hint: split x_proj and h_proj each into r, z, n blocks; r = sigmoid(x_r + h_r), z = sigmoid(x_z
#     + h_z), n = tanh(x_n + r * h_n) (the reset gate after the hidden map, as PyTorch); return (r,
#     z, n).
def gru_gates(
    x_proj: Float[Tensor, "*batch gates"], h_proj: Float[Tensor, "*batch gates"]
) -> tuple[Tensor, Tensor, Tensor]:
    """The reset and update gates (in (0, 1)) and the candidate state n (in (-1, 1))."""
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate after the hidden map, as PyTorch
    return r, z, n


# exercise(recurrent): one GRU step: the next state h_t from the projections and h_{t-1} (the last
#   GRU equation).
#   hint: h_t = (1 - z) * n + z * h_{t-1}, with z and n from gru_gates.
def gru_step(
    x_proj: Float[Tensor, "*batch gates"], h_proj: Float[Tensor, "*batch gates"], h: Float[Tensor, "*batch hidden"]
) -> Float[Tensor, "*batch hidden"]:
    """h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}: z = 1 keeps the old state, z = 0 takes the candidate."""
    _, z, n = gru_gates(x_proj, h_proj)
    return (1 - z) * n + z * h


class RecurrentCell(nn.Module):
    """What every cell shares: the two fused projections and the state layout."""

    n_gates: int  # blocks of hidden_size in the fused projections
    n_states: int  # tensors in a state: 1 (h) or 2 (h, c)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        expect_integer(f"{type(self).__name__}.input_size", input_size)
        expect_integer(f"{type(self).__name__}.hidden_size", hidden_size)
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"{type(self).__name__}: expected input_size >= 1 and hidden_size >= 1, "
                f"got {input_size} and {hidden_size}"
            )
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w_ih = nn.Linear(input_size, self.n_gates * hidden_size)
        self.w_hh = nn.Linear(hidden_size, self.n_gates * hidden_size)
        bound = 1 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def initial_state(self, batch: int, like: Tensor) -> State:
        """All-zero state for `batch` sequences, on `like`'s device and dtype."""
        zeros = like.new_zeros(batch, self.hidden_size)
        return (zeros,) * self.n_states

    def project_input(self, x: Float[Tensor, "*batch input"]) -> Float[Tensor, "*batch gates"]:
        """W_ih x + b_ih: the part of every gate that depends on the input only."""
        return self.w_ih(x)

    def step(self, x_proj: Tensor, state: State) -> State:
        raise NotImplementedError

    def forward(self, x: Float[Tensor, "batch input"], state: State | None = None) -> State:
        """The next state, from input x_t and the previous state (zeros when None)."""
        self._check(x, state)
        if state is None:
            state = self.initial_state(x.shape[0], x)
        return self.step(self.project_input(x), state)

    def _check(self, x: Tensor, state: State | None) -> None:
        """One clear line for an input or a state that does not fit this cell."""
        expect_shape("x", x, "batch input", input=self.input_size)
        dtype = self.w_ih.weight.dtype
        expect_dtype("x", x, dtype)
        if state is None:
            return
        if not isinstance(state, (tuple, list)) or len(state) != self.n_states:
            got = f"{len(state)} tensor(s)" if isinstance(state, (tuple, list)) else type(state).__name__
            raise ValueError(f"state: expected a tuple of {self.n_states} tensor(s) for a {type(self).__name__}, got {got}")
        for name, tensor in zip(("h", "c"), state):
            expect_shape(f"state {name}", tensor, "batch hidden", batch=x.shape[0], hidden=self.hidden_size)
            expect_dtype(f"state {name}", tensor, dtype)


class RNNCell(RecurrentCell):
    """Elman's cell: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    n_gates, n_states = 1, 1

    def step(self, x_proj: Float[Tensor, "batch hidden"], state: State) -> State:
        (h,) = state
        return (rnn_step(x_proj, self.w_hh(h)),)


class LSTMCell(RecurrentCell):
    """Long short-term memory: a cell state c that gates add to and forget from."""

    n_gates, n_states = 4, 2

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size)
        with torch.no_grad():
            self.w_hh.bias[hidden_size : 2 * hidden_size] += forget_bias

    def gates(self, x: Float[Tensor, "batch input"], state: State) -> dict[str, Tensor]:
        """The gate values for input x and the previous state, by name (for plots and tests)."""
        self._check(x, state)
        i, f, g, o = lstm_gates(self.project_input(x), self.w_hh(state[0]))
        return {"input": i, "forget": f, "candidate": g, "output": o}

    def step(self, x_proj: Float[Tensor, "batch gates"], state: State) -> State:
        h, c = state
        return lstm_step(x_proj, self.w_hh(h), c)


class GRUCell(RecurrentCell):
    """Gated recurrent unit: the update gate interpolates between old state and candidate."""

    n_gates, n_states = 3, 1

    def gates(self, x: Float[Tensor, "batch input"], state: State) -> dict[str, Tensor]:
        """The gate values for input x and the previous state, by name (for plots and tests)."""
        self._check(x, state)
        r, z, n = gru_gates(self.project_input(x), self.w_hh(state[0]))
        return {"reset": r, "update": z, "candidate": n}

    def step(self, x_proj: Float[Tensor, "batch gates"], state: State) -> State:
        (h,) = state
        return (gru_step(x_proj, self.w_hh(h), h),)


CELLS: dict[str, type[RecurrentCell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(kind: str, input_size: int, hidden_size: int, forget_bias: float = 0.0) -> RecurrentCell:
    """A cell by name: "rnn", "lstm" or "gru" (`forget_bias` only applies to the LSTM)."""
    if kind not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {kind!r}")
    if kind == "lstm":
        return LSTMCell(input_size, hidden_size, forget_bias)
    return CELLS[kind](input_size, hidden_size)
