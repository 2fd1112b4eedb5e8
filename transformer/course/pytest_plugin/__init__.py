"""`pytest --impl=DIR`: run the spec against a learner's workspace instead of this package.

`transformer exercises new DIR` makes the workspace: a copy of the package whose exercise bodies
raise NotImplementedError. With `--impl=DIR` (or `--impl DIR`), DIR goes first on `sys.path`
before any test imports `transformer`, so every test (and every subprocess a test starts) uses
DIR/transformer. The jaxtyping import hook is keyed by package name, so it checks the
workspace's shape annotations just as it checks the package's.

This module is installed as a pytest plugin of its own, under the top-level name
`transformer_impl` (see `pyproject.toml`), so pytest loads it at start-up, before it reads the
command line: that is what lets `--impl DIR` take its value after a space. For the same reason
it never imports `transformer` at start-up; it must not be imported before the workspace is on
the path (nor before jaxtyping's import hook is installed).

A test that reaches only exercises of *other* chapters (a chapter-03 test that needs the attention
of chapter 04, say) cannot tell anything about this chapter yet: it is skipped, and the skip
names the exercises it waits for. An unwritten exercise of the test's own chapter fails it.
Every failure or skip caused by stubs records them as the test property `exercise_stubs`
("chapter:name ..."), which `--junitxml` reports.
"""

import os
import sys
from pathlib import Path

import pytest

STUB_PREFIX = "exercise ["
_ROOT = pytest.StashKey[Path]()  # the workspace folder, once --impl is given


def pytest_addoption(parser):
    parser.addoption(
        "--impl", metavar="DIR", default=None,
        help="test the package in DIR/transformer (a workspace from `transformer exercises new DIR`)",
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
    _learner_settings(root)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    config.stash[_ROOT] = root


def _learner_settings(root: Path) -> None:
    """Keep Hypothesis's settings, with two changes for a workspace run. No explain phase: on a
    stub every example fails at once, and explaining each failure would take a minute per test
    to say nothing new. And the workspace's own example database (DIR/.hypothesis), so examples
    that broke the learner's code are replayed on their next run, never on the package's."""
    from hypothesis import Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    current = settings.default
    phases = tuple(phase for phase in current.phases if phase is not Phase.explain)
    database = DirectoryBasedExampleDatabase(str(root / ".hypothesis"))
    settings.register_profile("impl", parent=current, phases=phases, database=database)
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


def stubs_behind(error: BaseException) -> list[tuple[str, str]] | None:
    """The exercises behind a failure, if every error in it (Hypothesis may group several
    distinct ones) is an exercise stub's NotImplementedError; else None."""
    errors = [error]
    leaves = []
    while errors:
        current = errors.pop()
        group = getattr(current, "exceptions", None)
        if isinstance(group, (list, tuple)):
            errors.extend(group)
        else:
            leaves.append(stub_exercise(current))
    return None if None in leaves else sorted(set(leaves))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if _ROOT in item.config.stash:
        # no "`git apply .hypothesis/patches/...` to add failing examples" advice: the spec is not the learner's to patch
        item.__dict__.pop("_hypothesis_failing_examples", None)
    report = yield
    if call.excinfo is None or report.outcome != "failed":
        return report
    stubs = stubs_behind(call.excinfo.value)
    if not stubs:
        return report
    item.user_properties.append(("exercise_stubs", " ".join(f"{chapter}:{name}" for chapter, name in stubs)))
    from transformer.course.syllabus import MARKERS  # the tests ran, so `transformer` is imported already

    own = {mark.name for mark in item.iter_markers()} & set(MARKERS)
    if own and not own & {chapter for chapter, _ in stubs}:
        impl = item.config.getoption("impl") or "DIR"
        waits = ", ".join(f"{name} of chapter {chapter}" for chapter, name in stubs)
        report.outcome = "skipped"
        report.longrepr = (
            str(item.path), item.location[1] or 0,
            f"Skipped: needs the exercise {waits} (pytest --impl={impl} -m {stubs[0][0]})",
        )
    return report
