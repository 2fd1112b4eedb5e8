"""Spec for the one-line errors a user meets: wrong dtypes, wrong masks, impossible sizes and empty
sources, at every public entry point, each named like the shape checks name a wrong shape.

Every test asks for `runtime_checks`: it checks the message a user sees, who runs without the
test-time shape annotations (which would otherwise raise first). Each test carries the marker
of the chapter whose module it checks.
"""

import math

import pytest
import torch

from transformer.attention import MultiHeadAttention, fused_attention, scaled_dot_product_attention
from transformer.checks import expect_dtype, expect_mask
from transformer.decoder import Decoder, DecoderLayer
from transformer.decoding import beam_search, greedy_decode
from transformer.embedding import TokenEmbedding
from transformer.encoder import Encoder, EncoderLayer
from transformer.feed_forward import PositionwiseFeedForward
from transformer.masks import masked_softmax
from transformer.model import TransformerConfig, build_transformer
from transformer.positional_encoding import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from transformer.rnn.attention import BahdanauAttention, LuongAttention
from transformer.rnn.cells import GRUCell, LSTMCell, RNNCell
from transformer.rnn.layers import RecurrentStack
from transformer.rnn.seq2seq import RecurrentConfig, build_recurrent
from transformer.sublayer import Residual

pytestmark = pytest.mark.usefixtures("runtime_checks")

BATCH, HEADS, Q_SEQ, KV_SEQ, D_MODEL = 2, 4, 3, 5, 32
BOS, EOS = 1, 2


def assert_refuses(error: type[Exception], pattern: str, call, *args, **kwargs) -> str:
    """`call(*args, **kwargs)` raises `error` with a one-line message matching `pattern`."""
    with pytest.raises(error, match=pattern) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, f"the message should be one line, got {message!r}"
    return message


def randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=dtype)


def ids(*shape, vocab: int = 11, dtype=torch.long):
    """Token ids in [4, vocab): no PAD, BOS, EOS or UNK."""
    return torch.randint(4, vocab, shape, generator=torch.Generator().manual_seed(0)).to(dtype)


def transformer_model():
    return build_transformer(TransformerConfig.tiny(11, 13, d_model=16, n_heads=2, d_ff=32)).eval()


def recurrent_model(attention: str = "luong"):
    return build_recurrent(RecurrentConfig.tiny(11, 13, embedding_size=8, hidden_size=12, attention=attention)).eval()


# ---------------------------------------------------------------- dtypes


