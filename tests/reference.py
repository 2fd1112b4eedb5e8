"""Helpers for the reference-equivalence tests: copying weights between PyTorch's modules and ours."""

import torch
from torch import nn

from transformer.attention import MultiHeadAttention


def perturb_(module: nn.Module, seed: int) -> nn.Module:
    """Add noise to every parameter: zero biases and unit LayerNorm gains would hide a swapped weight."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return module


def copy_attention(theirs: nn.MultiheadAttention, ours: MultiHeadAttention) -> None:
    """`in_proj_weight` stacks W^Q, W^K, W^V as three (d_model, d_model) chunks; `out_proj` is W^O."""
    with torch.no_grad():
        for linear, weight, bias in zip(
            (ours.w_q, ours.w_k, ours.w_v), theirs.in_proj_weight.chunk(3), theirs.in_proj_bias.chunk(3)
        ):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        ours.w_o.load_state_dict(theirs.out_proj.state_dict())


def copy_stack_weights(ours, theirs: nn.Module) -> None:
    """Our `RecurrentStack`'s cells into an nn.RNN / nn.LSTM / nn.GRU (`weight_ih_l0`, `_reverse`, ...)."""
    with torch.no_grad():
        for index, cell in enumerate(ours.cells):
            layer, direction = divmod(index, ours.n_directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            getattr(theirs, "weight_ih" + suffix).copy_(cell.w_ih.weight)
            getattr(theirs, "weight_hh" + suffix).copy_(cell.w_hh.weight)
            getattr(theirs, "bias_ih" + suffix).copy_(cell.w_ih.bias)
            getattr(theirs, "bias_hh" + suffix).copy_(cell.w_hh.bias)


def copy_self_attention_block(theirs: nn.TransformerEncoderLayer, ours) -> None:
    """nn.TransformerEncoderLayer -> our DecoderLayer without cross-attention: self_attn, linear1/2, norm1/2."""
    with torch.no_grad():
        copy_attention(theirs.self_attn, ours.self_attn)
        ours.feed_forward.w_1.load_state_dict(theirs.linear1.state_dict())
        ours.feed_forward.w_2.load_state_dict(theirs.linear2.state_dict())
        ours.self_residual.norm.load_state_dict(theirs.norm1.state_dict())
        ours.ff_residual.norm.load_state_dict(theirs.norm2.state_dict())
