"""Shared test configuration: Hypothesis profiles and a fixed seed for every test.

Profiles:
  quick     (default) a handful of examples per property, so a learner's run stays fast.
  thorough  many more examples; CI selects it with HYPOTHESIS_PROFILE=thorough.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# `pytest --impl DIR` tests a learner's workspace (see impl_plugin.py).
pytest_plugins = ["impl_plugin"]

settings.register_profile(
    "quick",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# The spec's tensors are tiny: one thread is faster than two, and it keeps parallel test runs
# from thrashing each other's OpenMP spin-waits on a small machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every test starts from the same random state, so a failure repeats."""
    torch.manual_seed(0)
    yield


@pytest.fixture
def runtime_checks():
    """Turn off the test-time shape annotations (jaxtyping + beartype) for one test.

    The tests run with `--jaxtyping-packages=transformer`, so every annotated call is checked.
    A test of the error a *user* sees (who runs without that hook) asks for this fixture.
    """
    import jaxtyping

    jaxtyping.config.update("jaxtyping_disable", True)
    yield
    jaxtyping.config.update("jaxtyping_disable", False)
