"""Where training runs, and in which precision: the device, and bfloat16 autocast where it pays.

Chapter: walkthrough/09_training.md. Under `torch.autocast(..., dtype=torch.bfloat16)` the matrix
products run in bfloat16 (8 bits of mantissa, float32's range) while the weights, their gradients
and the optimizer stay float32; the loss, the softmax of the loss and log-probabilities are
computed in float32 (`label_smoothed_cross_entropy` and `masked_softmax` cast up). On a GPU with
bfloat16 units, and on CPUs that compute bfloat16 natively (x86 with AVX512-BF16 or AMX, Arm with
the BF16 extension), a training step runs markedly faster. A CPU without those instructions
emulates bfloat16 slowly, so there autocast stays off.

`bf16_support(device)` decides once per process: the CPU's flags must list bfloat16 instructions,
and a short probe (a few bfloat16 against float32 matrix products of a Transformer's size) must
show bfloat16 faster. It returns the decision with its reason, which `train` prints once.
"""

import functools
import platform
import time
from contextlib import nullcontext
from pathlib import Path

import torch

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """CUDA if present, then Apple MPS, then CPU; or the device named (cpu, cuda, cuda:N, mps)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected auto, cpu, cuda, cuda:N or mps, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} asked for, but this machine has no CUDA device (use cpu or auto)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device: {name!r} asked for, but Apple's MPS is not available here (use cpu or auto)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device: expected auto, cpu, cuda, cuda:N or mps, got {name!r}")
    return device


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _probe_speedup(size: int = 512, repeats: int = 8) -> float:
    """How much faster a (size x size) @ (size x size) product runs in bfloat16 than float32 here."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    a16, b16 = a.bfloat16(), b.bfloat16()

    def best(x, y) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            x @ y
            times.append(time.perf_counter() - start)
        return min(times)

    best(a, b), best(a16, b16)  # warm up both kernels
    return best(a, b) / max(best(a16, b16), 1e-9)


@functools.lru_cache(maxsize=None)
def bf16_support(device_type: str) -> tuple[bool, str]:
    """(use bfloat16 autocast?, why) for a device type, decided once per process."""
    if device_type == "cuda":
        if torch.cuda.is_bf16_supported():
            return True, f"{torch.cuda.get_device_name()} computes bfloat16"
        return False, f"{torch.cuda.get_device_name()} has no bfloat16 units"
    if device_type != "cpu":
        return False, f"not used on {device_type}"
    flags = cpu_flags()
    native = sorted(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        native = native or ["Apple silicon"]
    if not native:
        return False, "this CPU has no bfloat16 instructions (it would emulate them slowly)"
    speedup = _probe_speedup()
    if speedup < 1.2:
        return False, f"the CPU lists {', '.join(native)}, but a probe ran bfloat16 only {speedup:.2f}x float32's speed"
    return True, f"the CPU computes bfloat16 natively ({', '.join(native)}; a probe ran it {speedup:.1f}x float32)"


def autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on `device` when enabled, else a context that changes nothing."""
    if enabled and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
