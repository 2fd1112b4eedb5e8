"""Running a cell over a padded batch: stacked layers, dropout between them, both directions.

Chapter: walkthrough/02_recurrent_networks.md. The same computation as `nn.RNN`, `nn.LSTM` and
`nn.GRU` given a `pack_padded_sequence`, written as a loop over time.

Sequences are right-padded: sequence b holds real tokens at positions < lengths[b]. Padding
must not leak into results, so at a padded step a sequence's state is simply carried over
(`torch.where`): the forward direction's final state is the state at its true length, the
backward direction starts from its last real token, and outputs at padded positions are zero
(as `pad_packed_sequence` returns them).

Work per time step is kept small: each layer projects its whole input sequence through W_ih in
one matrix multiply before the loop; inside the loop only the hidden map W_hh h runs.

States are batch-first tuples (one tensor for the RNN and GRU, h and c for the LSTM), each
(batch, layers_dirs, hidden); along axis 1 the index is `layer * n_directions + direction`,
PyTorch's order (with PyTorch's (layers_dirs, batch, hidden) transposed).
Dropout is applied to every layer's output except the last, as in PyTorch.
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float, Int, Shaped
from torch import Tensor, nn

from transformer.checks import expect_dtype, expect_probability, expect_shape, expect_sizes
from transformer.rnn.cells import RecurrentCell, State, make_cell


# exercise(recurrent): run one cell along the time axis of a padded batch; return every step's
#   output and the final state, a finished sequence's state held through its padding (section
#   "Running a cell over a padded batch").
#   hint: a Python loop over t with cell.step on the precomputed x_proj[:, t]; where a row is
#     padding (active[:, t] False) it keeps its old state and outputs zeros; reverse runs from the
#     last step to the first but returns the outputs in the sequence's own order.
#   hint: loop over time (back to front if reverse) calling cell.step(x_proj[:, t], state); where
#     active[:, t] is False keep the old state (torch.where) and output zeros; return (outputs
#     stacked along seq in the sequence's own order, the final state).
def run_cell(
    cell: RecurrentCell,
    x_proj: Float[Tensor, "batch seq gates"],
    state: State,
    active: Bool[Tensor, "batch seq"] | None = None,
    reverse: bool = False,
) -> tuple[Float[Tensor, "batch seq hidden"], State]:
    """Run `cell` over the projected inputs, front to back (or back to front if `reverse`).

    `active[b, t]` is False at padding: there the state is carried over unchanged and the
    output is zero. Returns every step's output h_t and the final state.
    """
    seq = x_proj.shape[1]
    outputs = []
    steps = range(seq - 1, -1, -1) if reverse else range(seq)
    for t in steps:
        new_state = cell.step(x_proj[:, t], state)
        if active is not None:
            keep = active[:, t, None]
            new_state = tuple(torch.where(keep, new, old) for new, old in zip(new_state, state))
        state = new_state
        outputs.append(state[0])
    if reverse:
        outputs.reverse()
    hidden = torch.stack(outputs, dim=1)
    if active is not None:
        hidden = hidden.masked_fill(~active[..., None], 0.0)
    return hidden, state


class RecurrentStack(nn.Module):
    """`n_layers` recurrent layers of one cell type; optionally bidirectional.

    Layer 0 reads the input; layer l > 0 reads layer l-1's outputs (both directions concatenated
    when bidirectional), after dropout.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        n_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        forget_bias: float = 0.0,
    ):
        super().__init__()
        expect_sizes("RecurrentStack", input_size=input_size, hidden_size=hidden_size, n_layers=n_layers)
        expect_probability("RecurrentStack.dropout", dropout)
        self.cell_type, self.input_size, self.hidden_size = cell, input_size, hidden_size
        self.n_layers, self.dropout = n_layers, dropout
        self.n_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            make_cell(cell, input_size if layer == 0 else self.n_directions * hidden_size, hidden_size, forget_bias)
            for layer in range(n_layers)
            for _ in range(self.n_directions)
        )
        self.n_states = self.cells[0].n_states

    @property
    def output_size(self) -> int:
        return self.n_directions * self.hidden_size

    def initial_state(self, batch: int, like: Tensor) -> State:
        """All-zero state, each tensor (batch, layers_dirs, hidden)."""
        zeros = like.new_zeros(batch, len(self.cells), self.hidden_size)
        return (zeros,) * self.n_states

    def forward(
        self,
        x: Float[Tensor, "batch seq input"],
        lengths: Int[Tensor, " batch"] | None = None,
        state: State | None = None,
    ) -> tuple[Float[Tensor, "batch seq output"], State]:
        """Outputs of the top layer at every position, and every layer's final state.

        `lengths[b]` is the true length of sequence b (None: no padding). `state` is the initial
        state, a tuple of (batch, layers_dirs, hidden) tensors (None: zeros).
        """
        batch, seq = x.shape[0], x.shape[1]
        expect_shape("x", x, "batch seq input", input=self.input_size)
        expect_dtype("x", x, self._dtype())
        active = None
        if lengths is not None:
            expect_shape("lengths", lengths, "batch", batch=batch)
            active = torch.arange(seq, device=x.device)[None, :] < lengths[:, None]
        if state is None:
            state = self.initial_state(batch, x)
        self._check_state(state, batch)
        finals: list[State] = []
        for layer in range(self.n_layers):
            if layer > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction in range(self.n_directions):
                index = layer * self.n_directions + direction
                cell = self.cells[index]
                start = tuple(s[:, index] for s in state)
                hidden, final = run_cell(cell, cell.project_input(x), start, active, reverse=direction == 1)
                outputs.append(hidden)
                finals.append(final)
            x = torch.cat(outputs, dim=-1)
        final_state = tuple(torch.stack([f[k] for f in finals], dim=1) for k in range(self.n_states))
        return x, final_state

    def step(self, x: Float[Tensor, "batch input"], state: State) -> tuple[Float[Tensor, "batch hidden"], State]:
        """One time step through every layer (unidirectional stacks only), for decoding."""
        if self.n_directions != 1:
            raise ValueError("RecurrentStack.step: a bidirectional stack needs the whole sequence, not one step")
        expect_shape("x", x, "batch input", input=self.input_size)
        expect_dtype("x", x, self._dtype())
        self._check_state(state, x.shape[0])
        new_states = []
        for layer, cell in enumerate(self.cells):
            if layer > 0:
                x = F.dropout(x, self.dropout, self.training)
            layer_state = cell(x, tuple(s[:, layer] for s in state))
            new_states.append(layer_state)
            x = layer_state[0]
        return x, tuple(torch.stack([s[k] for s in new_states], dim=1) for k in range(self.n_states))

    def _dtype(self) -> torch.dtype:
        """The dtype of the weights: inputs and states must have it (outside autocast)."""
        return self.cells[0].w_ih.weight.dtype

    def _check_state(self, state: State, batch: int) -> None:
        if len(state) != self.n_states:
            raise ValueError(f"state: expected {self.n_states} tensor(s) for a {self.cell_type} stack, got {len(state)}")
        for name, tensor in zip(("h", "c"), state):
            expect_shape(f"state {name}", tensor, "batch layers_dirs hidden",
                         batch=batch, layers_dirs=len(self.cells), hidden=self.hidden_size)
            expect_dtype(f"state {name}", tensor, self._dtype())


def to_torch_state(state: Float[Tensor, "batch layers_dirs hidden"]) -> Float[Tensor, "layers_dirs batch hidden"]:
    """Our batch-first state in PyTorch's layout, (layers * directions, batch, hidden)."""
    return rearrange(state, "batch layers_dirs hidden -> layers_dirs batch hidden").contiguous()


def from_torch_state(state: Float[Tensor, "layers_dirs batch hidden"]) -> Float[Tensor, "batch layers_dirs hidden"]:
    """PyTorch's (layers * directions, batch, hidden) state, batch-first."""
    return rearrange(state, "layers_dirs batch hidden -> batch layers_dirs hidden")



def reverse_padded(
    x: Shaped[Tensor, "batch seq *rest"], lengths: Int[Tensor, " batch"]
) -> Shaped[Tensor, "batch seq *rest"]:
    """Reverse each sequence's first `lengths[b]` positions; padding stays where it is.

    Its own inverse: reversing twice gives `x` back. Works for ids and for vectors alike.
    """
    seq = x.shape[1]
    positions = torch.arange(seq, device=x.device)[None, :]
    index = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
    index = index.reshape(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)
