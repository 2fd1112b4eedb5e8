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
from transformer.course import exercises, workspaces
from transformer.course.syllabus import MARKERS
from transformer.course.exercises import Exercise, package_exercises
from transformer.course.workspaces import new_workspace, restore, workspace_status

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
    """Every chapter with a spec but 11 (which compares) teaches at least one function the learner writes."""
    counts = Counter(e.chapter for e in package_exercises())
    missing = [chapter for chapter in CHAPTERS if not counts[chapter]]
    assert not missing, f"chapters without an exercise marker: {missing}"


def test_each_exercise_has_a_task_and_a_recipe_that_can_help():
    """The stub's task and the last hint (the recipe) each say enough to act on."""
    for exercise in package_exercises():
        for what, text in (("task", exercise.task), ("recipe", exercise.hint)):
            assert len(text.split()) >= 6, f"{exercise.name}: {what} too short to help: {text!r}"


def test_every_chapters_exercises_give_hints_in_two_or_three_steps():
    """Every chapter but 11 (which compares): the stub states the task; `hint` adds one or two levels,
    the last the full recipe, each new."""
    for exercise in package_exercises(chapters=CHAPTERS):
        levels = exercise.levels
        assert 2 <= len(levels) <= 3, f"{exercise.name}: {len(levels)} hint levels, expected 2 or 3: {levels}"
        assert len(set(levels)) == len(levels), f"{exercise.name}: two hint levels say the same: {levels}"
        assert exercise.hint == levels[-1], f"{exercise.name}: hint {exercise.hint!r} is not the last level"


def test_marker_hint_runs_over_the_comment_lines_below_it():
    """Without `hint:` lines the marker's text, continued over the lines below, is the one level."""
    source = "x = 1\n\n# exercise(attention): first part,\n#   second part.\ndef f(a):\n    \"\"\"Doc.\"\"\"\n    return a\n"
    (exercise,) = exercises.find_exercises(source, "m.py")
    found = (exercise.name, exercise.chapter, exercise.hint, exercise.levels)
    assert found == ("f", "attention", "first part, second part.", ("first part, second part.",)), (
        f"expected one level 'first part, second part.', got {found}")
    assert exercise.task == exercise.hint, f"a one-level marker's task {exercise.task!r} is not its hint"


def test_hint_lines_open_the_next_levels_and_their_continuations_join_them():
    """`#   hint: ...` starts a level; a line without `hint:` continues the level above it."""
    source = ("# a comment that is not part of the marker\n"
              "# exercise(attention): the task,\n#   on two lines.\n"
              "#   hint: a nudge.\n"
              "#   hint: the recipe,\n#     in full.\n"
              "def f(a):\n    return a\n")
    (exercise,) = exercises.find_exercises(source, "m.py")
    expected = ("the task, on two lines.", "a nudge.", "the recipe, in full.")
    assert exercise.levels == expected, f"levels {exercise.levels}, expected {expected}"
    assert (exercise.task, exercise.hint) == (expected[0], expected[-1]), (
        f"task {exercise.task!r} and hint {exercise.hint!r} should be the first and last levels")


def test_an_empty_hint_level_is_refused_in_one_line():
    source = "# exercise(attention): the task\n#   hint:\ndef f(a):\n    return a\n"
    with pytest.raises(ValueError, match=r"m.py:3: the exercise marker of f has an empty hint \(level 2 of 2\)"):
        exercises.find_exercises(source, "m.py")


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


