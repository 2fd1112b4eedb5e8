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