@pytest.mark.attention
@pytest.mark.parametrize("wrong", ["query", "key", "value"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_attention_input_of_another_dtype_than_the_weights_is_named(wrong, dtype):
    """float16 (or float64) query, key or value into float32 weights: one line naming which and both dtypes."""
    attention = MultiHeadAttention(D_MODEL, HEADS)
    inputs = {name: randn(BATCH, Q_SEQ if name == "query" else KV_SEQ, D_MODEL) for name in ("query", "key", "value")}
    inputs[wrong] = inputs[wrong].to(dtype)
    assert_refuses(TypeError, rf"^{wrong}: expected dtype torch.float32 \(the dtype of the weights\), got {dtype}$",
            attention, inputs["query"], inputs["key"], inputs["value"])


@pytest.mark.attention
def test_attention_under_autocast_takes_inputs_of_the_autocast_dtype():
    """Autocast casts inputs and weights itself, so a bfloat16 query into float32 weights is fine there."""
    attention = MultiHeadAttention(D_MODEL, HEADS)
    query = randn(BATCH, Q_SEQ, D_MODEL).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output, _ = attention(query, query, query)
    assert output.shape == (BATCH, Q_SEQ, D_MODEL), f"autocast attention gave shape {tuple(output.shape)}"
    assert_refuses(TypeError, "query: expected dtype torch.float32", attention, query, query, query)


@pytest.mark.attention
def test_expect_dtype_refuses_integers_even_under_autocast():
    """Autocast casts floating tensors only: an integer tensor is still refused."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert_refuses(TypeError, r"^x: expected dtype torch.float32 \(the dtype of the weights\), got torch.int64$",
                expect_dtype, "x", torch.zeros(2, 3, dtype=torch.long), torch.float32)


@pytest.mark.encoder
def test_feed_forward_input_of_another_dtype_is_named():
    """float16 into the float32 feed-forward network: one line, not a matmul dtype error."""
    ffn = PositionwiseFeedForward(D_MODEL, 64)
    assert_refuses(TypeError, r"^x: expected dtype torch.float32 \(the dtype of the weights\), got torch.float16$",
            ffn, randn(BATCH, Q_SEQ, D_MODEL).half())


@pytest.mark.encoder
def test_encoder_input_of_another_dtype_is_named():
    """A float64 source representation into a float32 encoder: one line from the stack."""
    encoder = Encoder(2, D_MODEL, HEADS, 64)
    assert_refuses(TypeError, r"^x: expected dtype torch.float32 \(the dtype of the weights\), got torch.float64$",
            encoder, randn(BATCH, KV_SEQ, D_MODEL, dtype=torch.float64))


@pytest.mark.decoder
def test_decoder_inputs_of_another_dtype_are_named():
    """The target states and the memory must both have the weights' dtype, in forward, start and step."""
    decoder = Decoder(2, D_MODEL, HEADS, 64)
    x, memory = randn(BATCH, Q_SEQ, D_MODEL), randn(BATCH, KV_SEQ, D_MODEL)
    assert_refuses(TypeError, "^x: expected dtype torch.float32 .*got torch.float16$", decoder, x.half(), memory)
    assert_refuses(TypeError, "^memory: expected dtype torch.float32 .*got torch.float16$", decoder, x, memory.half())
    assert_refuses(TypeError, "^memory: expected dtype torch.float32 .*got torch.float64$", decoder.start, memory.double())
    cache = decoder.start(memory)
    assert_refuses(TypeError, "^x: expected dtype torch.float32 .*got torch.float16$", decoder.step, x[:, :1].half(), cache)


@pytest.mark.recurrent
@pytest.mark.parametrize("cell_type", [RNNCell, LSTMCell, GRUCell])
def test_cell_input_and_state_of_another_dtype_are_named(cell_type):
    """x_t and each state tensor must have the cell's dtype; a state of the wrong size or count is named too."""
    cell = cell_type(3, 5)
    x = randn(BATCH, 3)
    state = cell.initial_state(BATCH, x)
    assert_refuses(TypeError, r"^x: expected dtype torch.float32 \(the dtype of the weights\), got torch.float16$", cell, x.half())
    assert_refuses(TypeError, "^state h: expected dtype torch.float32 .*got torch.float64$",
            cell, x, (state[0].double(), *state[1:]))
    assert_refuses(ValueError, r"^x: expected shape \(batch, input=3\), got \(2, 4\)$", cell, randn(BATCH, 4))
    assert_refuses(ValueError, r"^state h: expected shape \(batch=2, hidden=5\), got \(2, 6\)$",
            cell, x, (randn(BATCH, 6), *state[1:]))
    assert_refuses(ValueError, rf"^state: expected a tuple of {cell.n_states} tensor\(s\) for a {cell_type.__name__}, got",
            cell, x, (*state, state[0]))
    if hasattr(cell, "gates"):
        assert_refuses(TypeError, "^x: expected dtype torch.float32", cell.gates, x.half(), state)


@pytest.mark.recurrent
def test_recurrent_stack_input_and_state_of_another_dtype_are_named():
    """The stack's input and initial state must have its dtype, for a whole sequence and for one step."""
    stack = RecurrentStack("lstm", 3, 5, n_layers=2)
    x = randn(BATCH, KV_SEQ, 3)
    state = stack.initial_state(BATCH, x)
    assert_refuses(TypeError, r"^x: expected dtype torch.float32 \(the dtype of the weights\), got torch.float16$", stack, x.half())
    assert_refuses(TypeError, "^state c: expected dtype torch.float32 .*got torch.float64$",
            stack, x, state=(state[0], state[1].double()))
    assert_refuses(TypeError, "^x: expected dtype torch.float32 .*got torch.float16$", stack.step, x[:, 0].half(), state)


@pytest.mark.embeddings
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.bool, torch.float16])
def test_ids_of_a_dtype_other_than_long_or_int32_are_refused(dtype):
    """uint8 wraps at 256 and bool is no id: only torch.long and torch.int32 ids are read, and the line says so."""
    embedding = TokenEmbedding(10, 4)
    assert_refuses(TypeError, rf"^ids: expected integer token ids \(torch.long\), got dtype {dtype} \(torch.int32 is accepted too\)$",
            embedding, ids(BATCH, 3, vocab=10).to(dtype))


