"""Shared test configuration: Hypothesis profiles and a fixed seed for every test.

Profiles:
  quick     (default) a handful of examples per property, so a learner's run stays fast.
  thorough  many more examples; CI selects it with HYPOTHESIS_PROFILE=thorough.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # figures are written to files, never shown

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

# `pytest --impl=DIR` tests a learner's workspace: the plugin `transformer_impl`, installed with the
# package (transformer/course/pytest_plugin/).

# Hypothesis's "explain" phase re-runs a failing property many times to annotate it: slow, and
# the failure message already says which property broke.
PHASES = tuple(p for p in Phase if p != Phase.explain)
settings.register_profile(
    "quick",
    max_examples=12,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=60,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# The spec's tensors are tiny: one thread is faster than two, and it keeps parallel test runs
# from thrashing each other's OpenMP spin-waits on a small machine.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")  # and the commands the tests start in subprocesses


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow")
    parser.addoption("--network", action="store_true", help="also run the tests that need the internet")


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): the whole spec runs on every core (at most 4, by
    --maxprocesses); a run that picks a chapter (`-m attention`), a file or a test runs in one
    process, which starts seconds sooner."""
    picked = config.option.markexpr or config.option.keyword or config.args_source != pytest.Config.ArgsSource.TESTPATHS
    if picked:
        return 0
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pytest_collection_modifyitems(config, items):
    """Leave out `slow` and `network` tests unless --slow / --network asks for them; run the
    chapters first."""
    wanted = {marker for marker in ("slow", "network") if config.getoption(f"--{marker}")}
    kept, left_out = [], []
    for item in items:
        markers = {m for m in ("slow", "network") if item.get_closest_marker(m)}
        (left_out if markers - wanted else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    # The chapters' runs are the longest tests (2-18 s each): started first, they share the workers
    # with the many short tests instead of leaving one worker finishing the last chapter alone.
    items.sort(key=lambda item: item.get_closest_marker("walkthrough") is None)


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