def test_stub_messages_carry_the_task_the_chapter_and_the_command_but_not_the_recipe(workspace):
    """A stub says what to write and where to read about it; the later hints wait for `hint`."""
    for exercise in package_exercises():
        node = functions((workspace / "transformer" / exercise.path).read_text(encoding="utf-8"))[exercise.name]
        message = ast.literal_eval(node.body[-1].exc.args[0])
        assert message == exercise.message(str(workspace)), (
            f"{exercise.name}: the stub raises {message!r}, expected {exercise.message(str(workspace))!r}")
        for part in (exercise.task, f"chapter {exercise.number:02d}", f"pytest --impl={workspace} -m {exercise.chapter}",
                     f"transformer exercises hint {workspace} {exercise.name}"):
            assert part in message, f"{exercise.name}: {part!r} missing from the stub's message {message!r}"
        for level, text in enumerate(exercise.levels[1:], start=2):
            assert text not in message, f"{exercise.name}: the stub gives away hint {level}: {text!r}"
        found = stub_exercise(NotImplementedError(message))
        assert found == (exercise.chapter, exercise.name), (
            f"the plugin reads {found} from the stub of {exercise.name}, expected {(exercise.chapter, exercise.name)}")


@pytest.mark.skipif(not hasattr(builtins, "ExceptionGroup"), reason="ExceptionGroup is Python 3.11+")
def test_hypothesis_groups_of_stub_errors_are_recognised():
    """Hypothesis reports two distinct stubs as one group: the plugin still sees both exercises."""
    first, second = (NotImplementedError(Exercise("m.py", name, "rnn_attention", "hint", 1).message())
                     for name in ("dot_scores", "additive_scores"))
    group = builtins.ExceptionGroup("2 distinct failures", [first, second])
    found = stubs_behind(group)
    assert found == [("rnn_attention", "additive_scores"), ("rnn_attention", "dot_scores")], (
        f"the plugin sees {found} behind a group of two stubs")
    mixed = stubs_behind(builtins.ExceptionGroup("mixed", [first, AssertionError("weights sum to 1.7")]))
    assert mixed is None, f"a group holding a real failure was taken for stubs only: {mixed}"
    other = stubs_behind(NotImplementedError("an abstract method"))
    assert other is None, f"a NotImplementedError that is no stub was taken for one: {other}"


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
    assert len(restored) == len(package_exercises()), (
        f"restore put back {len(restored)} bodies, expected all {len(package_exercises())}")
    assert sources(copy / "transformer") == sources(REFERENCE), "restored workspace differs from the reference"


def test_chapter_selection(tmp_path):
    """--chapter stubs that chapter only; --from stubs that chapter and every later one."""
    chosen = {e.chapter for e in new_workspace(tmp_path / "one", chapters=["attention"])}
    assert chosen == {"attention"}, f"--chapter attention left blank the chapters {sorted(chosen)}"
    states = {e.chapter: state for e, state in workspace_status(tmp_path / "one")}
    assert (states["attention"], states["encoder"]) == ("todo", "reference"), (
        f"attention is {states['attention']!r} (expected todo), encoder {states['encoder']!r} (expected reference)")
    later = {e.chapter for e in new_workspace(tmp_path / "later", start="encoder")}
    expected = {c for c in CHAPTERS if CHAPTERS.index(c) >= CHAPTERS.index("encoder")}
    assert later == expected, f"--from encoder left blank {sorted(later)}, expected {sorted(expected)}"


def write_body(module: Path, name: str, body: str) -> None:
    """Replace the body of function `name` (after its docstring) in `module` by `body`, as a learner would."""
    source = module.read_text(encoding="utf-8")
    node = functions(source)[name]
    lines = source.splitlines(keepends=True)
    start = exercises._body_start(node, name)
    lines[start : node.end_lineno] = [body]
    module.write_text("".join(lines), encoding="utf-8")


def reference_body(path: str, name: str) -> str:
    """The package's own body of `name` (after its docstring), as text."""
    source = (REFERENCE / path).read_text(encoding="utf-8")
    node = functions(source)[name]
    return "".join(source.splitlines(keepends=True)[exercises._body_start(node, name) : node.end_lineno])