@pytest.mark.embeddings
def test_int32_ids_embed_as_long_ids_do():
    """torch.int32 ids are accepted and look up the same rows as torch.long ids."""
    embedding = TokenEmbedding(10, 4)
    tokens = ids(BATCH, 3, vocab=10)
    assert torch.equal(embedding(tokens.int()), embedding(tokens)), "int32 ids embed differently from long ids"


@pytest.mark.decoder
def test_transformer_refuses_uint8_ids_and_reads_int32_ids_as_long():
    """Model entry points check the id dtype too; int32 ids give the logits long ids give."""
    model = transformer_model()
    src, tgt_in = ids(BATCH, 4), ids(BATCH, 3, vocab=13)
    assert_refuses(TypeError, r"^src: expected integer token ids \(torch.long\), got dtype torch.uint8", model, src.byte(), tgt_in)
    assert_refuses(TypeError, r"^tgt_in: expected integer token ids \(torch.long\), got dtype torch.uint8", model, src, tgt_in.byte())
    torch.testing.assert_close(model(src.int(), tgt_in.int()), model(src, tgt_in), rtol=0, atol=0,
                               msg=lambda detail: f"int32 ids give other logits than long ids\n{detail}")


@pytest.mark.seq2seq
def test_recurrent_model_refuses_uint8_ids():
    """The recurrent seq2seq checks the id dtype at its entry points."""
    model = recurrent_model()
    assert_refuses(TypeError, r"^src: expected integer token ids \(torch.long\), got dtype torch.uint8",
            model, ids(BATCH, 4).byte(), ids(BATCH, 3, vocab=13))


# ---------------------------------------------------------------- masks


ATTENTION_FUNCTIONS = [scaled_dot_product_attention, fused_attention]
SCORES = f"{(BATCH, HEADS, Q_SEQ, KV_SEQ)}".replace("(", r"\(").replace(")", r"\)")


def heads_inputs():
    q = randn(BATCH, HEADS, Q_SEQ, 8)
    kv = randn(BATCH, HEADS, KV_SEQ, 8)
    return q, kv, kv


@pytest.mark.attention
@pytest.mark.parametrize("attend", ATTENTION_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8, torch.int64])
def test_attention_functions_refuse_a_mask_that_is_not_boolean(attend, dtype):
    """A float mask would be added to the scores by PyTorch's kernel, an int mask read as bits:
    both functions take boolean masks only (True = may attend)."""
    mask = torch.ones(BATCH, 1, 1, KV_SEQ, dtype=dtype)
    assert_refuses(TypeError, rf"^mask: expected a boolean mask \(True = may attend\), got dtype {dtype}$", attend, *heads_inputs(), mask)


@pytest.mark.attention
@pytest.mark.parametrize("attend", ATTENTION_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(BATCH, 1, 1, KV_SEQ + 2), (BATCH + 1, 1, Q_SEQ, KV_SEQ), (3, BATCH, HEADS, Q_SEQ, KV_SEQ)],
                         ids=["kv_seq", "batch", "extra-axis"])
