"""bfloat16 autocast on the CPU: chosen only where it pays, and harmless where it runs.

Chapter: walkthrough/09_training.md (transformer/devices.py). Under CPU autocast the matrix
products run in bfloat16 while softmax, log-softmax and the loss stay float32: every model family's
forward stays close to its float32 forward, and a query whose keys are all masked stays finite.
"""

import pytest
import torch

from transformer import devices
from transformer.attention import MultiHeadAttention
from transformer.decoder_only import DecoderOnlyConfig, build_transformer_language_model
from transformer.encoder_only import EncoderOnlyConfig, build_transformer_classifier, build_transformer_tagger
from transformer.masks import masked_softmax
from transformer.model import TransformerConfig, build_transformer
from transformer.rnn import RecurrentConfig, build_recurrent
from transformer.rnn.attention import BahdanauAttention, LuongAttention
from transformer.rnn.encoder_only import RecurrentEncoderConfig, build_recurrent_classifier, build_recurrent_tagger
from transformer.rnn.language_model import RecurrentLMConfig, build_recurrent_language_model

pytestmark = pytest.mark.training

V = 23
IDS = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]])
CHARS = torch.randint(4, 9, (2, 5, 3))

MODELS = {
    "transformer seq2seq": lambda: (build_transformer(TransformerConfig.tiny(V, V, dropout=0.0)),
                                    lambda m: m(IDS, IDS)),
    "lstm with attention": lambda: (build_recurrent(RecurrentConfig.tiny(V, V, attention="bahdanau")),
                                    lambda m: m(IDS, IDS)),
    "transformer classifier": lambda: (build_transformer_classifier(EncoderOnlyConfig.tiny(V, 3, dropout=0.0)),
                                       lambda m: m(IDS)),
    "transformer tagger": lambda: (build_transformer_tagger(EncoderOnlyConfig.tiny(V, 4, dropout=0.0)),
                                   lambda m: m(IDS)),
    "transformer language model": lambda: (build_transformer_language_model(DecoderOnlyConfig.tiny(V, dropout=0.0)),
                                           lambda m: m(IDS)),
    "gru classifier": lambda: (build_recurrent_classifier(RecurrentEncoderConfig.tiny(V, 3, cell="gru")),
                               lambda m: m(IDS)),
    "bilstm tagger": lambda: (build_recurrent_tagger(RecurrentEncoderConfig.tiny(V, 4, bidirectional=True)),
                              lambda m: m(IDS, CHARS)),
    "rnn language model": lambda: (build_recurrent_language_model(RecurrentLMConfig.tiny(V, cell="rnn")),
                                   lambda m: m(IDS)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_bf16_forward_stays_close_to_float32_for_every_family(name):
    """The probabilities under CPU autocast differ from float32's by about bfloat16's precision
    (8 bits of mantissa: 2^-8 ~ 0.4% relative), never more than 0.03 absolute here."""
    torch.manual_seed(0)
    model, run = MODELS[name]()
    model.eval()
    with torch.no_grad():
        exact = run(model).float().softmax(dim=-1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            approximate = run(model).float().softmax(dim=-1)
    gap = (approximate - exact).abs().max().item()
    assert torch.isfinite(approximate).all(), f"{name}: non-finite probabilities under autocast"
    assert gap < 0.03, f"{name}: bfloat16 autocast moved a probability by {gap:.4f} (expected < 0.03)"


def test_an_all_masked_query_stays_finite_under_cpu_autocast_in_both_attention_families():
    """No real key to attend to: zero weights and a finite output, in bfloat16 as in float32."""
    torch.manual_seed(0)
    attention = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    mask = torch.ones(2, 1, 3, 3, dtype=torch.bool)
    mask[1, :, 2] = False  # query 2 of row 1 sees nothing
    memory, keys = torch.randn(2, 4, 6), torch.zeros(2, 4, dtype=torch.bool)
    keys[0] = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, weights = attention(x, x, x, mask)
        bahdanau = BahdanauAttention(5, 6, 7)(torch.randn(2, 5), BahdanauAttention(5, 6, 7).project_keys(memory),
                                                memory, keys)
        luong = LuongAttention(6, 6, "dot")(torch.randn(2, 6), memory, memory, keys)
        softmax = masked_softmax(torch.randn(2, 4).bfloat16(), keys)
    assert torch.isfinite(out).all() and torch.equal(weights[1, :, 2], torch.zeros_like(weights[1, :, 2])), (
        "multi-head attention: an all-masked query must get zero weights and a finite output")
    for name, (context, w) in (("Bahdanau", bahdanau), ("Luong", luong)):
        assert torch.isfinite(context).all() and torch.equal(w[1], torch.zeros_like(w[1])), (
            f"{name}: a source with no real token must get zero weights and a finite context")
    assert softmax.dtype == torch.bfloat16 and torch.equal(softmax[1], torch.zeros_like(softmax[1])), (
        "masked_softmax of bfloat16 scores: zero weights on an all-masked row, in the scores' dtype")


def test_the_softmax_of_bf16_scores_is_computed_in_float32():
    """Scores are widened for the softmax: the weights equal float32's, rounded once to bfloat16."""
    scores = torch.randn(3, 7) * 4
    expected = scores.bfloat16().float().softmax(dim=-1).bfloat16()
    assert torch.equal(masked_softmax(scores.bfloat16(), None), expected), "softmax of bfloat16 scores not in float32"


def test_bf16_is_off_on_a_cpu_without_bfloat16_instructions(monkeypatch):
    devices.bf16_support.cache_clear()
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(devices.platform, "system", lambda: "Linux")
    try:
        use, why = devices.bf16_support("cpu")
        assert not use and "no bfloat16 instructions" in why, (use, why)
    finally:
        devices.bf16_support.cache_clear()


def test_small_models_stay_in_float32_and_large_ones_use_bf16():
    small = build_transformer(TransformerConfig.tiny(V, V))
    large = torch.nn.Linear(1024, 1024)
    assert not devices.worth_bf16(small)[0], "a tiny Transformer trains faster in float32"
    assert devices.worth_bf16(large)[0], f"{devices.MIN_BF16_PARAMETERS:,} parameters or more: bfloat16 pays"
