"""Spec for `transformer.positional_encoding`: the sinusoidal table of §3.5 and its learned rival.

Chapter: walkthrough/05_embeddings_and_positions.md. Run with `pytest -m embeddings`.

The table is computed in float64 and stored in float32, so comparisons with it use an absolute
tolerance of 1e-6 (a float32 rounding of numbers in [-1, 1] is at most 6e-8; a product of two
rows adds a few of those).
"""

import inspect
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distinct_sizes, seeds

from transformer.positional_encoding import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    shift_matrix,
    sinusoidal_encoding,
)

pytestmark = pytest.mark.embeddings

F64 = torch.float64
TABLE_TOLERANCE = dict(rtol=0.0, atol=1e-6)  # see the module docstring
even_d_model = st.integers(1, 12).map(lambda half: 2 * half)
POSITIONS = (SinusoidalPositionalEncoding, LearnedPositionalEmbedding)


def assert_close(actual, expected, what: str, **tolerances) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}\n{detail}", **tolerances)


# ---------------------------------------------------------------- the table


@given(d_model=even_d_model, max_len=st.integers(1, 200))
def test_encoding_values_lie_in_minus_one_to_one(d_model, max_len):
    """Every entry is a sine or a cosine, so it is bounded whatever the position: unlike raw indices."""
    table = sinusoidal_encoding(max_len, d_model)
    assert table.shape == (max_len, d_model), f"expected shape ({max_len}, {d_model}), got {tuple(table.shape)}"
    assert table.abs().max() <= 1.0, f"an entry has magnitude {float(table.abs().max())}, expected at most 1"


@given(d_model=even_d_model, max_len=st.integers(1, 40))
def test_even_columns_are_sines_and_odd_columns_cosines(d_model, max_len):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)) and PE(pos, 2i+1) = cos(same angle), from §3.5."""
    expected = torch.tensor(
        [
            [
                (math.sin if column % 2 == 0 else math.cos)(pos / 10000 ** ((column - column % 2) / d_model))
                for column in range(d_model)
            ]
            for pos in range(max_len)
        ]
    )
    assert_close(sinusoidal_encoding(max_len, d_model), expected, "PE differs from the formula of §3.5", **TABLE_TOLERANCE)


def test_first_row_is_alternating_zeros_and_ones():
    """At position 0 every angle is 0: sin 0 = 0 in even columns, cos 0 = 1 in odd ones."""
    row = sinusoidal_encoding(1, 6).tolist()
    assert row == [[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]], f"PE(0) = {row}, expected sin 0 = 0 in even and cos 0 = 1 in odd columns"


@given(d_model=even_d_model, offset=st.integers(0, 40))
def test_shift_by_k_is_a_fixed_linear_map(d_model, offset):
    """§3.5: PE(pos + k) = PE(pos) @ M_k with one matrix M_k for every pos (a rotation per frequency)."""
    max_len = 100
    table = sinusoidal_encoding(max_len, d_model).to(F64)
    matrix = shift_matrix(offset, d_model)
    shifted = table[: max_len - offset] @ matrix
    assert_close(shifted, table[offset:], f"PE(pos) @ shift_matrix({offset}) is not PE(pos + {offset})", **TABLE_TOLERANCE)


@given(d_model=even_d_model, offset=st.integers(1, 40))
def test_least_squares_map_from_pe_pos_to_pe_pos_plus_k_has_zero_residual(d_model, offset):
    """Without being told the matrix, the best linear fit PE(pos) -> PE(pos + k) is exact: the map exists."""
    table = sinusoidal_encoding(120, d_model).to(F64)
    inputs, targets = table[:-offset], table[offset:]
    fitted = torch.linalg.lstsq(inputs, targets).solution
    residual = (inputs @ fitted - targets).abs().max()
    assert residual < 1e-5, f"the best linear fit for k={offset} misses by {float(residual):.3g}, expected ~0"


@given(d_model=even_d_model, offset=st.integers(-40, 40))
def test_shift_matrix_is_a_rotation(d_model, offset):
    """Each 2x2 block rotates a (sin, cos) pair, so M_k is orthogonal and M_k M_-k = I."""
    matrix = shift_matrix(offset, d_model)
    identity = torch.eye(d_model, dtype=F64)
    assert_close(matrix @ matrix.T, identity, f"shift_matrix({offset}) is not orthogonal")
    assert_close(matrix @ shift_matrix(-offset, d_model), identity, f"shifting by {offset} then {-offset} is not the identity")


def test_odd_d_model_is_rejected():
    """Sines and cosines come in pairs."""
    with pytest.raises(ValueError, match="expected an even d_model"):
        sinusoidal_encoding(10, 5)


# ---------------------------------------------------------------- the modules


@given(sizes=distinct_sizes(2), d_model=even_d_model, start=st.integers(0, 5), seed=seeds())
def test_sinusoidal_module_adds_the_table_from_start(sizes, d_model, start, seed):
    """forward(x, start) = x + PE[start : start + seq] (no dropout): the same table for every sequence."""
    batch, seq = sizes
    positions = SinusoidalPositionalEncoding(d_model, max_len=20).double()
    x = torch.randn(batch, seq, d_model, generator=torch.Generator().manual_seed(seed), dtype=F64)
    expected = x + sinusoidal_encoding(20, d_model).to(F64)[start : start + seq]
    assert_close(positions(x, start=start), expected, f"forward(x, start={start}) is not x + PE[{start}:{start + seq}]")


@pytest.mark.parametrize("kind", POSITIONS)
@given(sizes=distinct_sizes(2, min_value=2), start=st.integers(1, 4), seed=seeds())
def test_start_offset_continues_the_sequence(kind, sizes, start, seed):
    """Encoding positions start.. alone gives what the full sequence gives there: one-step decoding relies on it."""
    batch, seq = sizes
    torch.manual_seed(seed)
    positions = kind(d_model=6, max_len=12).double()
    x = torch.randn(batch, seq + start, 6, dtype=F64)
    assert_close(positions(x[:, start:], start=start), positions(x)[:, start:], f"{kind.__name__}: start={start} disagrees with the full pass")


@pytest.mark.parametrize("kind", POSITIONS)
@pytest.mark.parametrize("seq, start", [(9, 0), (5, 4), (1, 8)])
def test_sequence_longer_than_max_len_raises_value_error_naming_max_len(kind, seq, start):
    """Running off the end of the table is a clear error that says how to fix it, not an index error."""
    positions = kind(d_model=4, max_len=8)
    with pytest.raises(ValueError, match=rf"positions {start}\.\.{start + seq - 1} requested, but max_len=8"):
        positions(torch.zeros(1, seq, 4), start=start)


def test_sinusoidal_table_is_a_buffer_not_a_parameter():
    """The table is fixed: no optimiser may change it, yet it follows the module's dtype and device."""
    positions = SinusoidalPositionalEncoding(d_model=4, max_len=10)
    assert "encoding" in dict(positions.named_buffers()), "the table must be registered as a buffer"
    assert list(positions.parameters()) == [], "the sinusoidal encoding must have no trainable parameters"
    assert positions.double().encoding.dtype == F64, "the buffer must follow .double()"
    assert "encoding" not in positions.state_dict(), "the table is rebuilt, not saved: it must stay out of checkpoints"