def test_attention_functions_refuse_a_mask_that_does_not_broadcast_to_the_scores(attend, shape):
    """The mask must broadcast to the scores (batch, heads, q_seq, kv_seq) without enlarging them."""
    mask = torch.ones(shape, dtype=torch.bool)
    assert_refuses(ValueError, rf"^mask: expected a mask that broadcasts to the scores {SCORES}, got shape",
            attend, *heads_inputs(), mask)


@pytest.mark.attention
def test_multi_head_attention_names_the_scores_axes_a_mask_must_fit():
    """MultiHeadAttention checks the mask before any projection and names the axes it must broadcast to."""
    attention = MultiHeadAttention(D_MODEL, HEADS)
    query, memory = randn(BATCH, Q_SEQ, D_MODEL), randn(BATCH, KV_SEQ, D_MODEL)
    wrong = torch.ones(BATCH, 1, 1, KV_SEQ + 1, dtype=torch.bool)
    assert_refuses(ValueError, r"^mask: expected a mask that broadcasts to the scores "
            rf"\(batch={BATCH}, heads={HEADS}, q_seq={Q_SEQ}, kv_seq={KV_SEQ}\), got shape \(2, 1, 1, 6\)$",
            attention, query, memory, memory, wrong)
    assert_refuses(TypeError, r"^mask: expected a boolean mask \(True = may attend\), got dtype torch.float32$",
            attention, query, memory, memory, torch.zeros(BATCH, 1, 1, KV_SEQ))
    assert_refuses(TypeError, r"^mask: expected a boolean torch.Tensor \(True = may attend\) or None, got list$",
            attention, query, memory, memory, [[True] * KV_SEQ])


@pytest.mark.attention
def test_masks_that_broadcast_are_accepted():
    """Fewer axes, size-1 axes and the exact scores' shape all broadcast, so all pass the check."""
    for shape in [(KV_SEQ,), (Q_SEQ, KV_SEQ), (BATCH, 1, 1, KV_SEQ), (BATCH, HEADS, Q_SEQ, KV_SEQ)]:
        accepted = expect_mask("mask", torch.ones(shape, dtype=torch.bool), (BATCH, HEADS, Q_SEQ, KV_SEQ))
        assert accepted is None, f"mask of shape {shape}: the check should only raise or pass, it returned {accepted!r}"
    assert expect_mask("mask", None, (BATCH, HEADS, Q_SEQ, KV_SEQ)) is None, "no mask must pass the check"


@pytest.mark.attention
def test_masked_softmax_refuses_a_mask_that_is_not_boolean_or_does_not_fit():
    """The softmax both attention families share checks its mask against the scores."""
    scores = randn(BATCH, KV_SEQ)
    assert_refuses(TypeError, r"^mask: expected a boolean mask \(True = may attend\), got dtype torch.float32$",
            masked_softmax, scores, torch.ones(BATCH, KV_SEQ))
    assert_refuses(TypeError, "^mask: expected a boolean mask .*got dtype torch.int32$",
            masked_softmax, scores, torch.ones(BATCH, KV_SEQ, dtype=torch.int32))
    assert_refuses(ValueError, r"^mask: expected a mask that broadcasts to the scores \(2, 5\), got shape \(2, 4\)$",
            masked_softmax, scores, torch.ones(BATCH, KV_SEQ - 1, dtype=torch.bool))


@pytest.mark.rnn_attention
@pytest.mark.parametrize("attention", [BahdanauAttention(6, 6, 4), LuongAttention(6, 6, "general"), LuongAttention(6, 6, "dot")],
                         ids=["bahdanau", "luong-general", "luong-dot"])