def test_status_tells_todo_written_same_as_the_reference_restored_and_reference(tmp_path):
    """Your own body is `written`, even when it equals the package's; `restore`'s is `restored`."""
    workspace = tmp_path / "ws"
    new_workspace(workspace, chapters=["attention"])
    package = workspace / "transformer"
    write_body(package / "masks.py", "causal_mask", "    return torch.ones(size, size, dtype=torch.bool).tril()\n")
    write_body(package / "attention.py", "merge_heads", reference_body("attention.py", "merge_heads"))
    restore(workspace, names=["split_heads", "target_mask"])
    write_body(package / "masks.py", "target_mask", "    return causal_mask(tgt.shape[1])[None, None]\n")
    states = {e.name: state for e, state in workspace_status(workspace)}
    found = {name: states[name] for name in ("causal_mask", "merge_heads", "split_heads", "target_mask",
                                              "MultiHeadAttention.attend", "Residual.forward")}
    assert found == {
        "causal_mask": "written",
        "merge_heads": "written (same as the reference)",
        "split_heads": "restored",
        "target_mask": "written",  # restored, then edited: the learner's again
        "MultiHeadAttention.attend": "todo",
        "Residual.forward": "reference",  # chapter 07: never left blank in this workspace
    }, f"states: {found}"


def test_status_command_counts_each_state(tmp_path, capsys):
    workspace = tmp_path / "ws"
    new_workspace(workspace, chapters=["attention"])
    write_body(workspace / "transformer" / "attention.py", "merge_heads", reference_body("attention.py", "merge_heads"))
    restore(workspace, names=["split_heads"])
    assert workspaces.main(["status", str(workspace)]) == 0, "status failed"
    out = capsys.readouterr().out
    others = len(package_exercises()) - 7
    summary = f"5 to do, 1 written by you (1 the same as the reference), 1 restored, {others} with the reference code"
    assert summary in out, f"status does not end with {summary!r}:\n{out[-400:]}"
    line = next((row for row in out.splitlines() if " merge_heads  (transformer/attention.py:" in row), "")
    assert "written (same as the reference)" in line, f"merge_heads is not labelled as written by you: {line!r}"


def test_hint_gives_the_next_level_each_time_then_says_there_is_no_more(tmp_path, capsys):
    """The stub gave level 1; `hint` gives 2, then 3 (the recipe), then says there is no further hint."""
    workspace = tmp_path / "ws"
    new_workspace(workspace, chapters=["attention"])
    attend = next(e for e in package_exercises() if e.name == "MultiHeadAttention.attend")
    assert len(attend.levels) == 3, f"MultiHeadAttention.attend has {len(attend.levels)} levels, this test expects 3"
    said = []
    for _ in range(3):
        assert workspaces.main(["hint", str(workspace), "MultiHeadAttention.attend"]) == 0, "hint failed"
        said.append(" ".join(capsys.readouterr().out.split()))
    for level, out in zip((2, 3), said):
        assert f"hint {level} of 3" in out, f"call {level - 1} should give hint {level} of 3: {out!r}"
        assert " ".join(attend.levels[level - 1].split()) in out, f"hint {level}'s text missing from {out!r}"
    assert "(the last: the full recipe)" in said[1], f"the recipe is not called the last hint: {said[1]!r}"
    assert said[2].startswith("MultiHeadAttention.attend: no further hint"), f"a fourth call said {said[2]!r}"
    record = workspaces.read_record(workspace)
    assert record["hints"] == {"attention.py:MultiHeadAttention.attend": 3}, f"the record holds {record['hints']}"


