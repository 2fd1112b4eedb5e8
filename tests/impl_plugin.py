"""`pytest --impl=DIR`: run the spec against a learner's workspace instead of this package.

`python -m transformer.exercises new DIR` makes the workspace: a copy of the package whose
exercise bodies raise NotImplementedError. With `--impl=DIR`, DIR goes first on `sys.path`
before any test imports `transformer`, so every test (and every subprocess a test starts) uses
DIR/transformer. The jaxtyping import hook is keyed by package name, so it checks the
workspace's shape annotations just as it checks the package's.

Write it with `=`: pytest reads the command line once before this conftest plugin is loaded, and
there `--impl DIR` (with a space) would make DIR look like a folder of tests to run.

A test that reaches an exercise of *another* chapter (a chapter-03 test that needs the attention
of chapter 04, say) cannot tell anything about this chapter yet: it is skipped, and the skip
names the exercise it waits for. An unwritten exercise of the test's own chapter fails it.
"""

import os
import sys
from pathlib import Path

import pytest

CHAPTER_MARKERS = (
    "tokens", "recurrent", "seq2seq", "rnn_attention", "embeddings",
    "attention", "encoder", "decoder", "training", "decoding", "experiments",
)
STUB_PREFIX = "exercise ["


def pytest_addoption(parser):
    parser.addoption(
        "--impl", metavar="DIR", default=None,
        help="test the package in DIR/transformer (a workspace from `python -m transformer.exercises new DIR`)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    impl = config.getoption("impl")
    if not impl:
        return
    root = (config.invocation_params.dir / impl).resolve()
    if not (root / "transformer" / "__init__.py").is_file():
        raise pytest.UsageError(f"--impl: expected a folder holding transformer/__init__.py, got {root}")
    loaded = sys.modules.get("transformer")
    if loaded is not None and Path(loaded.__file__).resolve().parent != root / "transformer":
        raise pytest.UsageError(f"--impl: transformer was already imported from {Path(loaded.__file__).parent}")
    sys.path.insert(0, str(root))
    _no_explain_phase()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    config.stash[_ROOT] = root


_ROOT = pytest.StashKey[Path]()


def _no_explain_phase() -> None:
    """Keep Hypothesis's settings but drop its explain phase: on a stub every example fails at
    once, and explaining each failure would take a minute per test to say nothing new."""
    from hypothesis import Phase, settings

    current = settings.default
    phases = tuple(phase for phase in current.phases if phase is not Phase.explain)
    settings.register_profile("impl", parent=current, phases=phases)
    settings.load_profile("impl")


def pytest_report_header(config):
    if _ROOT in config.stash:
        return f"implementation under test: {config.stash[_ROOT] / 'transformer'} (--impl)"
    return None


def stub_exercise(error: BaseException) -> tuple[str, str] | None:
    """(chapter, name) if `error` is the NotImplementedError of an exercise stub, else None."""
    if type(error) is not NotImplementedError or not error.args:
        return None
    message = str(error.args[0])
    if not message.startswith(STUB_PREFIX):
        return None
    chapter, _, rest = message[len(STUB_PREFIX) :].partition("] ")
    name, sep, _ = rest.partition(": ")
    return (chapter, name) if sep else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if _ROOT in item.config.stash:
        # no "`git apply .hypothesis/patches/...` to add failing examples" advice: the spec is not the learner's to patch
        item.__dict__.pop("_hypothesis_failing_examples", None)
    report = yield
    if call.excinfo is None or report.outcome != "failed":
        return report
    stub = stub_exercise(call.excinfo.value)
    own = {mark.name for mark in item.iter_markers()} & set(CHAPTER_MARKERS)
    if stub and own and stub[0] not in own:
        report.outcome = "skipped"
        report.longrepr = (
            str(item.path), item.location[1] or 0,
            f"Skipped: needs the exercise {stub[1]} of chapter {stub[0]} "
            f"(pytest --impl={item.config.getoption('impl') or 'DIR'} -m {stub[0]})",
        )
    return report