def test_recurrent_attention_refuses_a_mask_that_is_not_boolean_or_does_not_fit(attention):
    """Bahdanau and Luong attention check the source mask (batch, src_seq) before scoring."""
    query, memory = randn(BATCH, 6), randn(BATCH, KV_SEQ, 6)
    keys = attention.project_keys(memory)
    assert_refuses(TypeError, r"^mask: expected a boolean mask \(True = may attend\), got dtype torch.float32$",
            attention, query, keys, memory, torch.ones(BATCH, KV_SEQ))
    assert_refuses(ValueError, rf"^mask: expected a mask that broadcasts to the scores \(batch={BATCH}, src_seq={KV_SEQ}\), "
            r"got shape \(2, 7\)$", attention, query, keys, memory, torch.ones(BATCH, KV_SEQ + 2, dtype=torch.bool))


# ---------------------------------------------------------------- sizes


@pytest.mark.attention
@pytest.mark.parametrize("n_heads, error, got", [(0, ValueError, "0"), (-4, ValueError, "-4"),
                                                 (4.0, TypeError, r"4.0 \(float\)"), (True, TypeError, r"True \(bool\)")])
def test_multi_head_attention_refuses_a_head_count_that_is_not_a_positive_integer(n_heads, error, got):
    """MultiHeadAttention(32, 0) was a ZeroDivisionError and (32, -4) built heads of size -8: one line instead."""
    assert_refuses(error, rf"^MultiHeadAttention.n_heads: expected a positive integer, got {got}$", MultiHeadAttention, 32, n_heads)


@pytest.mark.attention
@pytest.mark.parametrize("dropout, error", [(1.0, ValueError), (-0.1, ValueError), (math.nan, ValueError),
                                            (math.inf, ValueError), (True, TypeError), ("0.1", TypeError)])
def test_dropout_outside_zero_one_is_refused(dropout, error):
    """A dropout rate is a probability in [0, 1): 1 would drop every weight, a bool or a string is a slip."""
    assert_refuses(error, r"^MultiHeadAttention.dropout: expected a probability in \[0, 1\), got", MultiHeadAttention, 32, 4, dropout)


@pytest.mark.attention
def test_d_model_that_is_not_a_positive_integer_is_refused():
    """d_model 0, -8 or 32.0: one line naming the argument."""
    assert_refuses(ValueError, "^MultiHeadAttention.d_model: expected a positive integer, got 0$", MultiHeadAttention, 0, 4)
    assert_refuses(ValueError, "^MultiHeadAttention.d_model: expected a positive integer, got -8$", MultiHeadAttention, -8, 4)
    assert_refuses(TypeError, r"^MultiHeadAttention.d_model: expected a positive integer, got 32.0 \(float\)$", MultiHeadAttention, 32.0, 4)


@pytest.mark.embeddings
@pytest.mark.parametrize("build, pattern", [
    (lambda: TokenEmbedding(0, 4), "TokenEmbedding.vocab_size: expected a positive integer, got 0"),
    (lambda: TokenEmbedding(10.0, 4), r"TokenEmbedding.vocab_size: expected a positive integer, got 10.0 \(float\)"),
    (lambda: TokenEmbedding(True, 4), r"TokenEmbedding.vocab_size: expected a positive integer, got True \(bool\)"),
    (lambda: TokenEmbedding(10, -4), "TokenEmbedding.d_model: expected a positive integer, got -4"),
    (lambda: TokenEmbedding(10, 4, pad_id=10), r"TokenEmbedding.pad_id: expected None or an id in \[0, 10\), got 10"),
    (lambda: SinusoidalPositionalEncoding(0), "SinusoidalPositionalEncoding.d_model: expected a positive integer, got 0"),
    (lambda: SinusoidalPositionalEncoding(8, max_len=0), "SinusoidalPositionalEncoding.max_len: expected a positive integer, got 0"),
    (lambda: SinusoidalPositionalEncoding(8, dropout=1.5), r"SinusoidalPositionalEncoding.dropout: expected a probability in \[0, 1\), got 1.5"),
    (lambda: LearnedPositionalEmbedding(8, max_len=0), "LearnedPositionalEmbedding.max_len: expected a positive integer, got 0"),
    (lambda: LearnedPositionalEmbedding(8.0), r"LearnedPositionalEmbedding.d_model: expected a positive integer, got 8.0 \(float\)"),
], ids=["vocab-0", "vocab-float", "vocab-bool", "d_model-negative", "pad_id", "sin-d_model-0", "sin-max_len-0",
        "sin-dropout", "learned-max_len-0", "learned-d_model-float"])
