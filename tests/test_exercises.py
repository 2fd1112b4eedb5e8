"""The learner's loop works: a workspace leaves exactly the marked bodies to write, the spec run
on it fails with their hints, and putting the reference bodies back makes it pass again."""

import ast
import builtins
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from transformer_impl import stub_exercise, stubs_behind

from transformer import course
from transformer.course import exercises
from transformer.course.syllabus import MARKERS
from transformer.course.exercises import Exercise, new_workspace, package_exercises, restore, workspace_status

pytestmark = pytest.mark.walkthrough

# The chapters that teach functions to write: every chapter with a spec but 11, which compares.
CHAPTERS = tuple(marker for marker in MARKERS if marker != "experiments")

REPO = Path(__file__).resolve().parents[1]
REFERENCE = exercises.package_dir()


@pytest.fixture(autouse=True)
def _reference_package_only(pytestconfig):
    if pytestconfig.getoption("impl"):
        pytest.skip("the exercise machinery is checked on the reference package, not under --impl")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace with every exercise of the course left to write (built once, never changed)."""
    path = tmp_path_factory.mktemp("exercises") / "ws"
    new_workspace(path)
    return path


def sources(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in exercises._modules(root)}


def functions(source: str) -> dict[str, ast.FunctionDef]:
    return dict(exercises._functions(ast.parse(source)))


def dump(node) -> str:
    return str([ast.dump(n) for n in node]) if isinstance(node, list) else ast.dump(node) if node else "None"


def pyproject_chapters(pytestconfig) -> list[str]:
    """The chapter markers of pyproject.toml ("name: chapter NN, ..."), in chapter order."""
    numbered = []
    for line in pytestconfig.getini("markers"):
        name, _, description = line.partition(":")
        if description.strip().startswith("chapter "):
            numbered.append((int(description.split()[1].rstrip(",")), name.strip()))
    return [name for _, name in sorted(numbered)]


# ---------------------------------------------------------------------------------------------
# The marks in the source


def test_chapters_are_the_pytest_chapter_markers_in_course_order(pytestconfig):
    """The chapter table's markers are pyproject's, in course order, so a hint's chapter number and
    command are right."""
    markers = pyproject_chapters(pytestconfig)
    assert list(MARKERS) == markers, f"transformer.course.syllabus.MARKERS {MARKERS} != pyproject {markers}"


def test_every_chapter_with_a_module_has_exercises():
    """Chapters 01-10 each teach at least one function the learner writes."""
    counts = Counter(e.chapter for e in package_exercises())
    missing = [chapter for chapter in CHAPTERS if not counts[chapter]]
    assert not missing, f"chapters without an exercise marker: {missing}"


def test_each_exercise_has_a_hint_that_can_help():
    for exercise in package_exercises():
        assert len(exercise.hint.split()) >= 6, f"{exercise.name}: hint too short to help: {exercise.hint!r}"


def test_marker_hint_runs_over_the_comment_lines_below_it():
    source = "x = 1\n\n# exercise(attention): first part,\n#   second part.\ndef f(a):\n    '''Doc.'''\n    return a\n"
    (exercise,) = exercises.find_exercises(source, "m.py")
    assert (exercise.name, exercise.chapter, exercise.hint) == ("f", "attention", "first part, second part.")


def test_a_marker_with_an_unknown_chapter_is_refused_in_one_line():
    source = "# exercise(atention): typo\ndef f(a):\n    return a\n"
    with pytest.raises(ValueError, match=r"m.py:2: expected '# exercise\(<one of tokens, .*>\): hint'"):
        exercises.find_exercises(source, "m.py")


# ---------------------------------------------------------------------------------------------
# A workspace


def test_workspace_replaces_exactly_the_marked_bodies(workspace):
    """Marked functions keep decorators, signature and docstring and only raise; nothing else changes."""
    reference, copy = sources(REFERENCE), sources(workspace / "transformer")
    assert set(copy) == set(reference), f"files differ: {sorted(set(copy) ^ set(reference))}"
    marked = {(e.path, e.name): e for e in package_exercises()}
    for path, source in reference.items():
        originals, stubs = functions(source), functions(copy[path])
        for name, original in originals.items():
            stub = stubs[name]
            if (path, name) not in marked:
                assert ast.dump(stub) == ast.dump(original), f"{path}:{name} changed but is not an exercise"
                continue
            assert exercises.is_stub(stub), f"{path}:{name}: the body is not the NotImplementedError stub"
            for field in ("args", "returns", "decorator_list"):
                assert dump(getattr(stub, field)) == dump(getattr(original, field)), f"{path}:{name}: {field} changed"
            assert ast.get_docstring(stub) == ast.get_docstring(original), f"{path}:{name}: the docstring changed"
        module_level = [ast.dump(n) for n in ast.parse(source).body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert module_level == [ast.dump(n) for n in ast.parse(copy[path]).body
                                if not isinstance(n, (ast.FunctionDef, ast.ClassDef))], f"{path}: module code changed"


def test_stub_messages_carry_the_hint_the_chapter_and_the_command(workspace):
    for exercise in package_exercises():
        node = functions((workspace / "transformer" / exercise.path).read_text(encoding="utf-8"))[exercise.name]
        message = ast.literal_eval(node.body[-1].exc.args[0])
        assert message == exercise.message(str(workspace))
        for part in (exercise.hint, f"chapter {exercise.number:02d}", f"pytest --impl={workspace} -m {exercise.chapter}"):
            assert part in message, f"{exercise.name}: {part!r} missing from the stub's message {message!r}"
        assert stub_exercise(NotImplementedError(message)) == (exercise.chapter, exercise.name)


@pytest.mark.skipif(not hasattr(builtins, "ExceptionGroup"), reason="ExceptionGroup is Python 3.11+")
def test_hypothesis_groups_of_stub_errors_are_recognised():
    """Hypothesis reports two distinct stubs as one group: the plugin still sees both exercises."""
    first, second = (NotImplementedError(Exercise("m.py", name, "rnn_attention", "hint", 1).message())
                     for name in ("dot_scores", "additive_scores"))
    group = builtins.ExceptionGroup("2 distinct failures", [first, second])
    assert stubs_behind(group) == [("rnn_attention", "additive_scores"), ("rnn_attention", "dot_scores")]
    assert stubs_behind(builtins.ExceptionGroup("mixed", [first, AssertionError("weights sum to 1.7")])) is None
    assert stubs_behind(NotImplementedError("an abstract method")) is None


def test_workspace_holds_no_compiled_reference(tmp_path, monkeypatch):
    """A .pyc of the reference would hold the solution: none is copied."""
    package = tmp_path / "reference" / "transformer"
    shutil.copytree(REFERENCE, package)
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "masks.cpython-311.pyc").write_bytes(b"compiled reference")
    (package / "masks.pyc").write_bytes(b"compiled reference")
    monkeypatch.setattr(exercises, "package_dir", lambda: package)
    new_workspace(tmp_path / "ws")
    compiled = [p for p in (tmp_path / "ws").rglob("*") if p.suffix in (".pyc", ".pyo") or p.name == "__pycache__"]
    assert not compiled, f"compiled files copied into the workspace: {compiled[:3]}"


def test_restore_gives_back_the_reference_source_byte_for_byte(workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    restored = restore(copy)
    assert len(restored) == len(package_exercises())
    assert sources(copy / "transformer") == sources(REFERENCE), "restored workspace differs from the reference"


def test_chapter_selection(tmp_path):
    """--chapter stubs that chapter only; --from stubs that chapter and every later one."""
    chosen = {e.chapter for e in new_workspace(tmp_path / "one", chapters=["attention"])}
    assert chosen == {"attention"}
    states = {e.chapter: state for e, state in workspace_status(tmp_path / "one")}
    assert states["attention"] == "todo" and states["encoder"] == "reference"
    later = {e.chapter for e in new_workspace(tmp_path / "later", start="encoder")}
    assert later == {c for c in CHAPTERS if CHAPTERS.index(c) >= CHAPTERS.index("encoder")}


def test_status_tells_todo_written_and_reference(tmp_path):
    new_workspace(tmp_path / "ws", chapters=["attention"])
    masks = tmp_path / "ws" / "transformer" / "masks.py"
    node = functions(masks.read_text(encoding="utf-8"))["causal_mask"]
    lines = masks.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[node.body[-1].lineno - 1 : node.end_lineno] = ["    return torch.ones(size, size, dtype=torch.bool).tril()\n"]
    masks.write_text("".join(lines), encoding="utf-8")
    restore(tmp_path / "ws", names=["split_heads"])
    states = {e.name: state for e, state in workspace_status(tmp_path / "ws")}
    assert (states["causal_mask"], states["split_heads"], states["merge_heads"], states["Residual.forward"]) == (
        "written", "reference", "todo", "reference")


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert exercises.main(["new", str(tmp_path / "ws"), "--chapter", "atention"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: chapter: expected one of {', '.join(CHAPTERS)}, got 'atention'")
    assert exercises.main(["new", str(tmp_path / "ws"), "--chapter", "attention"]) == 0
    assert exercises.main(["new", str(tmp_path / "ws")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert exercises.main(["status", str(tmp_path)]) == 2
    assert "expected a folder holding transformer/__init__.py" in capsys.readouterr().err


def test_a_workspace_is_not_taken_for_the_reference(workspace, monkeypatch, tmp_path):
    """Run from inside a workspace, `new` and `restore` refuse instead of copying stubs around."""
    monkeypatch.setattr(exercises, "package_dir", lambda: workspace / "transformer")
    with pytest.raises(ValueError, match="is a workspace, not the reference package"):
        new_workspace(tmp_path / "again")


def test_start_here_shows_the_commands_and_the_message_a_learner_meets():
    """Chapter 00 quotes the commands these tests run and the exact error of an unwritten function."""
    text = (course.walkthrough_dir() / "00_start_here.md").read_text(encoding="utf-8")
    for command in ("transformer exercises new", "pytest --impl=", "transformer exercises status"):
        assert command in text, f"00_start_here.md does not show `{command}`"
    causal = next(e for e in package_exercises(chapters=["attention"]) if e.name == "causal_mask")
    assert f"NotImplementedError: {causal.message('my-work')}" in text, "00_start_here.md quotes an outdated hint"


# ---------------------------------------------------------------------------------------------
# The spec, run on a workspace


def run_spec(workspace: Path, junit: Path, *args: str) -> dict[str, list[tuple[str, str, set]]]:
    """Run pytest --impl=workspace from the repository root; return every test's outcome:
    {outcome: [(test, message, {(chapter, name) of the exercise stubs behind it})]}."""
    command = [sys.executable, "-m", "pytest", f"--impl={workspace}", "-p", "no:cacheprovider",
               "-W", "ignore::DeprecationWarning", f"--junitxml={junit}", *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert junit.exists(), f"pytest did not run: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    assert f"implementation under test: {workspace.resolve() / 'transformer'}" in result.stdout, result.stdout[:1000]
    outcomes: dict[str, list[tuple[str, str, set]]] = {"passed": [], "failed": [], "skipped": []}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        stubs = {tuple(stub.split(":")) for p in case.iter("property") if p.get("name") == "exercise_stubs"
                 for stub in p.get("value").split()}
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if problem is None:
            outcomes["passed"].append((name, "", stubs))
        else:
            outcome = "skipped" if problem.tag == "skipped" else "failed"
            outcomes[outcome].append((name, problem.get("message") or "", stubs))
    return outcomes


def assert_fails_only_on_its_own_stubs(outcomes, chapter: str) -> None:
    assert outcomes["failed"], f"{chapter}: no test failed on a workspace whose {chapter} exercises are stubs"
    for name, message, stubs in outcomes["failed"]:
        assert stubs, f"{name} failed with something other than an exercise's NotImplementedError: {message[:300]}"
        assert {c for c, _ in stubs} == {chapter}, f"{name} failed on other chapters' stubs: {sorted(stubs)}"


def test_a_chapter_workspace_fails_with_the_hints_and_passes_once_restored(tmp_path):
    """End to end for chapter 06's masks: stubs fail with their hints; restored, the tests pass."""
    workspace = tmp_path / "ws"
    new_workspace(workspace, chapters=["attention"])
    masks = ["tests/test_masks.py", "-m", "attention"]
    outcomes = run_spec(workspace, tmp_path / "before.xml", *masks)
    assert_fails_only_on_its_own_stubs(outcomes, "attention")
    hinted = {name for _, _, stubs in outcomes["failed"] for _, name in stubs}
    assert hinted == {"causal_mask", "target_mask"}, f"stubs reached by tests/test_masks.py: {hinted}"
    for test, message, _ in outcomes["failed"]:
        assert message.startswith("NotImplementedError: exercise [attention] "), f"{test}: {message[:200]}"
    assert (workspace / ".hypothesis").is_dir(), "failing examples went to the package's database, not the workspace's"
    restore(workspace, chapters=["attention"])
    outcomes = run_spec(workspace, tmp_path / "after.xml", *masks)
    assert not outcomes["failed"] and not outcomes["skipped"], f"after restore: {outcomes}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_fails_on_its_own_exercises_then_passes_once_restored(chapter, tmp_path):
    """What a learner meets at each chapter: the earlier chapters done (reference code), this one
    and every later one still stubs. The chapter's spec fails, every failure carrying one of this
    chapter's hints (tests that need a later chapter are skipped, naming it); restoring this
    chapter's bodies makes every test pass that does not wait for a later chapter."""
    workspace = tmp_path / "ws"
    new_workspace(workspace, start=chapter)
    selection = ["-m", chapter]  # the command a learner types
    outcomes = run_spec(workspace, tmp_path / "before.xml", *selection)
    assert_fails_only_on_its_own_stubs(outcomes, chapter)
    restore(workspace, chapters=[chapter])
    outcomes = run_spec(workspace, tmp_path / "after.xml", *selection)
    assert not outcomes["failed"], f"{chapter}, restored: {outcomes['failed'][:3]}"
    for name, message, stubs in outcomes["skipped"]:
        assert all(CHAPTERS.index(c) > CHAPTERS.index(chapter) for c, _ in stubs), (
            f"{name} is skipped for an exercise that is not in a later chapter: {message}")


def test_exercise_numbers_follow_the_chapter_files():
    """Exercise(...).number is the chapter number in the walkthrough's file names."""
    exercise = Exercise("masks.py", "causal_mask", "attention", "hint", 1)
    assert exercise.number == 6 and exercises.chapter_file("attention") == "walkthrough/06_attention.md"
