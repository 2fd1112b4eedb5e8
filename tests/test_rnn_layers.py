"""Spec for `RecurrentStack`: PyTorch equivalence on packed batches, and padding that never leaks."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import copy_stack_weights
from strategies import distinct_sizes, lengths, seeds
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from transformer.rnn.layers import RecurrentStack, from_torch_state, reverse_padded, to_torch_state

pytestmark = pytest.mark.recurrent


THEIRS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def stack_pair(kind: str, input_size: int, hidden: int, n_layers: int, bidirectional: bool):
    """Our stack and PyTorch's (batch_first), our weights copied across, float64, eval mode."""
    ours = RecurrentStack(kind, input_size, hidden, n_layers, 0.0, bidirectional).double().eval()
    theirs = THEIRS[kind](input_size, hidden, n_layers, batch_first=True, bidirectional=bidirectional)
    theirs = theirs.double().eval()
    copy_stack_weights(ours, theirs)
    return ours, theirs


@st.composite
def padded_batches(draw, max_len: int = 6):
    """(x, lengths): a right-padded float64 batch whose padded positions hold garbage."""
    batch, seq, input_size = draw(distinct_sizes(3, 1, max_len))
    true_lengths = draw(lengths(batch, seq))
    generator = torch.Generator().manual_seed(draw(seeds()))
    x = torch.randn(batch, seq, input_size, generator=generator, dtype=torch.float64)
    return x, true_lengths


stack_shapes = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(sorted(THEIRS)),
        "n_layers": st.integers(1, 3),
        "bidirectional": st.booleans(),
        "hidden": st.integers(1, 5),
    }
)


@given(shape=stack_shapes, data=padded_batches(), with_initial_state=st.booleans())
def test_stack_equals_pytorch_on_packed_padded_batches(shape, data, with_initial_state):
    """Carrying the state over padding is exactly what packing does: same outputs, same final states."""
    x, true_lengths = data
    ours, theirs = stack_pair(shape["kind"], x.shape[2], shape["hidden"], shape["n_layers"], shape["bidirectional"])
    state = None
    if with_initial_state:
        state = tuple(torch.randn_like(s) for s in ours.initial_state(x.shape[0], x))
    packed = pack_padded_sequence(x, true_lengths, batch_first=True, enforce_sorted=False)
    torch_state = None if state is None else tuple(to_torch_state(s) for s in state)
    if torch_state is not None and shape["kind"] != "lstm":
        torch_state = torch_state[0]
    packed_out, torch_final = theirs(packed, torch_state)
    expected_out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.shape[1])
    expected_final = torch_final if shape["kind"] == "lstm" else (torch_final,)

    actual_out, actual_final = ours(x, true_lengths, state)
    torch.testing.assert_close(actual_out, expected_out, msg=lambda m: f"{shape}: outputs differ from packed PyTorch. {m}")
    for name, a, e in zip(("h", "c"), actual_final, expected_final):
        torch.testing.assert_close(
            a, from_torch_state(e), msg=lambda m, name=name: f"{shape}: final {name} differs from packed PyTorch. {m}"
        )


@given(shape=stack_shapes, data=padded_batches())
def test_padding_content_does_not_change_real_outputs_or_final_states(shape, data):
    """Whatever sits at padded positions, a sequence only ever reads its own real inputs."""
    x, true_lengths = data
    stack = RecurrentStack(shape["kind"], x.shape[2], shape["hidden"], shape["n_layers"],
                           bidirectional=shape["bidirectional"]).double()
    padding = torch.arange(x.shape[1])[None, :] >= true_lengths[:, None]
    other = torch.where(padding[..., None], 1000 * torch.randn_like(x), x)
    out, final = stack(x, true_lengths)
    other_out, other_final = stack(other, true_lengths)
    torch.testing.assert_close(out, other_out, msg=lambda m: f"padding leaked into the outputs. {m}")
    assert (out[padding] == 0).all(), "outputs at padded positions are not zero"
    for a, b in zip(final, other_final):
        torch.testing.assert_close(a, b, msg=lambda m: f"padding leaked into the final state. {m}")


@given(shape=stack_shapes, data=padded_batches())
def test_a_sequence_result_does_not_depend_on_the_rest_of_its_batch(shape, data):
    """Each row runs alone, trimmed to its true length, and gives what it gave in the batch."""
    x, true_lengths = data
    stack = RecurrentStack(shape["kind"], x.shape[2], shape["hidden"], shape["n_layers"],
                           bidirectional=shape["bidirectional"]).double()
    out, final = stack(x, true_lengths)
    for b, n in enumerate(true_lengths.tolist()):
        alone_out, alone_final = stack(x[b : b + 1, :n])
        torch.testing.assert_close(out[b : b + 1, :n], alone_out, msg=lambda m: f"row {b}: outputs depend on the batch. {m}")
        for a, single in zip(final, alone_final):
            torch.testing.assert_close(a[b : b + 1], single, msg=lambda m: f"row {b}: final state depends on the batch. {m}")