def test_embedding_and_position_sizes_must_be_positive_integers(build, pattern):
    """Tables of zero rows or columns, or a float size, are refused when the module is built."""
    assert_refuses((ValueError, TypeError), f"^{pattern}$", build)


@pytest.mark.encoder
@pytest.mark.parametrize("build, pattern", [
    (lambda: PositionwiseFeedForward(32, 0), "PositionwiseFeedForward.d_ff: expected a positive integer, got 0"),
    (lambda: PositionwiseFeedForward(32, -64), "PositionwiseFeedForward.d_ff: expected a positive integer, got -64"),
    (lambda: PositionwiseFeedForward(32, 64, dropout=1), r"PositionwiseFeedForward.dropout: expected a probability in \[0, 1\), got 1"),
    (lambda: Residual(0, 0.1, False), "Residual.d_model: expected a positive integer, got 0"),
    (lambda: Residual(32, -0.5, False), r"Residual.dropout: expected a probability in \[0, 1\), got -0.5"),
    (lambda: EncoderLayer(32, 0, 64), "EncoderLayer.n_heads: expected a positive integer, got 0"),
    (lambda: Encoder(0, 32, 4, 64), "Encoder.n_layers: expected a positive integer, got 0"),
    (lambda: Encoder(2.0, 32, 4, 64), r"Encoder.n_layers: expected a positive integer, got 2.0 \(float\)"),
    (lambda: Encoder(2, 32, 4, 64, dropout=1.0), r"Encoder.dropout: expected a probability in \[0, 1\), got 1.0"),
], ids=["d_ff-0", "d_ff-negative", "ffn-dropout-1", "residual-d_model", "residual-dropout", "layer-heads",
        "layers-0", "layers-float", "encoder-dropout"])
def test_encoder_sizes_must_be_positive_integers(build, pattern):
    """An encoder of zero layers (which silently returned its input) or a zero-width network is refused."""
    assert_refuses((ValueError, TypeError), f"^{pattern}$", build)


@pytest.mark.decoder
@pytest.mark.parametrize("build, pattern", [
    (lambda: Decoder(0, 32, 4, 64), "Decoder.n_layers: expected a positive integer, got 0"),
    (lambda: Decoder(2, 32, -4, 64), "Decoder.n_heads: expected a positive integer, got -4"),
    (lambda: Decoder(2, 32, 4, 64, dropout=2), r"Decoder.dropout: expected a probability in \[0, 1\), got 2"),
    (lambda: DecoderLayer(32, 4, 0), "DecoderLayer.d_ff: expected a positive integer, got 0"),
    (lambda: DecoderLayer(True, 1, 8), r"DecoderLayer.d_model: expected a positive integer, got True \(bool\)"),
], ids=["layers-0", "heads-negative", "dropout-2", "layer-d_ff", "layer-d_model-bool"])
def test_decoder_sizes_must_be_positive_integers(build, pattern):
    """A decoder of zero layers (whose `start` failed with an IndexError) is refused when built."""
    assert_refuses((ValueError, TypeError), f"^{pattern}$", build)


