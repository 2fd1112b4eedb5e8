"""Where training runs, and in which precision: the device, and bfloat16 autocast where it pays.

Chapter: walkthrough/09_training.md. Under `torch.autocast(..., dtype=torch.bfloat16)` the matrix
products run in bfloat16 (8 bits of mantissa, float32's range) while the weights, their gradients
and the optimizer stay float32; the loss, the softmax of the loss and log-probabilities are
computed in float32 (`label_smoothed_cross_entropy` and `masked_softmax` cast up). On a GPU with
bfloat16 units, and on CPUs that compute bfloat16 natively (x86 with AVX512-BF16 or AMX, Arm with
the BF16 extension), a training step runs markedly faster. A CPU without those instructions
emulates bfloat16 slowly, so there autocast stays off.

Two checks decide, both the same every time on a machine, so a run and its resumption (or its
rerun with the same seed) train in the same precision. `bf16_support(device_type)`, once per
process: the CPU's flags must list bfloat16 instructions and a probe of bfloat16 matrix products
must run them faster than float32. `worth_bf16(model)`: on a CPU, the model must have at least
`MIN_BF16_PARAMETERS`; smaller models (a d_model of 64) gain nothing, since the casts cost as much
as the products save, so they stay in float32. `train` prints the decision and its reason once.
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
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        return set()
    for line in lines:
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def _probe_speedup(size: int = 512, repeats: int = 8) -> float:
    """How much faster a (size x size) @ (size x size) product runs in bfloat16 than float32 here."""
    generator = torch.Generator().manual_seed(0)  # the probe leaves torch's own random state alone
    a, b = torch.randn(size, size, generator=generator), torch.randn(size, size, generator=generator)
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


# Below this many parameters a training step is too small for bfloat16 to pay on a CPU: the casts
# and the bookkeeping of autocast cost as much as the products save. Measured on the course's 2-core
# CPU (AMD EPYC, avx512_bf16; BENCHMARKS.md): number words, a Transformer of d_model 64 (171k
# parameters) ran 0.8x float32's speed under autocast, one of d_model 256 1.4x; an LSTM with
# attention of hidden size 256 0.8x, of hidden size 512 (about 3M parameters) 1.5x.
MIN_BF16_PARAMETERS = 1_000_000


def worth_bf16(model: torch.nn.Module) -> tuple[bool, str]:
    """Whether a model is big enough for bfloat16 autocast to speed its training up on a CPU."""
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if n < MIN_BF16_PARAMETERS:
        return False, f"this model ({n:,} parameters) is too small for it to pay (below {MIN_BF16_PARAMETERS:,})"
    return True, f"this model has {n:,} parameters"


@functools.lru_cache(maxsize=None)
def bf16_support(device_type: str) -> tuple[bool, str]:
    """(can bfloat16 autocast pay here?, why) for a device type, decided once per process."""
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
    return True, f"the CPU computes bfloat16 natively ({', '.join(native)})"


def autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on `device` when enabled, else a context that changes nothing."""
    if enabled and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