def test_hint_levels_are_kept_per_exercise_and_per_workspace(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    new_workspace(first, chapters=["attention"])
    new_workspace(second, chapters=["attention"])
    given = [workspaces.next_hint(first, "split_heads")[1], workspaces.next_hint(first, "causal_mask")[1],
             workspaces.next_hint(second, "split_heads")[1], workspaces.next_hint(first, "split_heads")[1]]
    assert given == [2, 2, 2, 3], f"levels given {given}: expected 2 and 2 (two exercises), 2 (another workspace), 3"


def test_a_one_level_marker_has_no_further_hint(tmp_path, monkeypatch, capsys):
    """A marker without `hint:` lines (as a new chapter may write) is accepted: its stub says it all."""
    workspace = tmp_path / "ws"
    new_workspace(workspace, chapters=["attention"])
    single = Exercise("masks.py", "causal_mask", "attention", "the whole recipe in one line", 1)
    monkeypatch.setattr(workspaces, "package_exercises", lambda root=None, chapters=None: [single])
    assert single.levels == ("the whole recipe in one line",), f"one-level exercise has levels {single.levels}"
    assert "next hint" not in single.message("ws"), f"a one-level stub points to more hints: {single.message('ws')}"
    assert workspaces.main(["hint", str(workspace), "causal_mask"]) == 0, "hint failed"
    out = capsys.readouterr().out
    assert out.startswith("causal_mask: no further hint; you have had its stub's, the only one"), out


def test_hint_for_an_unknown_name_suggests_the_close_ones(tmp_path, capsys):
    new_workspace(tmp_path / "ws", chapters=["attention"])
    assert workspaces.main(["hint", str(tmp_path / "ws"), "causal_mas"]) == 2, "an unknown name should fail"
    err = capsys.readouterr().err.strip()
    assert err == "error: exercise: no exercise named 'causal_mas'; did you mean causal_mask?", err


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert workspaces.main(["new", str(tmp_path / "ws"), "--chapter", "atention"]) == 2, "a typo was accepted"
    err = capsys.readouterr().err.strip()
    assert err == f"error: chapter: expected one of {', '.join(CHAPTERS)}, got 'atention'", err
    assert workspaces.main(["new", str(tmp_path / "ws"), "--chapter", "attention"]) == 0, "new failed"
    assert workspaces.main(["new", str(tmp_path / "ws")]) == 2, "new overwrote an existing workspace"
    err = capsys.readouterr().err
    assert "already exists" in err, err
    assert workspaces.main(["status", str(tmp_path)]) == 2, "status accepted a folder that is no workspace"
    err = capsys.readouterr().err
    assert "expected a folder holding transformer/__init__.py" in err, err


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
    command = [sys.executable, "-m", "pytest", f"--impl={workspace}", "-p", "no:cacheprovider", "-n", "0",
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


@pytest.mark.slow  # 12 s: the per-chapter round trip above is the slow check of every chapter; this is one
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


@pytest.mark.parametrize("spelling", [
    "space",
    # `--impl=DIR` also runs in every default run, in test_a_chapter_workspace_fails_with_the_hints_...
    pytest.param("equals", marks=pytest.mark.slow),
])
def test_impl_takes_its_folder_after_a_space_or_an_equals_sign(spelling, tmp_path):
    """`pytest --impl my-work` and `pytest --impl=my-work` both test the workspace: the plugin is
    installed with the package, so pytest knows the option before it reads the command line."""
    workspace = tmp_path / "my-work"
    new_workspace(workspace, chapters=["attention"])
    impl = ["--impl", str(workspace)] if spelling == "space" else [f"--impl={workspace}"]
    command = [sys.executable, "-m", "pytest", *impl, "-p", "no:cacheprovider", "-n", "0",
               "tests/test_masks.py::test_causal_mask_worked_example"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert "unrecognized arguments" not in out, f"pytest did not know --impl ({spelling}):\n{out[-1500:]}"
    assert f"implementation under test: {workspace.resolve() / 'transformer'}" in out, (
        f"with --impl ({spelling}) the run did not test the workspace:\n{out[-1500:]}")
    assert "NotImplementedError: exercise [attention] causal_mask" in out and "1 failed" in out, (
        f"the one selected test should fail on the workspace's causal_mask stub:\n{out[-1500:]}")


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
    found = (exercise.number, exercises.chapter_file("attention"))
    assert found == (6, "walkthrough/06_attention.md"), f"attention is chapter {found}"