@pytest.mark.recurrent
@pytest.mark.parametrize("build, pattern", [
    (lambda: RNNCell(3, 2.5), r"RNNCell.hidden_size: expected a positive integer, got 2.5 \(float\)"),
    (lambda: LSTMCell(True, 4), r"LSTMCell.input_size: expected a positive integer, got True \(bool\)"),
    (lambda: RecurrentStack("gru", 3, 0), "RecurrentStack.hidden_size: expected a positive integer, got 0"),
    (lambda: RecurrentStack("gru", -3, 4), "RecurrentStack.input_size: expected a positive integer, got -3"),
    (lambda: RecurrentStack("gru", 3, 4, n_layers=1.5), r"RecurrentStack.n_layers: expected a positive integer, got 1.5 \(float\)"),
    (lambda: RecurrentStack("gru", 3, 4, dropout=True), r"RecurrentStack.dropout: expected a probability in \[0, 1\), got True \(bool\)"),
], ids=["cell-hidden-float", "cell-input-bool", "stack-hidden-0", "stack-input-negative", "stack-layers-float", "stack-dropout-bool"])
def test_recurrent_sizes_must_be_positive_integers(build, pattern):
    """Cells and stacks refuse floats and bools where a size is expected, not only sizes below 1."""
    assert_refuses((ValueError, TypeError), f"^{pattern}$", build)


@pytest.mark.rnn_attention
@pytest.mark.parametrize("build, pattern", [
    (lambda: BahdanauAttention(6, 6, 0), "BahdanauAttention.attention_size: expected a positive integer, got 0"),
    (lambda: BahdanauAttention(6.0, 6, 4), r"BahdanauAttention.query_size: expected a positive integer, got 6.0 \(float\)"),
    (lambda: LuongAttention(0, 0, "dot"), "LuongAttention.query_size: expected a positive integer, got 0"),
    (lambda: LuongAttention(6, -6), "LuongAttention.memory_size: expected a positive integer, got -6"),
], ids=["bahdanau-attention_size-0", "bahdanau-query-float", "luong-dot-0", "luong-memory-negative"])
def test_recurrent_attention_sizes_must_be_positive_integers(build, pattern):
    """Bahdanau's attention_size 0 was a ZeroDivisionError, Luong's sizes 0 built an empty layer."""
    assert_refuses((ValueError, TypeError), f"^{pattern}$", build)


# ---------------------------------------------------------------- empty sources


EMPTY_SOURCE = r"^src: expected at least one source token, got an empty source of shape \(2, 0\)$"
EMPTY_TARGET = r"^tgt_in: expected at least one target token, got an empty target of shape \(2, 0\)$"


@pytest.mark.decoder
def test_transformer_refuses_an_empty_source_or_target():
    """A source of length 0 used to give logits from a memory of nothing; now it is one line, as an empty target."""
    model = transformer_model()
    empty = torch.zeros(BATCH, 0, dtype=torch.long)
    assert_refuses(ValueError, EMPTY_SOURCE, model, empty, ids(BATCH, 3, vocab=13))
    assert_refuses(ValueError, EMPTY_SOURCE, model.start_decoding, empty)
    assert_refuses(ValueError, EMPTY_TARGET, model, ids(BATCH, 4), empty)


@pytest.mark.seq2seq
@pytest.mark.parametrize("attention", ["none", "bahdanau", "luong"])
def test_recurrent_model_refuses_an_empty_source_or_target(attention):
    """The recurrent model failed deep in torch.stack on an empty source; now it is the same line as the Transformer's."""
    model = recurrent_model(attention)
    empty = torch.zeros(BATCH, 0, dtype=torch.long)
    assert_refuses(ValueError, EMPTY_SOURCE, model, empty, ids(BATCH, 3, vocab=13))
    assert_refuses(ValueError, EMPTY_SOURCE, model.start_decoding, empty)
    assert_refuses(ValueError, EMPTY_TARGET, model, ids(BATCH, 4), empty)


@pytest.mark.decoding
@pytest.mark.parametrize("family", ["transformer", "recurrent"])
def test_decoding_refuses_an_empty_source(family):
    """Greedy and beam search check the source before asking the model for anything."""
    model = transformer_model() if family == "transformer" else recurrent_model()
    empty = torch.zeros(BATCH, 0, dtype=torch.long)
    assert_refuses(ValueError, EMPTY_SOURCE, greedy_decode, model, empty, BOS, EOS, max_len=5)
    assert_refuses(ValueError, EMPTY_SOURCE, beam_search, model, empty, BOS, EOS, max_len=5)