def test_sinusoidal_table_is_not_trained():
    """A training step leaves the table untouched (it gets no gradient at all)."""
    positions = SinusoidalPositionalEncoding(d_model=4, max_len=10)
    before = positions.encoding.clone()
    x = torch.randn(2, 5, 4, requires_grad=True)
    positions(x).sum().backward()
    assert positions.encoding.grad is None, "the sinusoidal table got a gradient: it must be a buffer, not a parameter"
    assert torch.equal(positions.encoding, before), "the sinusoidal table changed in a forward and backward pass"


def test_learned_positional_embedding_is_a_trained_parameter():
    """The learned alternative (Table 3, row E) holds a (max_len, d_model) parameter that gets a gradient."""
    positions = LearnedPositionalEmbedding(d_model=4, max_len=10)
    parameters = dict(positions.named_parameters())
    shapes = {name: tuple(p.shape) for name, p in parameters.items()}
    assert shapes == {"table.weight": (10, 4)}, f"parameters {shapes}, expected one (max_len, d_model) = (10, 4) table"
    (positions(torch.randn(2, 5, 4)) ** 2).sum().backward()
    gradient = positions.table.weight.grad
    assert gradient[:5].abs().sum() > 0, "the positions used must get a gradient"
    assert (gradient[5:] == 0).all(), "positions beyond the sequence must get none"


def test_learned_and_sinusoidal_share_one_interface():
    """Either can be plugged into the model: same constructor arguments, same forward(x, start)."""
    for kind in POSITIONS:
        signature = inspect.signature(kind.forward)
        assert list(signature.parameters) == ["self", "x", "start"], f"{kind.__name__}.forward{signature}"
        assert list(inspect.signature(kind).parameters) == ["d_model", "max_len", "dropout"], kind.__name__
        shape = tuple(kind(d_model=4, max_len=6)(torch.zeros(3, 5, 4), start=1).shape)
        assert shape == (3, 5, 4), f"{kind.__name__} turned a (3, 5, 4) input into {shape}"


@pytest.mark.parametrize("kind", POSITIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_positions_keep_the_dtype(kind, dtype):
    """A module and input in float32 give float32; in float64, float64."""
    positions = kind(d_model=4, max_len=6).to(dtype)
    output = positions(torch.zeros(2, 3, 4, dtype=dtype))
    assert output.dtype == dtype, f"{kind.__name__}: {dtype} in, {output.dtype} out"


def test_wrong_d_model_names_the_expected_shape(runtime_checks):
    """Embeddings of the wrong width are refused with the shape that was expected."""
    with pytest.raises(ValueError, match=r"x: expected shape \(batch, seq, d_model=4\), got \(2, 3, 6\)"):
        SinusoidalPositionalEncoding(d_model=4, max_len=10)(torch.zeros(2, 3, 6))