@given(data=padded_batches(), kind=st.sampled_from(sorted(THEIRS)))
def test_bidirectional_final_states_are_the_outputs_at_each_direction_end(data, kind):
    """Forward ends at the last real position, backward ends at position 0."""
    x, true_lengths = data
    stack = RecurrentStack(kind, x.shape[2], 3, bidirectional=True).double()
    out, (h, *_) = stack(x, true_lengths)
    rows = torch.arange(x.shape[0])
    torch.testing.assert_close(h[:, 0], out[rows, true_lengths - 1, :3], msg=lambda m: f"forward final state. {m}")
    torch.testing.assert_close(h[:, 1], out[:, 0, 3:], msg=lambda m: f"backward final state. {m}")


@given(kind=st.sampled_from(sorted(THEIRS)), n_layers=st.integers(1, 3), seed=seeds())
def test_stepping_one_position_at_a_time_equals_running_the_sequence(kind, n_layers, seed):
    """`step` (used while decoding) and `forward` (used in training) are the same recurrence."""
    generator = torch.Generator().manual_seed(seed)
    stack = RecurrentStack(kind, 4, 3, n_layers).double().eval()
    x = torch.randn(2, 5, 4, generator=generator, dtype=torch.float64)
    out, final = stack(x)
    state = stack.initial_state(2, x)
    for t in range(5):
        top, state = stack.step(x[:, t], state)
        torch.testing.assert_close(top, out[:, t], msg=lambda m, t=t: f"step {t} differs from forward. {m}")
    for name, a, b in zip(("h", "c"), state, final):
        torch.testing.assert_close(a, b, msg=lambda m, name=name: f"the final {name} after stepping differs from forward's. {m}")


def test_dropout_acts_between_layers_only_in_training():
    """Dropout perturbs what layer 1 reads while training; in eval the stack is deterministic."""
    stack = RecurrentStack("lstm", 4, 8, n_layers=2, dropout=0.5).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    train_a, train_b = stack(x)[0], stack(x)[0]
    assert not torch.equal(train_a, train_b), "dropout=0.5 in training changed nothing"
    stack.eval()
    torch.testing.assert_close(stack(x)[0], stack(x)[0], msg=lambda m: f"in eval, two runs of the stack differ: dropout is still on. {m}")
    single = RecurrentStack("lstm", 4, 8, n_layers=1, dropout=0.5).double()
    torch.testing.assert_close(single(x)[0], single(x)[0], msg="a one-layer stack has no place for dropout")


@given(data=padded_batches())
def test_reverse_padded_reverses_real_tokens_keeps_padding_and_is_its_own_inverse(data):
    """Sutskever's source reversal: "a b c <pad>" -> "c b a <pad>"."""
    x, true_lengths = data
    reversed_x = reverse_padded(x, true_lengths)
    for b, n in enumerate(true_lengths.tolist()):
        torch.testing.assert_close(reversed_x[b, :n], x[b, :n].flip(0), msg=lambda m, b=b, n=n: (
            f"row {b}: its {n} real positions are not reversed. {m}"))
        torch.testing.assert_close(reversed_x[b, n:], x[b, n:], msg=lambda m, b=b, n=n: (
            f"row {b}: the padding after its {n} real positions moved; it must stay at the end. {m}"))
    torch.testing.assert_close(reverse_padded(reversed_x, true_lengths), x, msg=lambda m: (
        f"reversing twice does not give the batch back. {m}"))


def test_wrong_input_size_names_expected_and_actual(runtime_checks):
    stack = RecurrentStack("gru", 4, 3)
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, seq, input=4\), got \(2, 5, 3\)"):
        stack(torch.randn(2, 5, 3))


def test_wrong_state_layout_names_expected_and_actual(runtime_checks):
    stack = RecurrentStack("lstm", 4, 3, n_layers=2)
    x = torch.randn(2, 5, 4)
    with pytest.raises(ValueError, match="state: expected 2 tensor"):
        stack(x, state=(torch.zeros(2, 2, 3),))
    with pytest.raises(ValueError, match=r"state h: expected shape \(batch=2, layers_dirs=2, hidden=3\), got \(2, 3, 2\)"):
        stack(x, state=(torch.zeros(2, 3, 2), torch.zeros(2, 2, 3)))


def test_step_refuses_a_bidirectional_stack(runtime_checks):
    stack = RecurrentStack("rnn", 4, 3, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional stack needs the whole sequence"):
        stack.step(torch.randn(2, 4), stack.initial_state(2, torch.zeros(1)))
